import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

import brainsim as bs
from brainsim.dynamics.neurons.refractory import REFRACTORY_TOLERANCE

CURRENT = 300.0  # pA: v_inf = -40 mV
DT = 0.01


def _y0(v0=-70.0):
    return bs.ALIFState(v=jnp.full(1, v0), adaptation=jnp.zeros(1), refractory=jnp.zeros(1))


def _run(neuron, y0, steps, dt=DT):
    current = jnp.full(1, CURRENT)  # in the caller's precision

    def body(y, _):
        y, _ = bs.ExponentialEuler().step(neuron, 0.0, dt, y, current, None)
        spiked = neuron.spike(y)
        y = neuron.reset(y, spiked)
        return y, (spiked[0], y)

    _, (spikes, trace) = jax.lax.scan(body, y0, None, length=steps)
    return np.flatnonzero(np.asarray(spikes)), trace


def test_threshold_jumps_at_each_spike_and_decays_exponentially():
    alif = bs.ALIF()
    with jax.enable_x64(True):
        steps, trace = _run(alif, _y0(), 10_000)
    adaptation = np.asarray(trace.adaptation[:, 0])
    first, second = steps[:2]
    assert adaptation[first - 1] == 0.0 and adaptation[first] == alif.threshold_increment
    k = np.arange(1, second - first)  # steps since the first spike, before the second
    closed_form = alif.threshold_increment * np.exp(-k * DT / alif.tau_adaptation)
    np.testing.assert_allclose(adaptation[first + k], closed_form, rtol=1e-10)
    decayed = adaptation[steps - 1] * np.exp(-DT / alif.tau_adaptation)  # over the spike's step
    np.testing.assert_allclose(adaptation[steps] - decayed, alif.threshold_increment, rtol=1e-10)


def test_isis_lengthen_compared_with_lif():
    alif = bs.ALIF()
    lif = bs.LIF()  # same c_m, g_leak, e_leak, v_threshold, v_reset, t_ref
    alif_steps, _ = _run(alif, _y0(), 20_000)

    def lif_body(y, _):
        y, _ = bs.ExponentialEuler().step(lif, 0.0, DT, y, CURRENT, None)
        spiked = lif.spike(y)
        return lif.reset(y, spiked), spiked[0]

    lif_y0 = bs.LIFState(v=jnp.full(1, -70.0), refractory=jnp.zeros(1))
    _, lif_spikes = jax.lax.scan(lif_body, lif_y0, None, length=20_000)
    lif_steps = np.flatnonzero(np.asarray(lif_spikes))
    alif_isi, lif_isi = np.diff(alif_steps), np.diff(lif_steps)
    assert abs(alif_steps[0] - lif_steps[0]) <= 1  # the same until the first spike
    assert np.all(np.diff(alif_isi) >= 0) and alif_isi[-1] > alif_isi[0]
    assert np.all(alif_isi > lif_isi.max()) and len(alif_steps) < len(lif_steps)


def test_without_increment_it_is_the_lif():
    alif, lif = bs.ALIF(threshold_increment=0.0), bs.LIF()
    alif_steps, alif_trace = _run(alif, _y0(), 5000)

    def lif_body(y, _):
        y, _ = bs.ExponentialEuler().step(lif, 0.0, DT, y, CURRENT, None)
        y = lif.reset(y, lif.spike(y))
        return y, y.v[0]

    _, lif_v = jax.lax.scan(
        lif_body, bs.LIFState(jnp.full(1, -70.0), jnp.zeros(1)), None, length=5000
    )
    np.testing.assert_array_equal(alif_trace.v[:, 0], lif_v)


def test_exact_second_spike_time_against_root_find():
    alif = bs.ALIF()
    tau_m, v_inf = alif.c_m / alif.g_leak, alif.e_leak + 300.0 / alif.g_leak
    first = tau_m * np.log((v_inf + 70.0) / (v_inf - alif.v_threshold))
    t_ref = alif.t_ref - REFRACTORY_TOLERANCE  # the countdown ends at the tolerance

    def distance(s):  # s: time since the end of the refractory period
        v = v_inf + (alif.v_reset - v_inf) * np.exp(-s / tau_m)
        theta = alif.threshold_increment * np.exp(-(t_ref + s) / alif.tau_adaptation)
        return v - (alif.v_threshold + theta)

    isi = t_ref + brentq(distance, 1e-9, 100.0, xtol=1e-14)
    with jax.enable_x64(True):
        times, count = bs.spike_times(
            alif, _y0(), 300.0, 50.0, max_spikes=2, rtol=1e-10, atol=1e-10
        )
    assert int(count) == 2
    assert abs(float(times[0]) - first) < 1e-6
    assert abs(float(times[1] - times[0]) - isi) < 1e-6


def test_spikes_at_the_effective_threshold():
    alif = bs.ALIF()
    y = bs.ALIFState(
        v=jnp.array([-49.0, -47.0]), adaptation=jnp.array([2.0, 2.0]), refractory=jnp.zeros(2)
    )
    np.testing.assert_array_equal(alif.spike(y), [0.0, 1.0])  # threshold -48 mV


def test_grad_through_parameters_under_jit_and_vmap():
    def spike_count(increment):
        alif = bs.ALIF(threshold_increment=increment)

        def body(y, _):
            y, _ = bs.ExponentialEuler().step(alif, 0.0, 0.1, y, CURRENT, None)
            spiked = alif.spike(y)
            return alif.reset(y, spiked), spiked[0]

        _, spikes = jax.lax.scan(body, _y0(), None, length=1000)
        return spikes.sum()

    grads = jax.jit(jax.vmap(jax.grad(spike_count)))(jnp.array([1.0, 2.0, 4.0]))
    assert jnp.isfinite(grads).all() and jnp.all(grads < 0)  # more adaptation, fewer spikes


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"c_m": 0.0}, "`c_m` must be > 0 pF; got 0.0"),
        ({"g_leak": 0.0}, "`g_leak` must be > 0 nS; got 0.0"),
        ({"t_ref": -1.0}, "`t_ref` must be >= 0 ms; got -1.0"),
        ({"tau_adaptation": 0.0}, "`tau_adaptation` must be > 0 ms; got 0.0"),
        ({"threshold_increment": -1.0}, "`threshold_increment` must be >= 0 mV; got -1.0"),
        ({"v_reset": -40.0}, "`v_reset` must be < `v_threshold` mV"),
    ],
)
def test_rejects_invalid_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bs.ALIF(**kwargs)
