import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.neurons.refractory import REFRACTORY_TOLERANCE

Y0 = bs.LIFState(v=jnp.array([-70.0]), refractory=jnp.zeros(1))
CURRENT = jnp.array([300.0])  # pA: v_inf = -70 + 300 / 10 = -40 mV, above the -50 mV threshold


def _analytic_first_spike_and_isi(lif, current, v0, t_ref):
    tau_m = lif.c_m / lif.g_leak
    v_inf = lif.e_leak + current / lif.g_leak
    first = tau_m * np.log((v_inf - v0) / (v_inf - lif.v_threshold))
    isi = t_ref + tau_m * np.log((v_inf - lif.v_reset) / (v_inf - lif.v_threshold))
    return first, isi


def _spike_steps(lif, stepper, dt, steps):
    """Indices of the steps that end with a spike, stepping `lif` inside `lax.scan`."""

    def body(carry, _):
        t, y, state = carry
        y, state = stepper.step(lif, t, dt, y, CURRENT, state)
        spiked = lif.spike(y)
        return (t + dt, lif.reset(y, spiked), state), spiked[0]

    init = (0.0, Y0, stepper.init(lif, 0.0, dt, Y0, CURRENT))
    _, spikes = jax.lax.scan(body, init, None, length=steps)
    return np.flatnonzero(np.asarray(spikes))


def _run(solver, lif, dt, steps):  # diffrax solvers used step-wise inside scan
    term = diffrax.ODETerm(lif.vector_field)

    def body(carry, _):
        t, y, s = carry
        y, _, _, s, _ = solver.step(term, t, t + dt, y, CURRENT, s, made_jump=False)
        return (t + dt, y, s), None

    init = (0.0, Y0, solver.init(term, 0.0, dt, Y0, CURRENT))
    (_, y, _), _ = jax.lax.scan(body, init, None, length=steps)
    return y


def test_stepped_isi_matches_analytic_within_one_step():
    lif, dt = bs.LIF(t_ref=2.0), 0.01
    steps = _spike_steps(lif, bs.ExponentialEuler(), dt, 10_000)
    times = (steps + 1) * dt  # a spike is reported at the end of the step that crosses
    first, isi = _analytic_first_spike_and_isi(lif, 300.0, -70.0, 2.0)
    assert len(times) == 1 + int((100.0 - first) // isi)
    assert abs(times[0] - first) <= dt
    assert np.all(np.abs(np.diff(times) - isi) <= dt + 1e-4)


@pytest.mark.parametrize("t_ref", [0.0, 2.0])
def test_exact_isi_from_spike_times(t_ref):
    lif = bs.LIF(t_ref=t_ref)
    with jax.enable_x64(True):
        y0 = bs.LIFState(v=jnp.full(1, -70.0), refractory=jnp.zeros(1))
        times, count = bs.spike_times(lif, y0, 300.0, 100.0)
    # A refractory countdown ends at REFRACTORY_TOLERANCE, not 0 (see refractory.py).
    effective_t_ref = max(t_ref - REFRACTORY_TOLERANCE, 0.0)
    first, isi = _analytic_first_spike_and_isi(lif, 300.0, -70.0, effective_t_ref)
    times = np.asarray(times[: int(count)])
    assert int(count) == 1 + int((100.0 - first) // isi)
    assert abs(times[0] - first) < 1e-6
    np.testing.assert_allclose(np.diff(times), isi, rtol=0, atol=1e-6)


def test_rejects_nonpositive_capacitance():
    with pytest.raises(ValueError, match="`c_m` must be > 0 pF; got 0.0"):
        bs.LIF(c_m=0.0)


def test_rejects_nonpositive_leak_conductance():
    with pytest.raises(ValueError, match="`g_leak` must be > 0 nS; got -1.0"):
        bs.LIF(g_leak=-1.0)


def test_rejects_negative_refractory_period():
    with pytest.raises(ValueError, match="`t_ref` must be >= 0 ms; got -1.0"):
        bs.LIF(t_ref=-1.0)


def test_rejects_reset_above_threshold():
    with pytest.raises(ValueError, match="`v_reset` must be < `v_threshold` mV"):
        bs.LIF(v_reset=-40.0, v_threshold=-50.0)


def test_rejects_bad_per_neuron_parameter():
    with pytest.raises(ValueError, match="`c_m` must be > 0 pF; got an array"):
        bs.LIF(c_m=jnp.array([200.0, -1.0]))


@pytest.mark.parametrize("solver, order", [(diffrax.Euler(), 1), (diffrax.Heun(), 2)])
def test_convergence_order_matches_solver(solver, order):  # as diffrax's test_ode_order
    lif = bs.LIF(v_threshold=1e3)  # never fires, so the closed form is known
    v_inf = lif.e_leak + CURRENT / lif.g_leak
    exact = v_inf + (Y0.v - v_inf) * jnp.exp(-20.0 / (lif.c_m / lif.g_leak))
    dts = [2.0, 1.0, 0.5, 0.25]  # each divides 20 ms exactly
    errors = [jnp.abs(_run(solver, lif, dt, int(20.0 / dt)).v - exact)[0] for dt in dts]
    assert abs(np.polyfit(np.log(dts), np.log(errors), 1)[0] - order) < 0.2


def test_jit_vmap_grad_through_parameters():  # also proves __check_init__ tolerates tracers
    def final_v(g):
        return _run(diffrax.Euler(), bs.LIF(g_leak=g, v_threshold=1e3), 0.1, 100).v.sum()

    grads = jax.jit(jax.vmap(jax.grad(final_v)))(jnp.array([5.0, 10.0, 20.0]))
    # d v(10 ms) / d g_leak by central differences of the same Euler run
    eps = 1e-2
    fd = [(final_v(g + eps) - final_v(g - eps)) / (2 * eps) for g in (5.0, 10.0, 20.0)]
    np.testing.assert_allclose(grads, fd, rtol=1e-2)


def test_surrogate_gradient_reaches_input_through_spikes():
    lif = bs.LIF(t_ref=2.0)

    def spike_count(current):
        def body(y, _):
            y, _ = bs.ExponentialEuler().step(lif, 0.0, 0.1, y, current, None)
            spiked = lif.spike(y)
            return lif.reset(y, spiked), spiked[0]

        _, spikes = jax.lax.scan(body, Y0, None, length=500)
        return spikes.sum()

    grad = jax.grad(spike_count)(jnp.array([300.0]))
    assert jnp.all(jnp.isfinite(grad)) and grad[0] > 0


def _held_steps(neuron, y0, stepper, dt, current, steps=400):
    """Steps after the first spike in which `v` stays exactly at `v_reset` (held)."""

    def body(carry, _):
        y, state = carry
        y, state = stepper.step(neuron, 0.0, dt, y, current, state)
        spiked = neuron.spike(y)
        y = neuron.reset(y, spiked)
        return (y, state), (spiked[0], y.v[0])

    init = (y0, stepper.init(neuron, 0.0, dt, y0, current))
    _, (spikes, v) = jax.lax.scan(body, init, None, length=steps)
    first = int(np.flatnonzero(np.asarray(spikes))[0])
    after = np.asarray(v)[first + 1 :] == np.float32(neuron.v_reset)
    return int(np.argmin(after))  # length of the run of held steps


def _brian2_held_steps(t_ref, dt, steps=400):
    """Brian2 >= 2.2 (non-legacy `refractory_timing`), written out: the spike is detected in the
    step that starts at clock time 0 (`lastspike = 0`); the step starting at `t = k dt` integrates
    iff `timestep(t - lastspike, dt) >= timestep(t_ref, dt)`, `timestep(x, dt) = int((x + 1e-3 dt)
    / dt)`. Returns the number of steps k >= 1 that do not integrate."""

    def timestep(x):
        return int((x + 1e-3 * dt) / dt)

    return sum(1 for k in range(1, steps) if not timestep(k * dt) >= timestep(t_ref))


def _neurons(t_ref):
    return {
        "LIF": (bs.LIF(t_ref=t_ref), bs.LIFState(v=jnp.array([-51.0]), refractory=jnp.zeros(1))),
        "ALIF": (
            bs.ALIF(t_ref=t_ref),
            bs.ALIFState(v=jnp.array([-51.0]), adaptation=jnp.zeros(1), refractory=jnp.zeros(1)),
        ),
        "AdEx": (
            bs.AdEx(t_ref=t_ref),
            bs.AdExState(v=jnp.array([-45.0]), w=jnp.zeros(1), refractory=jnp.zeros(1)),
        ),
    }


@pytest.mark.parametrize("model", ["LIF", "ALIF", "AdEx"])
@pytest.mark.parametrize("t_ref, dt", [(5.0, 0.1), (2.2, 0.1), (1.0, 0.25), (2.0, 0.05)])
def test_refractory_holds_t_ref_over_dt_steps_and_t_ref_minus_dt_gives_brian2(model, t_ref, dt):
    n = round(t_ref / dt)
    # one-stage steppers; a multi-stage one (Heun) already half-integrates the last held step
    stepper = bs.ExponentialEuler() if model != "AdEx" else bs.DiffraxStepper(diffrax.Euler())
    current = jnp.array([1000.0])  # pA: the neuron leaves v_reset in the first free step
    neuron, y0 = _neurons(t_ref)[model]
    assert _held_steps(neuron, y0, stepper, dt, current) == n  # brainsim (and NEST): t_ref / dt
    neuron, y0 = _neurons(t_ref - dt)[model]
    held_brian2 = _held_steps(neuron, y0, stepper, dt, current)
    assert held_brian2 == _brian2_held_steps(t_ref, dt) == n - 1  # Brian2's rule, one fewer


def test_a_multi_stage_solver_integrates_part_of_the_last_held_step():
    # Heun's second stage sits at the end of the step, where the countdown has reached 0: the
    # neuron is free there, so the last of the t_ref / dt steps moves v by half a free step.
    neuron, y0 = _neurons(2.0)["AdEx"]
    current = jnp.array([1000.0])
    assert _held_steps(neuron, y0, bs.DiffraxStepper(diffrax.Heun()), 0.1, current) == 19
