import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.surrogate import SuperSpike


def _lif_y0(v0):
    return bs.LIFState(v=jnp.full(1, v0), refractory=jnp.zeros(1))


def _first_crossing(lif, current, v0):
    tau_m = lif.c_m / lif.g_leak
    v_inf = lif.e_leak + current / lif.g_leak
    return tau_m * np.log((v_inf - v0) / (v_inf - lif.v_threshold))


@pytest.mark.parametrize("current, v0", [(250.0, -70.0), (300.0, -60.0), (800.0, -55.0)])
def test_first_spike_time_matches_analytic_crossing(current, v0):
    lif = bs.LIF()
    with jax.enable_x64(True):
        times, count = bs.spike_times(lif, _lif_y0(v0), current, 50.0, max_spikes=1)
    assert int(count) == 1
    assert abs(float(times[0]) - _first_crossing(lif, current, v0)) < 1e-6


def test_subthreshold_input_gives_no_spikes_and_inf_slots():
    with jax.enable_x64(True):
        times, count = bs.spike_times(bs.LIF(), _lif_y0(-70.0), 150.0, 100.0, max_spikes=4)
    assert int(count) == 0
    assert np.all(np.isinf(np.asarray(times)))


def test_stops_at_max_spikes_with_ascending_times():
    with jax.enable_x64(True):
        times, count = bs.spike_times(
            bs.LIF(t_ref=0.0), _lif_y0(-70.0), 800.0, 1000.0, max_spikes=5
        )
    assert int(count) == 5
    assert np.all(np.diff(np.asarray(times)) > 0)


def test_default_tolerances_work_in_float32():
    times, count = bs.spike_times(bs.LIF(), _lif_y0(-70.0), 300.0, 30.0)
    assert times.dtype == jnp.float32 and int(count) == 1
    assert abs(float(times[0]) - _first_crossing(bs.LIF(), 300.0, -70.0)) < 1e-3


def test_jit_vmap_and_forward_mode_derivative():
    lif = bs.LIF()

    def first_spike(current):
        return bs.spike_times(lif, _lif_y0(-70.0), current, 100.0, max_spikes=2)[0][0]

    with jax.enable_x64(True):
        currents = jnp.array([250.0, 300.0, 400.0])
        times = jax.jit(jax.vmap(first_spike))(currents)
        slopes = jax.vmap(jax.jacfwd(first_spike))(currents)
    expected = [_first_crossing(lif, c, -70.0) for c in (250.0, 300.0, 400.0)]
    np.testing.assert_allclose(times, expected, atol=1e-6)
    # t = tau ln((v_inf - v0) / (v_inf - v_th)), v_inf = E_L + I / g_L
    v_inf = lif.e_leak + np.array([250.0, 300.0, 400.0]) / lif.g_leak
    tau_m = lif.c_m / lif.g_leak
    analytic = tau_m / lif.g_leak * (1 / (v_inf + 70.0) - 1 / (v_inf - lif.v_threshold))
    np.testing.assert_allclose(slopes, analytic, rtol=1e-5)


def _stepped_spike_times(neuron, y0, current, dt, t1):
    stepper = bs.DiffraxStepper(diffrax.Tsit5())

    def body(carry, t):
        y, state = carry
        y, state = stepper.step(neuron, t, dt, y, current, state)
        spiked = neuron.spike(y)
        return (neuron.reset(y, spiked), state), spiked[0]

    steps = int(round(t1 / dt))
    init = (y0, stepper.init(neuron, 0.0, dt, y0, current))
    _, spikes = jax.lax.scan(body, init, jnp.arange(steps, dtype=float) * dt)
    return (np.flatnonzero(np.asarray(spikes)) + 1) * dt


@pytest.mark.parametrize(
    "neuron, current",
    [(bs.ALIF(), 300.0), (bs.AdEx(), 1000.0), (bs.Izhikevich(), 10.0), (bs.HodgkinHuxley(), 500.0)],
    ids=["ALIF", "AdEx", "Izhikevich", "HodgkinHuxley"],
)
def test_every_model_matches_a_fine_stepped_simulation(neuron, current):
    dt = 0.01
    with jax.enable_x64(True):
        y0 = neuron.init_state(1, key=jr.key(0))
        times, count = bs.spike_times(neuron, y0, jnp.array([current]), 100.0)
        stepped = _stepped_spike_times(neuron, y0, jnp.array([current]), dt, 100.0)
    exact = np.asarray(times[: int(count)])
    assert int(count) >= 3 and len(stepped) == int(count)
    # A stepped spike is reported, and the neuron reset, at the end of the step in which the
    # crossing happens: each reset lags by less than one step, so the k-th spike by < k steps.
    lag = stepped - exact
    assert np.all(lag > -1e-3)
    assert np.all(lag <= dt * np.arange(1, len(exact) + 1) + 1e-3)


class _Unregistered(bs.AbstractSpikingNeuron):
    surrogate: SuperSpike = SuperSpike()

    def init_state(self, n, *, key):
        return jnp.zeros(n)

    def vector_field(self, t, y, args):
        return jnp.ones_like(y)

    def spike(self, y):
        return (y > 1.0).astype(y.dtype)

    def reset(self, y, spiked):
        return jnp.where(spiked > 0, 0.0, y)


def test_unregistered_model_is_rejected_with_the_fix():
    with pytest.raises(TypeError, match="threshold_distance.register"):
        bs.spike_times(_Unregistered(), jnp.zeros(1), None, 10.0)


def test_rejects_more_than_one_neuron():
    y0 = bs.LIFState(v=jnp.full(3, -70.0), refractory=jnp.zeros(3))
    with pytest.raises(ValueError, match="one neuron; got a state of 3 neurons"):
        bs.spike_times(bs.LIF(), y0, 300.0, 10.0)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`max_spikes` must be an integer >= 1"):
        bs.spike_times(bs.LIF(), _lif_y0(-70.0), 300.0, 10.0, max_spikes=0)
    with pytest.raises(ValueError, match="`t1` must be > 0 ms"):
        bs.spike_times(bs.LIF(), _lif_y0(-70.0), 300.0, -1.0)


def test_is_an_equinox_free_function():  # state in, times out: nothing is mutated
    y0 = _lif_y0(-70.0)
    before = jax.tree_util.tree_map(np.asarray, y0)
    bs.spike_times(bs.LIF(), y0, 300.0, 30.0)
    assert eqx.tree_equal(jax.tree_util.tree_map(np.asarray, y0), before)
