"""Tests of `brainsim/train/cells.py`: `ELMLayer` and `TwoCompartmentLayer` against `Network`s of
the same architecture, gradients against finite differences, a delayed-recall task the ELM
learns and a LIF layer of the same size does not, and bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
from jaxtyping import PRNGKeyArray

import brainsim as bs
from brainsim.train import ELMLayer, LeakyReadout, SpikingLayer, TwoCompartmentLayer, stack
from brainsim.train.layers import RecurrentSpikingLayer, rest_state

N_IN, N_TOP, N_OUT, T = 5, 3, 4, 30


def _spikes(key, n, dtype, p=0.3):
    return (jr.uniform(key, (T, n)) < p).astype(dtype)


def _shifted(x):
    """The layer's input delayed by one step, as a `SpikeSource` projection delivers it."""
    return jnp.concatenate([jnp.zeros_like(x[:1]), x[:-1]])[:, None, :]


def test_elm_layer_shapes_and_layouts():
    layer = ELMLayer(N_IN, N_OUT, key=jr.key(0), n_memory=3)
    x = jnp.ones((T, 2, N_IN))
    assert layer(x).shape == (T, 2, N_OUT)
    np.testing.assert_allclose(
        np.asarray(layer(jnp.swapaxes(x, 0, 1), batch_first=True)), np.asarray(jnp.swapaxes(layer(x), 0, 1))
    )


def test_elm_layer_equals_a_network_population():
    """SpikeSource -> Dense -> ExponentialSynapse(5 ms) -> CUBA -> ELM population emits the
    layer's outputs (float64)."""
    with jax.enable_x64(True):
        layer = ELMLayer(N_IN, N_OUT, key=jr.key(1), n_memory=4, weight_scale=2.0, dtype=jnp.float64)
        x = _spikes(jr.key(2), N_IN, jnp.float64)
        start = rest_state(layer.neuron, N_OUT, jnp.float64)
        net = bs.Network(
            [
                bs.Population("in", N_IN, bs.SpikeSource()),
                bs.Population("elm", N_OUT, layer.neuron, initial_state=start),
            ],
            [bs.Projection("in", "elm", bs.Dense(layer.weights), layer.synapse, bs.CUBA())],
            key=jr.key(0),
        )
        out = bs.run(net, float(T), 1.0, key=jr.key(0), inputs={"in": x}).outputs["elm"]
        np.testing.assert_allclose(
            np.asarray(layer(_shifted(x))[:, 0]), np.asarray(out), rtol=1e-10, atol=1e-12
        )
        assert float(jnp.std(out)) > 1e-3  # the outputs move


def _two_compartment_layer(dtype, neuron):
    w = 900.0 * jr.normal(jr.key(3), (N_IN, N_OUT), dtype)
    w_a = 700.0 * jr.normal(jr.key(4), (N_TOP, N_OUT), dtype)
    soma = RecurrentSpikingLayer(w, None, neuron, bs.ExponentialSynapse(tau=5.0), bs.CUBA(), 1.0)
    return TwoCompartmentLayer(soma, w_a, bs.ExponentialSynapse(tau=10.0), bs.Apical(bs.CUBA()))


def test_two_compartment_layer_equals_a_network():
    """Basal input through CUBA and top-down input through an `Apical` projection: the
    `Network` emits the layer's spikes."""
    with jax.enable_x64(True):
        neuron = bs.TwoCompartmentLIF()
        layer = _two_compartment_layer(jnp.float64, neuron)
        x, f = _spikes(jr.key(5), N_IN, jnp.float64), _spikes(jr.key(6), N_TOP, jnp.float64)
        start = rest_state(neuron, N_OUT, jnp.float64)
        net = bs.Network(
            [
                bs.Population("in", N_IN, bs.SpikeSource()),
                bs.Population("top", N_TOP, bs.SpikeSource()),
                bs.Population("pyr", N_OUT, neuron, initial_state=start),
            ],
            [
                bs.Projection("in", "pyr", bs.Dense(layer.soma.weights), layer.soma.synapse, bs.CUBA()),
                bs.Projection(
                    "top", "pyr", bs.Dense(layer.apical_weights), layer.apical_synapse, layer.apical_output
                ),
            ],
            key=jr.key(0),
        )
        out = bs.run(net, float(T), 1.0, key=jr.key(0), inputs={"in": x, "top": f}).outputs["pyr"]
        spikes = layer(_shifted(x), _shifted(f))[:, 0]
        assert float(out.sum()) > 0
        np.testing.assert_array_equal(np.asarray(spikes), np.asarray(out))
        # the top-down stream changes what the somata emit
        assert not np.array_equal(np.asarray(layer(_shifted(x), 0.0 * _shifted(f))[:, 0]), np.asarray(out))


class SmoothTwoCompartment(
    bs.AbstractSpikingNeuron[bs.TwoCompartmentLIFState], bs.AbstractLinearInState[bs.TwoCompartmentLIFState]
):
    """The two-compartment dynamics with a smooth 'spike' sigmoid((V_s - V_th) / 5 mV) and no reset,
    so a loss of its output is smooth and its exact gradient is what BPTT must return."""

    cell: bs.TwoCompartmentLIF = bs.TwoCompartmentLIF(t_ref=0.0)
    surrogate: bs.AbstractSurrogate = bs.Sigmoid(slope=4.0)  # unused: the spike is smooth

    def init_state(self, n: int, *, key: PRNGKeyArray) -> bs.TwoCompartmentLIFState:
        return rest_state(self.cell, n, jnp.result_type(float))

    def zero_input(self, n, dtype):
        return self.cell.zero_input(n, dtype)

    def linear_coefficients(self, t, y, args):
        return self.cell.linear_coefficients(t, y, args)

    def spike(self, y):
        return jax.nn.sigmoid(0.2 * (y.v - self.cell.v_threshold))

    def reset(self, y, spiked):
        return y


@rest_state.register
def _(neuron: SmoothTwoCompartment, n, dtype):
    return rest_state(neuron.cell, n, dtype)


def test_two_compartment_layer_gradient_equals_finite_differences():
    """Smooth spikes, float64: the directional derivative along both weight matrices (basal
    and apical) equals a central difference."""
    with jax.enable_x64(True):
        layer = _two_compartment_layer(jnp.float64, SmoothTwoCompartment())
        x, f = _spikes(jr.key(7), N_IN, jnp.float64)[:, None], _spikes(jr.key(8), N_TOP, jnp.float64)[:, None]
        readout = jr.normal(jr.key(9), (T, 1, N_OUT), jnp.float64)

        def loss(w, w_a):
            model = eqx.tree_at(lambda m: (m.soma.weights, m.apical_weights), layer, (w, w_a))
            return jnp.sum(model(x, f) * readout)

        w, w_a = layer.soma.weights, layer.apical_weights
        g, g_a = jax.grad(loss, argnums=(0, 1))(w, w_a)
        d, d_a = jr.normal(jr.key(10), w.shape, jnp.float64), jr.normal(jr.key(11), w_a.shape, jnp.float64)
        eps = 1e-2
        numeric = (loss(w + eps * d, w_a + eps * d_a) - loss(w - eps * d, w_a - eps * d_a)) / (2 * eps)
        analytic = jnp.sum(g * d) + jnp.sum(g_a * d_a)
        assert abs(float(jnp.sum(g_a * d_a))) > 1e-4  # the apical weights get a gradient
        np.testing.assert_allclose(float(analytic), float(numeric), rtol=1e-6)


def _recall_batch(key, batch: int, n_steps: int = 60):
    """Delayed recall: channel c in {0, 1} fires in steps 0-4, channel 2 fires at random (10%
    per step) throughout; the label c is read at the last step, 55 steps after the cue."""
    k_label, k_noise = jr.split(key)
    labels = jr.bernoulli(k_label, 0.5, (batch,)).astype(jnp.int32)
    x = jnp.zeros((n_steps, batch, 3))
    cue = jax.nn.one_hot(labels, 2)
    x = x.at[:5, :, :2].set(jnp.broadcast_to(cue, (5, batch, 2)))
    x = x.at[:, :, 2].set(jr.bernoulli(k_noise, 0.1, (n_steps, batch)).astype(x.dtype))
    return x, labels


def _train_recall(model, key, steps=60, lr=1e-2):
    def loss(m, x, labels):
        logits = m(x)[-1]
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    optimizer = optax.adam(lr)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = optimizer.init(params)

    @jax.jit
    def step(params, opt_state, key):
        x, labels = _recall_batch(key, 32)
        grads = jax.grad(lambda p: loss(eqx.combine(p, static), x, labels))(params)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 count with floats
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    for k in jr.split(key, steps):
        params, opt_state = step(params, opt_state, k)
    model = eqx.combine(params, static)
    x, labels = _recall_batch(jr.key(1234), 256)
    logits = eqx.filter_jit(lambda m, x: m(x)[-1])(model, x)
    return float(jnp.mean(jnp.argmax(logits, axis=-1) == labels))


@pytest.mark.slow  # two short training runs: ~10 s alone, ~30 s on a loaded 2-core machine
def test_elm_learns_delayed_recall_that_a_lif_layer_of_the_same_size_does_not():
    """Two ELM neurons (memory timescales 1 ms-1 s) recall a cue 55 ms later; two LIF neurons
    (20 ms membranes) with a leaky readout, trained the same way, stay far below."""
    elm = ELMLayer(3, 2, key=jr.key(20), n_memory=8, dtype=jnp.float32)
    lif = stack(SpikingLayer(3, 2, key=jr.key(21), dtype=jnp.float32), LeakyReadout(2, 2, key=jr.key(22)))
    elm_accuracy = _train_recall(elm, jr.key(30))
    lif_accuracy = _train_recall(lif, jr.key(30))
    assert elm_accuracy >= 0.95, elm_accuracy
    assert lif_accuracy <= elm_accuracy - 0.2, (lif_accuracy, elm_accuracy)


def test_bad_input_raises_before_compiling():
    with pytest.raises(ValueError, match="`n_in`"):
        ELMLayer(0, 2, key=jr.key(0))
    with pytest.raises(ValueError, match="`synapse_tau`|`tau`"):
        ELMLayer(2, 2, key=jr.key(0), synapse_tau=-1.0)
    lif_soma = RecurrentSpikingLayer(jnp.ones((N_IN, N_OUT)), None)
    with pytest.raises(TypeError, match="`soma.neuron`"):
        TwoCompartmentLayer(lif_soma, jnp.ones((N_TOP, N_OUT)))
    layer = _two_compartment_layer(jnp.float32, bs.TwoCompartmentLIF())
    with pytest.raises(ValueError, match="`apical_weights`"):
        TwoCompartmentLayer(layer.soma, jnp.ones((N_TOP, N_OUT + 1)))
    x = jnp.zeros((T, 2, N_IN))
    with pytest.raises(ValueError, match="feedback"):
        layer(x, jnp.zeros((T, 3, N_TOP)))
    with pytest.raises(ValueError, match="n_in"):
        layer(x, jnp.zeros((T, 2, N_TOP + 1)))
    with pytest.raises(TypeError, match="floating"):
        layer(x, jnp.zeros((T, 2, N_TOP), jnp.int32))
