"""Tests of the native LIF layer (`brainsim/train/native_layer.py`, `train_kernels.cc`): the same
spikes and gradients as the JAX paths of `RecurrentSpikingLayer`, in float64 and float32."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.ops import _native
from brainsim.train import SpikingLayer, layers
from brainsim.train.native_layer import takes_native_path

pytestmark = pytest.mark.skipif(
    not _native.available(_native.TRAIN_KERNELS), reason="native training kernels not built"
)

T, BATCH, N_IN, N = 60, 5, 30, 24


def _layer(dtype, *, recurrent=True, neuron=None, checkpoint_every=None):
    return SpikingLayer(
        N_IN,
        N,
        key=jr.key(0),
        recurrent=recurrent,
        recurrent_scale=3000.0,
        neuron=neuron,
        checkpoint_every=checkpoint_every,
        dtype=dtype,
    )


def _input(dtype):
    return (jr.uniform(jr.key(1), (T, BATCH, N_IN)) < 0.2).astype(dtype)


def _spikes_and_grads(layer, x, readout):
    def loss(layer):
        return jnp.sum(layer(x) * readout)

    spikes = layer(x)
    grads = eqx.filter_grad(loss)(layer)
    return spikes, grads


def _jax_voltage_path(monkeypatch):
    monkeypatch.setattr(layers, "takes_native_path", lambda layer, dtype: False)


@pytest.mark.parametrize("recurrent", [True, False])
@pytest.mark.parametrize(
    "neuron", [bs.LIF(), bs.LIF(t_ref=0.0, surrogate=bs.Sigmoid(slope=2.0)), bs.LIF(t_ref=3.0)]
)
def test_native_layer_equals_the_jax_paths_in_float64(monkeypatch, recurrent, neuron):
    with jax.enable_x64(True):
        layer = _layer(jnp.float64, recurrent=recurrent, neuron=neuron)
        assert takes_native_path(layer, jnp.float64)
        x = _input(jnp.float64)
        readout = jr.normal(jr.key(2), (T, BATCH, N), jnp.float64)
        native = _spikes_and_grads(layer, x, readout)
        # checkpointed BPTT takes the generic scan (autodiff through every step's `cell`)
        generic_layer = _layer(jnp.float64, recurrent=recurrent, neuron=neuron, checkpoint_every=T)
        generic = _spikes_and_grads(generic_layer, x, readout)
        _jax_voltage_path(monkeypatch)
        voltage = _spikes_and_grads(layer, x, readout)
    native, generic, voltage = jax.tree.map(np.asarray, (native, generic, voltage))
    assert 0.02 < native[0].mean() < 0.5  # neither silent nor saturated
    for other in (generic, voltage):
        np.testing.assert_array_equal(native[0], other[0])
        for a, b in zip(jax.tree.leaves(native[1]), jax.tree.leaves(other[1]), strict=True):
            assert np.max(np.abs(a)) > 0
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_native_layer_matches_the_jax_path_in_float32(monkeypatch):
    layer = _layer(jnp.float32)
    x = _input(jnp.float32)
    readout = jr.normal(jr.key(2), (T, BATCH, N), jnp.float32)
    native = _spikes_and_grads(layer, x, readout)
    _jax_voltage_path(monkeypatch)
    voltage = _spikes_and_grads(layer, x, readout)
    # float32 rounding may flip a spike whose membrane lands on the threshold; here none does
    np.testing.assert_array_equal(np.asarray(native[0]), np.asarray(voltage[0]))
    for a, b in zip(jax.tree.leaves(native[1]), jax.tree.leaves(voltage[1]), strict=True):
        scale = float(jnp.max(jnp.abs(b)))
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-4 * scale)


def test_other_layers_keep_the_jax_paths():
    coba = eqx.tree_at(lambda layer: layer.output, _layer(jnp.float32), bs.COBA(e_rev=0.0))
    heterogeneous = _layer(jnp.float32, neuron=bs.LIF(v_threshold=jnp.full(N, -50.0)))
    assert not takes_native_path(coba, jnp.float32)
    assert not takes_native_path(heterogeneous, jnp.float32)
    assert takes_native_path(_layer(jnp.float32), jnp.float32)
