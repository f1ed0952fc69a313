"""Tests of `brainsim/train/layers.py`: the layer API against a `Network` of the same
architecture, layouts, and bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.train import LeakyReadout, RecurrentSpikingLayer, SpikingLayer, stack

N_IN, N_H, T, DT = 12, 8, 40, 1.0


def _weights(dtype):
    w_in = 3000.0 * jr.normal(jr.key(1), (N_IN, N_H), dtype) / np.sqrt(N_IN)  # pA
    w_rec = 1500.0 * jr.normal(jr.key(2), (N_H, N_H), dtype) / np.sqrt(N_H)
    x = (jr.uniform(jr.key(3), (T, N_IN)) < 0.2).astype(dtype)
    return w_in, w_rec, x


def _network_spikes(w_in, w_rec, x, neuron, synapse):
    """The `Network` of the layer: SpikeSource -> Dense -> recurrent LIF (delay 1 step)."""
    rest = bs.LIFState(v=jnp.full(N_H, neuron.e_leak, x.dtype), refractory=jnp.zeros(N_H, x.dtype))
    net = bs.Network(
        [bs.Population("in", N_IN, bs.SpikeSource()), bs.Population("h", N_H, neuron, initial_state=rest)],
        [
            bs.Projection("in", "h", bs.Dense(w_in), synapse, bs.CUBA()),
            bs.Projection("h", "h", bs.Dense(w_rec), synapse, bs.CUBA()),
        ],
        key=jr.key(0),
    )
    return bs.run(net, T * DT, DT, key=jr.key(0), inputs={"in": x}).outputs["h"]


def _layer_spikes(w_in, w_rec, x, neuron, synapse):
    layer = RecurrentSpikingLayer(w_in, w_rec, neuron, synapse, bs.CUBA(), DT)
    # the Network's input projection delivers row t in step t + 1: shift the layer's input
    shifted = jnp.concatenate([jnp.zeros_like(x[:1]), x[:-1]])
    return layer(shifted[:, None, :])[:, 0, :]


@pytest.mark.parametrize("synapse", [bs.InstantaneousSynapse(), bs.ExponentialSynapse(tau=5.0)])
def test_layer_and_network_give_the_same_spikes_and_gradients(synapse):
    neuron = bs.LIF()
    with jax.enable_x64(True):
        w_in, w_rec, x = _weights(jnp.float64)
        net = _network_spikes(w_in, w_rec, x, neuron, synapse)
        lay = _layer_spikes(w_in, w_rec, x, neuron, synapse)
        assert 0.05 < float(net.mean()) < 0.5  # the comparison is not between two silent layers
        np.testing.assert_array_equal(np.asarray(net), np.asarray(lay))

        readout = jr.normal(jr.key(4), (T, N_H), jnp.float64)

        def loss(spikes_fn, w_in, w_rec):
            return jnp.sum(spikes_fn(w_in, w_rec, x, neuron, synapse) * readout)

        g_net = jax.grad(lambda a, b: loss(_network_spikes, a, b), argnums=(0, 1))(w_in, w_rec)
        g_lay = jax.grad(lambda a, b: loss(_layer_spikes, a, b), argnums=(0, 1))(w_in, w_rec)
        for a, b in zip(g_net, g_lay, strict=True):
            assert float(jnp.max(jnp.abs(a))) > 0  # surrogate gradients reach both weight matrices
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12)


def test_batch_first_is_the_transpose_of_time_first():
    layer = SpikingLayer(N_IN, N_H, key=jr.key(0), recurrent=True)
    x = (jr.uniform(jr.key(1), (T, 3, N_IN)) < 0.3).astype(jnp.float32)
    time_first = layer(x)
    batch_first = layer(jnp.swapaxes(x, 0, 1), batch_first=True)
    assert batch_first.shape == (3, T, N_H)
    np.testing.assert_array_equal(np.asarray(jnp.swapaxes(batch_first, 0, 1)), np.asarray(time_first))


def test_batch_elements_are_independent():
    """A batch is `vmap` over single sequences: each row equals the sequence run alone."""
    model = stack(SpikingLayer(N_IN, N_H, key=jr.key(0), recurrent=True), LeakyReadout(N_H, 3, key=jr.key(1)))
    x = (jr.uniform(jr.key(2), (T, 3, N_IN)) < 0.3).astype(jnp.float32)
    together = model(x)
    assert float(jnp.std(together[-1, :, 0])) > 0  # the rows differ
    for b in range(3):
        np.testing.assert_allclose(
            np.asarray(model(x[:, b : b + 1])[:, 0]), np.asarray(together[:, b]), rtol=1e-5, atol=1e-5
        )


def test_leaky_readout_matches_its_closed_form():
    """Constant drive c from u = 0: u(t) = c (1 - exp(-t / tau)), exactly at the steps."""
    readout = LeakyReadout(2, 1, key=jr.key(0), tau=10.0, dt=0.5)
    x = jnp.ones((50, 1, 2), jnp.float32)
    u = readout(x)[:, 0, 0]
    c = float(jnp.sum(readout.weights))
    t = 0.5 * np.arange(1, 51)
    np.testing.assert_allclose(np.asarray(u), c * (1 - np.exp(-t / 10.0)), rtol=1e-5, atol=1e-6)


def test_alif_layer_adapts():
    """Same drive, `ALIF` fires less than `LIF` (the threshold rises after each spike)."""
    x = jnp.ones((200, 1, 1), jnp.float32)
    w = jnp.full((1, 1), 400.0)  # pA: a constant suprathreshold current
    lif = RecurrentSpikingLayer(w, None, bs.LIF())(x).sum()
    alif = RecurrentSpikingLayer(w, None, bs.ALIF(threshold_increment=5.0))(x).sum()
    assert 0 < float(alif) < float(lif)


@pytest.mark.parametrize(
    "x, error, match",
    [
        (np.zeros((5, 12), np.float32), ValueError, r"shape \(T, batch, n_in\)"),
        (np.zeros((5, 2, 7), np.float32), ValueError, r"7 features .* `n_in` = 12"),
        (np.zeros((5, 2, 12), np.int32), TypeError, "floating point"),
        (np.zeros((5, 0, 12), np.float32), ValueError, "batch is empty"),
        (np.zeros((0, 2, 12), np.float32), ValueError, "time axis is empty"),
    ],
)
def test_bad_input_is_refused_before_compiling(x, error, match):
    layer = SpikingLayer(N_IN, N_H, key=jr.key(0))
    with pytest.raises(error, match=match):
        eqx.filter_jit(layer)(x)  # raised while tracing, before anything is compiled


def test_bad_shapes_are_refused_at_construction():
    with pytest.raises(ValueError, match="`recurrent_weights` must have shape"):
        RecurrentSpikingLayer(jnp.zeros((3, 4)), jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="layer 0 has `n_out` = 4 but layer 1 has `n_in` = 5"):
        stack(SpikingLayer(3, 4, key=jr.key(0)), LeakyReadout(5, 2, key=jr.key(1)))
