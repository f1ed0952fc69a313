"""Tests of `brainsim/train/bptt.py`: checkpointed BPTT equals plain BPTT, gradients equal
finite differences for both entry points, and memory grows sub-linearly in T."""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jaxtyping import PRNGKeyArray

import brainsim as bs
from brainsim.train import RecurrentSpikingLayer, SpikingLayer, backward_temp_bytes, checkpointed_scan
from brainsim.train.layers import rest_state


class SmoothLIF(bs.AbstractSpikingNeuron[bs.LIFState], bs.AbstractLinearInState[bs.LIFState]):
    """A LIF whose 'spike' is the smooth sigmoid((v - V_th) / 5 mV) and which never resets, so the loss
    is a smooth function of the weights and its exact gradient is what BPTT must return."""

    lif: bs.LIF = bs.LIF(t_ref=0.0)
    surrogate: bs.AbstractSurrogate = bs.Sigmoid(slope=4.0)  # unused: the spike is smooth

    def init_state(self, n: int, *, key: PRNGKeyArray) -> bs.LIFState:
        return bs.LIFState(v=jnp.full(n, self.lif.e_leak), refractory=jnp.zeros(n))

    def linear_coefficients(self, t, y, args):
        return self.lif.linear_coefficients(t, y, args)

    def spike(self, y):
        return jax.nn.sigmoid(0.2 * (y.v - self.lif.v_threshold))

    def reset(self, y, spiked):
        return y


@rest_state.register
def _(neuron: SmoothLIF, n, dtype):
    return bs.LIFState(v=jnp.full(n, neuron.lif.e_leak, dtype), refractory=jnp.zeros(n, dtype))


N_IN, N_H, T = 6, 5, 30


def _inputs(dtype):
    x = (jr.uniform(jr.key(3), (T, N_IN)) < 0.3).astype(dtype)
    w_in = 600.0 * jr.normal(jr.key(1), (N_IN, N_H), dtype) / math.sqrt(N_IN)
    w_rec = 400.0 * jr.normal(jr.key(2), (N_H, N_H), dtype) / math.sqrt(N_H)
    readout = jr.normal(jr.key(4), (T, N_H), dtype)
    return x, w_in, w_rec, readout


def _layer_loss(w_in, w_rec, x, readout, synapse):
    layer = RecurrentSpikingLayer(w_in, w_rec, SmoothLIF(), synapse)
    return jnp.sum(layer(x[:, None, :])[:, 0, :] * readout)


def _network_loss(w_in, w_rec, x, readout, synapse):
    net = bs.Network(
        [bs.Population("in", N_IN, bs.SpikeSource()), bs.Population("h", N_H, SmoothLIF())],
        [
            bs.Projection("in", "h", bs.Dense(w_in), synapse, bs.CUBA()),
            bs.Projection("h", "h", bs.Dense(w_rec), synapse, bs.CUBA()),
        ],
        key=jr.key(0),
    )
    out = bs.run(net, float(T), 1.0, key=jr.key(0), inputs={"in": x}).outputs["h"]
    return jnp.sum(out * readout)


@pytest.mark.parametrize("loss", [_layer_loss, _network_loss], ids=["layers", "network"])
def test_bptt_gradient_equals_finite_differences(loss):
    """Smooth spikes, float64: the directional derivative from `jax.grad` equals a central
    difference along random directions of both weight matrices."""
    with jax.enable_x64(True):
        x, w_in, w_rec, readout = _inputs(jnp.float64)
        synapse = bs.ExponentialSynapse(tau=5.0)
        f = lambda a, b: loss(a, b, x, readout, synapse)  # noqa: E731
        g_in, g_rec = jax.jit(jax.grad(f, argnums=(0, 1)))(w_in, w_rec)
        d_in = jr.normal(jr.key(7), w_in.shape, jnp.float64) * 10.0
        d_rec = jr.normal(jr.key(8), w_rec.shape, jnp.float64) * 10.0
        eps = 1e-3
        numeric = (f(w_in + eps * d_in, w_rec + eps * d_rec) - f(w_in - eps * d_in, w_rec - eps * d_rec)) / (
            2 * eps
        )
        analytic = jnp.sum(g_in * d_in) + jnp.sum(g_rec * d_rec)
        assert abs(float(analytic)) > 1e-3
        np.testing.assert_allclose(float(analytic), float(numeric), rtol=1e-6)


def test_checkpointed_bptt_gives_the_plain_gradients():
    every = 7  # does not divide T = 30: four chunks and a remainder chunk
    """Same float operations, recomputed: equal to rounding (XLA fuses the recomputed chunk
    differently, so float32 differs in the last bits: 1e-12 relative checked in float64)."""
    with jax.enable_x64(True):
        x = (jr.uniform(jr.key(0), (T, 3, N_IN)) < 0.3).astype(jnp.float64)
        layer = SpikingLayer(
            N_IN, N_H, key=jr.key(1), recurrent=True, synapse=bs.ExponentialSynapse(), dtype=jnp.float64
        )
        weight = jnp.arange(T, dtype=jnp.float64)[:, None, None]

        def loss(w_in, w_rec, every):
            model = RecurrentSpikingLayer(w_in, w_rec, layer.neuron, layer.synapse, checkpoint_every=every)
            return jnp.sum(model(x) * weight)

        grad = jax.grad(loss, argnums=(0, 1))
        g_plain = grad(layer.weights, layer.recurrent_weights, None)
        g_chunk = grad(layer.weights, layer.recurrent_weights, every)
        assert float(jnp.max(jnp.abs(g_plain[0]))) > 0 and float(jnp.max(jnp.abs(g_plain[1]))) > 0
        for a, b in zip(g_plain, g_chunk, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-15)


def test_checkpointed_scan_matches_scan_outputs():
    xs = jnp.arange(23.0)
    f = lambda c, x: (c * 0.9 + x, c)  # noqa: E731
    np.testing.assert_array_equal(
        np.asarray(checkpointed_scan(f, 0.0, xs, checkpoint_every=5)[1]),
        np.asarray(jax.lax.scan(f, 0.0, xs)[1]),
    )


def _grad_temp_bytes(n_steps: int, every: int | None) -> int:
    layer = SpikingLayer(16, 32, key=jr.key(0), recurrent=True, checkpoint_every=every)
    x = jnp.zeros((n_steps, 4, 16), jnp.float32)
    grad = jax.grad(
        lambda w: jnp.sum(RecurrentSpikingLayer(w, layer.recurrent_weights, checkpoint_every=every)(x))
    )
    return backward_temp_bytes(grad, layer.weights)


def test_checkpointed_memory_grows_sublinearly():
    """Compiled temp memory of `jax.grad` from T = 256 to 4096 (16x): plain BPTT grows ~16x
    (measured 0.83 -> 13.1 MB); with chunks of sqrt(T) steps, whose input projection is
    computed per chunk, ~sqrt(16) = 4x (0.10 -> 0.38 MB)."""
    plain = [_grad_temp_bytes(t, None) for t in (256, 4096)]
    chunked = [_grad_temp_bytes(t, int(math.sqrt(t))) for t in (256, 4096)]
    assert plain[1] / plain[0] > 12
    assert chunked[1] / chunked[0] < 6
    assert chunked[1] < plain[1] / 10
