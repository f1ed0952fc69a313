"""Tests of `brainsim/dynamics/synapses/`: closed-form kernels, exactness, outputs, validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from brainsim.integrate import ExponentialEuler

DT = 0.1


def _impulse_response(synapse, steps=400, weight=2.0):
    """g(t) after one event of `weight` at t = 0, sampled at the end of each step."""
    y = synapse.on_events(synapse.init_state(1), jnp.full(1, weight))
    stepper = ExponentialEuler()

    def body(y, _):
        y, _ = stepper.step(synapse, 0.0, DT, y, None, None)
        return y, synapse.value(y)[0]

    return jax.lax.scan(body, y, None, length=steps)[1]


def test_exponential_synapse_is_exact():
    t = (np.arange(400) + 1) * DT
    g = _impulse_response(bs.ExponentialSynapse(tau=5.0))
    np.testing.assert_allclose(g, 2.0 * np.exp(-t / 5.0), rtol=1e-5)


def test_dual_exponential_peaks_at_weight_and_time():
    syn = bs.DualExponentialSynapse(tau_rise=1.0, tau_decay=5.0)
    g = np.asarray(_impulse_response(syn, steps=2000))
    t_peak = 5.0 * 1.0 / 4.0 * math.log(5.0)
    t = (np.arange(2000) + 1) * DT
    exact = 2.0 * float(syn.peak_normalisation) * (np.exp(-t / 5.0) - np.exp(-t / 1.0))
    np.testing.assert_allclose(g, exact, rtol=1e-4, atol=1e-6)
    assert abs(g.max() - 2.0) < 2e-3 and abs(t[g.argmax()] - t_peak) <= DT


def test_alpha_synapse_converges_to_the_alpha_function_at_first_order():
    syn, errors = bs.AlphaSynapse(tau=5.0), []
    for dt in (0.1, 0.05):
        steps = round(60.0 / dt)
        y = syn.on_events(syn.init_state(1), jnp.full(1, 2.0))
        stepper = ExponentialEuler()

        def body(y, _, dt=dt, stepper=stepper):
            y, _ = stepper.step(syn, 0.0, dt, y, None, None)
            return y, syn.value(y)[0]

        g = np.asarray(jax.lax.scan(body, y, None, length=steps)[1])
        t = (np.arange(steps) + 1) * dt
        errors.append(np.max(np.abs(g - 2.0 * (t / 5.0) * np.exp(1 - t / 5.0))))
        assert abs(t[g.argmax()] - 5.0) <= 2 * dt
    assert errors[0] < 0.03
    assert 1.7 < errors[0] / errors[1] < 2.3  # halving dt halves the error


def test_outputs_give_current_and_conductance():
    drive = bs.SynapticInput(jnp.zeros(2), jnp.zeros(2))
    v = jnp.array([-70.0, -50.0])
    cuba = bs.CUBA().apply(drive, jnp.array([10.0, 10.0]))
    np.testing.assert_allclose(cuba.current(v), [10.0, 10.0])
    coba = bs.COBA(e_rev=-80.0).apply(drive, jnp.array([2.0, 2.0]))
    np.testing.assert_allclose(coba.current(v), 2.0 * (-80.0 - v))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: bs.ExponentialSynapse(tau=0.0), "`tau` must be > 0 ms"),
        (lambda: bs.AlphaSynapse(tau=-1.0), "`tau` must be > 0 ms"),
        (
            lambda: bs.DualExponentialSynapse(tau_rise=5.0, tau_decay=2.0),
            "`tau_rise` must be < `tau_decay`",
        ),
    ],
)
def test_bad_time_constants(make, message):
    with pytest.raises(ValueError, match=message):
        make()
