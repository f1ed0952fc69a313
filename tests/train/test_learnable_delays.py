"""Tests of `brainsim/train/delays.py`: the interpolating delay line against a NumPy reference,
its delay gradient against finite differences and against an alignment task, and the rounded
delays in a `Network` with per-synapse delay buffers."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import brainsim as bs
from brainsim.train import (
    DelayedSpikingLayer,
    LearnableDelays,
    RecurrentSpikingLayer,
    SpikingLayer,
    make_step,
    van_rossum_loss,
)

N_IN, N_OUT, T, D = 4, 3, 30, 6


def _reference_drive(x, weights, delays):
    """NumPy: drive[t, b, j] = sum_i w_ij ((1 - f) x[t - l, b, i] + f x[t - l - 1, b, i])."""
    x, weights, delays = np.asarray(x), np.asarray(weights), np.asarray(delays)
    padded = np.concatenate([np.zeros((D + 2,) + x.shape[1:]), x])  # x[t] = padded[t + D + 2]
    drive = np.zeros(x.shape[:2] + (weights.shape[1],))
    for i in range(weights.shape[0]):
        for j in range(weights.shape[1]):
            lower = int(np.floor(delays[i, j]))
            frac = delays[i, j] - lower
            t = np.arange(x.shape[0]) + D + 2
            delayed = (1 - frac) * padded[t - lower, :, i] + frac * padded[t - lower - 1, :, i]
            drive[:, :, j] += weights[i, j] * delayed
    return drive


def _data(dtype):
    x = (jr.uniform(jr.key(0), (T, 2, N_IN)) < 0.3).astype(dtype)
    weights = jr.normal(jr.key(1), (N_IN, N_OUT), dtype)
    return x, weights


def test_integer_delays_give_exactly_the_shifted_train():
    with jax.enable_x64(True):
        x, weights = _data(jnp.float64)
        delays = jr.randint(jr.key(2), (N_IN, N_OUT), 0, D + 1).astype(jnp.float64)
        stage = LearnableDelays(delays, D)
        assert stage.initial_ring(2, N_IN, jnp.float64).shape == (D + 1, 2, N_IN)  # not T slots
        np.testing.assert_allclose(
            np.asarray(stage(x, weights)), _reference_drive(x, weights, delays), rtol=1e-12, atol=1e-12
        )
        # one synapse per channel: the output is the input shifted by exactly d steps
        shift = LearnableDelays(jnp.array([[4.0]]), D)(x[:, :, :1], jnp.ones((1, 1)))
        np.testing.assert_array_equal(np.asarray(shift[4:]), np.asarray(x[:-4, :, :1]))
        np.testing.assert_array_equal(np.asarray(shift[:4]), 0.0)


def test_fractional_delays_interpolate_between_neighbouring_steps():
    with jax.enable_x64(True):
        x, weights = _data(jnp.float64)
        delays = jr.uniform(jr.key(3), (N_IN, N_OUT), jnp.float64, 0.0, D)
        got = LearnableDelays(delays, D)(x, weights)
        np.testing.assert_allclose(
            np.asarray(got), _reference_drive(x, weights, delays), rtol=1e-12, atol=1e-12
        )
        # batch-first is the transpose of time-first
        batch_first = LearnableDelays(delays, D)(jnp.swapaxes(x, 0, 1), weights, batch_first=True)
        np.testing.assert_array_equal(np.asarray(jnp.swapaxes(batch_first, 0, 1)), np.asarray(got))


def test_gaussian_kernel_is_normalised_and_narrows_to_the_rounded_shift():
    with jax.enable_x64(True):
        x, weights = _data(jnp.float64)
        delays = jr.randint(jr.key(2), (N_IN, N_OUT), 0, D + 1).astype(jnp.float64)
        wide = LearnableDelays(delays, D, kernel="gaussian", sigma=2.0)
        np.testing.assert_allclose(np.asarray(wide.lag_weights().sum(0)), 1.0, rtol=1e-12)
        narrow = LearnableDelays(delays, D, kernel="gaussian", sigma=0.1)  # exp(-50) off the lag
        np.testing.assert_allclose(
            np.asarray(narrow(x, weights)), _reference_drive(x, weights, delays), rtol=1e-9, atol=1e-15
        )


@pytest.mark.parametrize("kernel", ["linear", "gaussian"])
def test_delay_gradient_equals_finite_differences(kernel):
    """Central differences in float64: exact for the linear kernel inside a step (the drive is
    linear in d there; delays are kept 0.1 step away from the grid), smooth for the Gaussian."""
    with jax.enable_x64(True):
        x, weights = _data(jnp.float64)
        lower = jr.randint(jr.key(4), (N_IN, N_OUT), 0, D).astype(jnp.float64)
        delays = lower + jr.uniform(jr.key(5), (N_IN, N_OUT), jnp.float64, 0.1, 0.9)
        target = (jr.uniform(jr.key(6), (T, 2, N_OUT)) < 0.2).astype(jnp.float64)

        @jax.jit
        def loss(d):
            drive = LearnableDelays(d, D, kernel=kernel, sigma=1.5)(x, weights)
            return van_rossum_loss(drive, target, tau=5.0, dt=1.0)

        grad = np.asarray(jax.grad(loss)(delays))
        eps = 1e-5
        numeric = np.zeros_like(grad)
        for index in np.ndindex(grad.shape):
            step = jnp.zeros_like(delays).at[index].set(eps)
            numeric[index] = (loss(delays + step) - loss(delays - step)) / (2 * eps)
        assert np.max(np.abs(grad)) > 1e-3  # the comparison is not between two zero gradients
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_gradient_moves_a_delay_to_the_one_that_aligns_two_spike_trains():
    """Target = the input delayed by 7 ms; a delay starting at 3 ms (on the grid) reaches 7 ms
    +- 0.5 ms by gradient descent on the van Rossum distance."""
    dt, true_delay = 1.0, 7.0
    x = jnp.zeros((80, 1, 1), jnp.float32).at[jnp.array([5, 30, 55]), 0, 0].set(1.0)
    target = jnp.zeros_like(x).at[jnp.array([5, 30, 55]) + int(true_delay / dt), 0, 0].set(1.0)
    model = LearnableDelays(jnp.array([[3.0]], jnp.float32), 12)
    weight = jnp.ones((1, 1), jnp.float32)

    def loss_fn(m, x, target):
        return van_rossum_loss(m(x, weight), target, tau=10.0, dt=dt)

    optimizer = optax.adam(0.3)
    step = make_step(loss_fn, optimizer)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    start = float(loss_fn(model, x, target))
    assert float(eqx.filter_grad(loss_fn)(model, x, target).delays[0, 0]) < 0  # descent lengthens d
    for _ in range(60):
        model, opt_state, _, _ = step(model, opt_state, x, target)
    delay_ms = float(model.delays[0, 0]) * dt
    assert abs(delay_ms - true_delay) < 0.5, delay_ms
    assert float(loss_fn(model, x, target)) < 0.1 * start


def test_surrogate_gradient_aligns_a_spiking_neuron_with_a_delayed_target():
    """The same task through an LIF neuron (one input spike fires it once): with the Gaussian
    kernel (DCLS) the surrogate gradient takes the delay from 3 to 7 +- 0.5 steps, and the
    rounded layer fires exactly 7 steps after each input spike."""
    spike_steps = jnp.array([5, 30, 55])
    x = jnp.zeros((80, 1, 1), jnp.float32).at[spike_steps, 0, 0].set(1.0)

    def neuron_with_delay(d, kernel):
        lif = RecurrentSpikingLayer(jnp.full((1, 1), 6000.0), None, bs.LIF(t_ref=0.0))  # 30 mV per spike
        return DelayedSpikingLayer(lif, LearnableDelays(jnp.array([[d]]), 12, kernel=kernel, sigma=2.0))

    def loss_fn(m, x, target):
        return van_rossum_loss(m(x), target, tau=10.0, dt=1.0)

    target = neuron_with_delay(7.0, "gaussian")(x)
    model = neuron_with_delay(3.0, "gaussian")
    optimizer = optax.adam(0.3)
    step = make_step(loss_fn, optimizer)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    for _ in range(60):
        model, opt_state, _, _ = step(model, opt_state, x, target)
    assert abs(float(model.delays.delays[0, 0]) - 7.0) < 0.5
    fired = jnp.nonzero(model.round_delays()(x)[:, 0, 0])[0]
    np.testing.assert_array_equal(np.asarray(fired), np.asarray(spike_steps + 7))


def _spiking_layer(dtype, delays, checkpoint_every=None):
    w_in = 6000.0 * jr.normal(jr.key(7), (N_IN, N_OUT), dtype) / np.sqrt(N_IN)  # pA
    w_rec = 2000.0 * jr.normal(jr.key(8), (N_OUT, N_OUT), dtype) / np.sqrt(N_OUT)
    layer = RecurrentSpikingLayer(
        w_in, w_rec, bs.LIF(), bs.ExponentialSynapse(tau=3.0), bs.CUBA(), 1.0, checkpoint_every
    )
    return DelayedSpikingLayer(layer, LearnableDelays(delays, D))


def test_rounded_delays_run_in_a_network_with_the_same_spikes():
    """A `Network` SpikeSource -> LIF with per-synapse delays from `delay_steps_for` (CSR ring
    buffers) and a recurrent projection emits exactly the spikes of the rounded layer."""
    with jax.enable_x64(True):
        x = (jr.uniform(jr.key(9), (60, N_IN)) < 0.3).astype(jnp.float64)
        delays = jr.uniform(jr.key(10), (N_IN, N_OUT), jnp.float64, 0.6, D)
        layer = _spiking_layer(jnp.float64, delays).round_delays()
        np.testing.assert_array_equal(np.asarray(layer.delays.delays), np.round(np.asarray(delays)))
        spikes = layer(x[:, None, :])[:, 0, :]

        pre, post = np.divmod(np.arange(N_IN * N_OUT), N_OUT)
        conn = bs.FromArrays(pre, post, layer.layer.weights.ravel()).build(N_IN, N_OUT, key=jr.key(0))
        steps = layer.delays.delay_steps_for(conn)
        np.testing.assert_array_equal(steps, np.round(np.asarray(delays)).ravel())
        rest = bs.LIFState(v=jnp.full(N_OUT, -70.0, jnp.float64), refractory=jnp.zeros(N_OUT, jnp.float64))
        synapse = layer.layer.synapse
        net = bs.Network(
            [
                bs.Population("in", N_IN, bs.SpikeSource()),
                bs.Population("h", N_OUT, bs.LIF(), initial_state=rest),
            ],
            [
                bs.Projection("in", "h", conn, synapse, bs.CUBA(), delay_steps=steps, max_delay_steps=D),
                bs.Projection("h", "h", bs.Dense(layer.layer.recurrent_weights), synapse, bs.CUBA()),
            ],
            key=jr.key(0),
        )
        net_spikes = bs.run(net, 60.0, 1.0, key=jr.key(0), inputs={"in": x}).outputs["h"]
        assert 0.03 < float(spikes.mean()) < 0.5  # not two silent layers
        np.testing.assert_array_equal(np.asarray(net_spikes), np.asarray(spikes))


def test_zero_delays_are_the_plain_layer_and_checkpointing_changes_nothing():
    with jax.enable_x64(True):
        x = (jr.uniform(jr.key(11), (T, 2, N_IN)) < 0.3).astype(jnp.float64)
        plain = _spiking_layer(jnp.float64, jnp.zeros((N_IN, N_OUT), jnp.float64))
        np.testing.assert_array_equal(np.asarray(plain(x)), np.asarray(plain.layer(x)))

        delays = jr.uniform(jr.key(12), (N_IN, N_OUT), jnp.float64, 0.0, D)
        readout = jr.normal(jr.key(13), (T, 2, N_OUT), jnp.float64)

        def loss(model):
            return jnp.sum(model(x) * readout)

        grad = eqx.filter_jit(eqx.filter_grad(loss))
        grads = [grad(_spiking_layer(jnp.float64, delays, c)) for c in (None, 7)]
        d_plain, d_chunked = (np.asarray(g.delays.delays) for g in grads)
        assert np.max(np.abs(d_plain)) > 0  # surrogate gradients reach the delays
        np.testing.assert_allclose(d_chunked, d_plain, rtol=1e-9, atol=1e-12)


def test_bad_delays_are_refused():
    with pytest.raises(ValueError, match=r"`delays` must be in \[0.0, 6.0\] steps"):
        LearnableDelays(jnp.full((2, 3), -0.5), D)
    with pytest.raises(ValueError, match=r"`delays` must be in \[0.0, 6.0\] steps"):
        LearnableDelays(jnp.full((2, 3), 6.5), D)
    with pytest.raises(ValueError, match="`max_delay_steps` must be an integer >= 1"):
        LearnableDelays(jnp.zeros((2, 3)), 0)
    # wrong dtype or rank: the tests' jaxtyping check (TypeError) fires before `__check_init__`'s
    with pytest.raises(TypeError, match="delays"):
        LearnableDelays(jnp.zeros((2, 3), jnp.int32), D)
    with pytest.raises((TypeError, ValueError), match="delays"):
        LearnableDelays(jnp.zeros(3), D)
    with pytest.raises(ValueError, match="`kernel` must be"):
        LearnableDelays(jnp.zeros((2, 3)), D, kernel="cubic")
    with pytest.raises(ValueError, match="`sigma` must be > 0"):
        LearnableDelays(jnp.zeros((2, 3)), D, kernel="gaussian", sigma=0.0)
    with pytest.raises(ValueError, match="`delays` must have the layer's weight shape"):
        DelayedSpikingLayer(SpikingLayer(2, 3, key=jr.key(0)), LearnableDelays(jnp.zeros((3, 2)), D))
    with pytest.raises(ValueError, match="`weights` must have the delays' shape"):
        LearnableDelays(jnp.zeros((2, 3)), D)(jnp.zeros((5, 1, 2)), jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match="2 features"):
        LearnableDelays(jnp.zeros((3, 3)), D)(jnp.zeros((5, 1, 2)), jnp.zeros((3, 3)))
    conn = bs.FromArrays(np.array([0, 1]), np.array([0, 0]), 1.0).build(2, 1, key=jr.key(0))
    with pytest.raises(ValueError, match="`delays`: a `Network` projection delivers after >= 1 step"):
        LearnableDelays(jnp.array([[0.2], [3.0]]), D).delay_steps_for(conn)
