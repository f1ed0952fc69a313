import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

import brainsim as bs

PAPER = bs.AdEx()  # Brette & Gerstner (2005) tonic cell, cut-off V_T + 5 Delta_T
NO_ADAPTATION = bs.AdEx(adaptation_conductance=0.0, adaptation_increment=0.0)
CURRENT = 1000.0  # pA


def _y0(v0=-70.6, w0=0.0):
    return bs.AdExState(v=jnp.full(1, v0), w=jnp.full(1, w0), refractory=jnp.zeros(1))


def _spike_times_stepped(adex, dt, steps, current=CURRENT, y0=None):
    stepper = bs.DiffraxStepper(diffrax.Heun())
    y0 = _y0() if y0 is None else y0
    drive = jnp.full(1, current)

    def body(y, t):
        y, _ = stepper.step(adex, t, dt, y, drive, None)
        spiked = adex.spike(y)
        return adex.reset(y, spiked), (spiked[0], y)

    y, (spikes, trace) = jax.lax.scan(body, y0, jnp.arange(steps) * dt)
    return (np.flatnonzero(np.asarray(spikes)) + 1) * dt, trace


def _isi_without_adaptation(adex, current):
    """Integral of C dv / (leak + exponential + I) from the reset to the cut-off (quadrature)."""

    def dt_dv(v):
        return adex.c_m / (
            -adex.g_leak * (v - adex.e_leak)
            + adex.g_leak * adex.slope_factor * np.exp((v - adex.v_rheobase) / adex.slope_factor)
            + current
        )

    return quad(dt_dv, adex.v_reset, adex.v_threshold, epsabs=1e-12, epsrel=1e-12)[0]


def test_tonic_spiking_without_adaptation_has_the_quadrature_isi():
    isi = _isi_without_adaptation(NO_ADAPTATION, CURRENT)
    with jax.enable_x64(True):
        times, count = bs.spike_times(NO_ADAPTATION, _y0(), CURRENT, 100.0)
    exact = np.asarray(times[: int(count)])
    assert int(count) == int(100.0 // isi)
    np.testing.assert_allclose(np.diff(np.concatenate([[0.0], exact])), isi, atol=1e-6)
    dt = 0.01
    stepped, _ = _spike_times_stepped(NO_ADAPTATION, dt, 10_000)
    assert len(stepped) == int(count)
    assert np.all(np.abs(np.diff(stepped) - isi) <= dt + 1e-4)  # regular, to one step


def test_paper_parameters_adapt_then_settle():
    dt = 0.05
    times, _ = _spike_times_stepped(PAPER, dt, 16_000)  # 800 ms
    isis = np.diff(times)
    assert len(isis) > 10
    assert isis[0] < isis[-1] - 10.0  # spike-frequency adaptation
    assert np.all(np.diff(isis) > -dt - 1e-4)  # intervals lengthen monotonically ...
    assert np.ptp(isis[-3:]) <= dt + 1e-4  # ... and settle
    with jax.enable_x64(True):
        exact, count = bs.spike_times(PAPER, _y0(), CURRENT, 800.0)
    settled = float(np.diff(np.asarray(exact[: int(count)]))[-1])
    assert abs(isis[-1] - settled) <= 2 * dt


def test_subthreshold_fixed_point():
    current = 100.0  # pA, below rheobase
    adex = PAPER

    def net_current(v):  # dv/dt = 0 and dw/dt = 0, with w = a (v - E_L)
        exponential = np.exp((v - adex.v_rheobase) / adex.slope_factor)
        return (
            -adex.g_leak * (v - adex.e_leak)
            + adex.g_leak * adex.slope_factor * exponential
            - adex.adaptation_conductance * (v - adex.e_leak)
            + current
        )

    v_star = brentq(net_current, adex.e_leak, adex.v_rheobase)
    with jax.enable_x64(True):
        times, trace = _spike_times_stepped(adex, 0.1, 20_000, current=current)
        v_end, w_end = float(trace.v[-1, 0]), float(trace.w[-1, 0])
    assert len(times) == 0
    assert abs(v_end - v_star) < 1e-3
    assert abs(w_end - adex.adaptation_conductance * (v_star - adex.e_leak)) < 1e-2


def test_exponential_is_capped_at_the_cutoff():
    with jax.enable_x64(True):
        at_cutoff = PAPER.vector_field(0.0, _y0(PAPER.v_threshold), None).v
        beyond = PAPER.vector_field(0.0, _y0(500.0), None).v
        grad = jax.grad(lambda v: PAPER.vector_field(0.0, _y0(v), None).v.sum())(1e4)
    # above the cut-off only the leak still changes with v
    expected = -PAPER.g_leak * (500.0 - PAPER.v_threshold) / PAPER.c_m
    np.testing.assert_allclose(beyond - at_cutoff, expected, rtol=1e-12)
    assert np.isfinite(grad) and grad == pytest.approx(-PAPER.g_leak / PAPER.c_m)


def test_reset_and_refractory_hold_v_while_w_evolves():
    adex, dt = bs.AdEx(t_ref=5.0), 0.01
    times, trace = _spike_times_stepped(adex, dt, 3000)
    first = int(round(times[0] / dt)) - 1  # index of the step that spiked
    held = trace.v[first + 1 : first + 490, 0]
    np.testing.assert_array_equal(held, np.float32(adex.v_reset))
    w = np.asarray(trace.w[first : first + 490, 0])
    assert np.all(np.diff(w[1:]) != 0)  # w keeps integrating during the refractory period
    jump = trace.w[first + 1, 0] - trace.w[first, 0]  # the trace is recorded before the reset
    assert float(jump) == pytest.approx(adex.adaptation_increment, rel=1e-2)


def test_grad_of_adaptation_through_parameters_under_jit_and_vmap():
    def final_w(b):
        adex, stepper = bs.AdEx(adaptation_increment=b), bs.DiffraxStepper(diffrax.Heun())

        def body(y, _):
            y, _ = stepper.step(adex, 0.0, 0.1, y, CURRENT, None)
            return adex.reset(y, adex.spike(y)), None

        y, _ = jax.lax.scan(body, _y0(), None, length=1000)
        return y.w.sum()

    grads = jax.jit(jax.vmap(jax.grad(final_w)))(jnp.array([40.0, 80.5, 120.0]))
    assert jnp.isfinite(grads).all() and jnp.all(grads != 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"c_m": 0.0}, "`c_m` must be > 0 pF; got 0.0"),
        ({"g_leak": -1.0}, "`g_leak` must be > 0 nS; got -1.0"),
        ({"slope_factor": 0.0}, "`slope_factor` must be > 0 mV; got 0.0"),
        ({"tau_w": 0.0}, "`tau_w` must be > 0 ms; got 0.0"),
        ({"t_ref": -1.0}, "`t_ref` must be >= 0 ms; got -1.0"),
        ({"v_rheobase": -30.0}, "`v_rheobase` must be < `v_threshold` mV"),
        ({"v_reset": -30.0}, "`v_reset` must be < `v_threshold` mV"),
    ],
)
def test_rejects_invalid_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bs.AdEx(**kwargs)
