import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs

MODELS = [
    (bs.LIF(), 300.0),
    (bs.ALIF(), 300.0),
    (bs.AdEx(), 1000.0),
    (bs.Izhikevich(), 10.0),
    (bs.HodgkinHuxley(), 500.0),
]
MODEL_IDS = ["LIF", "ALIF", "AdEx", "Izhikevich", "HodgkinHuxley"]
SOLVERS = [diffrax.Euler(), diffrax.Heun(), diffrax.Tsit5()]
SOLVER_IDS = ["Euler", "Heun", "Tsit5"]


def _run(neuron, stepper, y0, drive, dt, steps):
    def body(carry, t):
        y, state = carry
        y, state = stepper.step(neuron, t, dt, y, drive, state)
        spiked = neuron.spike(y)
        return (neuron.reset(y, spiked), state), spiked

    init = (y0, stepper.init(neuron, 0.0, dt, y0, drive))
    (y, _), spikes = jax.lax.scan(body, init, jnp.arange(steps, dtype=float) * dt)
    return y, spikes


@pytest.mark.parametrize(
    "solver, order",
    [(diffrax.Euler(), 1), (diffrax.Heun(), 2), (diffrax.Tsit5(), 5)],
    ids=SOLVER_IDS,
)
def test_lif_subthreshold_converges_with_the_solver_order(solver, order):
    lif = bs.LIF(v_threshold=1e3)  # never fires, so the closed form is known
    v_inf = lif.e_leak + 300.0 / lif.g_leak
    exact = v_inf + (-70.0 - v_inf) * np.exp(-20.0 / (lif.c_m / lif.g_leak))
    # float64 keeps the tiny Tsit5 errors (down to 5e-12 mV) above round-off.
    dts = [2.0, 1.0, 0.5] if order == 5 else [2.0, 1.0, 0.5, 0.25]
    errors = []
    with jax.enable_x64(True):
        for dt in dts:
            y0 = bs.LIFState(v=jnp.array([-70.0]), refractory=jnp.zeros(1))
            y, _ = _run(
                lif, bs.DiffraxStepper(solver), y0, jnp.full(1, 300.0), dt, int(round(20.0 / dt))
            )
            errors.append(abs(float(y.v[0]) - exact))
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.3


@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
@pytest.mark.parametrize("neuron, current", MODELS, ids=MODEL_IDS)
def test_every_model_runs_under_every_solver(neuron, current, solver):
    dt = 0.01 if isinstance(neuron, bs.HodgkinHuxley) else 0.05
    y0 = neuron.init_state(3, key=jr.key(0))
    y, spikes = jax.jit(_run, static_argnums=(4, 5))(
        neuron, bs.DiffraxStepper(solver), y0, jnp.full(3, current), dt, int(round(100.0 / dt))
    )
    assert all(jnp.isfinite(leaf).all() for leaf in jax.tree_util.tree_leaves(y))
    assert jnp.all(spikes.sum(axis=0) >= 1)


def test_as_stepper_wraps_solvers_and_passes_steppers_through():
    assert bs.integrate.as_stepper(diffrax.Heun()) == bs.DiffraxStepper(diffrax.Heun())
    stepper = bs.ExponentialEuler()
    assert bs.integrate.as_stepper(stepper) is stepper
    with pytest.raises(TypeError, match="`solver` must be a brainsim stepper"):
        bs.integrate.as_stepper("tsit5")


def test_step_matches_a_single_diffrax_step():
    lif, dt = bs.LIF(), 0.1
    y0 = bs.LIFState(v=jnp.array([-65.0, -52.0]), refractory=jnp.array([0.0, 1.0]))
    drive = jnp.array([200.0, 400.0])
    term = diffrax.ODETerm(lif.vector_field)
    solver = diffrax.Tsit5()
    expected, _, _, _, _ = solver.step(
        term, 0.0, dt, y0, drive, solver.init(term, 0.0, dt, y0, drive), made_jump=True
    )
    stepper = bs.DiffraxStepper(solver)
    y1, _ = stepper.step(lif, 0.0, dt, y0, drive, stepper.init(lif, 0.0, dt, y0, drive))
    np.testing.assert_array_equal(y1.v, expected.v)
    np.testing.assert_array_equal(y1.refractory, expected.refractory)
