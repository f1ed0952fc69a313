import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs

CURRENT = 500.0  # pA: repetitive firing, about 80 Hz
T1 = 100.0  # ms
DT = 0.01  # ms


def _traub_miles_rates(v, vt=-63.0):
    """Brian2's `examples/COBAHH.py` rate expressions, in float64 NumPy (1/ms)."""
    return (
        0.32 * (13 - v + vt) / (np.exp((13 - v + vt) / 4) - 1),
        0.28 * (v - vt - 40) / (np.exp((v - vt - 40) / 5) - 1),
        0.128 * np.exp((17 - v + vt) / 18),
        4 / (1 + np.exp((40 - v + vt) / 5)),
        0.032 * (15 - v + vt) / (np.exp((15 - v + vt) / 5) - 1),
        0.5 * np.exp((10 - v + vt) / 40),
    )


def _rest(hh):
    """The neuron at -65 mV with its gates at steady state."""
    return hh.init_state(1, key=jr.key(0))


def _upward_crossings(ts, v, threshold):
    below, above = v[:-1] <= threshold, v[1:] > threshold
    i = np.flatnonzero(below & above)
    return ts[i] + (threshold - v[i]) * (ts[i + 1] - ts[i]) / (v[i + 1] - v[i])


def _adaptive_spike_times(hh, y0):
    ts = jnp.arange(0.0, T1, 0.001)
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(hh.vector_field),
        diffrax.Tsit5(),
        0.0,
        T1,
        0.01,
        y0,
        jnp.array([CURRENT]),
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=1e-8, atol=1e-8),
        max_steps=100_000,
    )
    return _upward_crossings(np.asarray(ts), np.asarray(solution.ys.v[:, 0]), hh.v_threshold)


def _stepped(hh, y0, stepper):
    current = jnp.array([CURRENT])

    def body(carry, t):
        y, state = carry
        y, state = stepper.step(hh, t, DT, y, current, state)
        spiked = hh.spike(y)
        return (hh.reset(y, spiked), state), (spiked[0], y.v[0])

    init = (y0, stepper.init(hh, 0.0, DT, y0, current))
    _, (spikes, v) = jax.lax.scan(body, init, jnp.arange(int(round(T1 / DT)), dtype=float) * DT)
    return (np.flatnonzero(np.asarray(spikes)) + 1) * DT, np.asarray(v)


def test_stepped_tsit5_matches_adaptive_solve_within_one_step():
    hh = bs.HodgkinHuxley()
    with jax.enable_x64(True):
        y0 = _rest(hh)
        exact = _adaptive_spike_times(hh, y0)
        stepped, _ = _stepped(hh, y0, bs.DiffraxStepper(diffrax.Tsit5()))
    assert len(exact) >= 5 and len(stepped) == len(exact)
    lag = stepped - exact  # reported at the end of the step that crosses
    assert np.all((lag >= -1e-6) & (lag <= DT + 1e-6))


def test_exponential_euler_matches_adaptive_spike_count():
    hh = bs.HodgkinHuxley()
    with jax.enable_x64(True):
        y0 = _rest(hh)
        exact = _adaptive_spike_times(hh, y0)
        stepped, v = _stepped(hh, y0, bs.ExponentialEuler())
    assert len(stepped) == len(exact)
    # one spike per upward crossing of the threshold in the recorded trace
    assert len(stepped) == np.sum((v[:-1] <= hh.v_threshold) & (v[1:] > hh.v_threshold)) + (
        v[0] > hh.v_threshold
    )


def test_rates_match_brian2_expressions():
    hh = bs.HodgkinHuxley()
    v = np.linspace(-100.0, 40.0, 141) + 0.37  # away from the removable singularities
    with jax.enable_x64(True):
        ours = hh.rates(jnp.asarray(v))
    for got, expected in zip(ours, _traub_miles_rates(v), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("v_singular", [-50.0, -23.0, -48.0])  # VT + 13, VT + 40, VT + 15
def test_removable_singularities_are_finite_with_finite_gradients(v_singular):
    hh = bs.HodgkinHuxley()
    with jax.enable_x64(True):
        at = [np.asarray(rate) for rate in hh.rates(jnp.array([v_singular]))]
        nearby = _traub_miles_rates(np.array([v_singular - 1e-3, v_singular + 1e-3]))
        grads = np.asarray(jax.jacfwd(lambda v: jnp.stack(hh.rates(v)))(jnp.array([v_singular])))
        rev = np.asarray(
            jax.grad(lambda v: sum(r.sum() for r in hh.rates(v)))(jnp.array([v_singular]))
        )
    for value, (lo, hi) in zip(at, nearby, strict=True):
        assert lo <= value[0] <= hi or hi <= value[0] <= lo  # continuous through the point
    fd = (np.array(nearby)[:, 1] - np.array(nearby)[:, 0]) / 2e-3
    np.testing.assert_allclose(grads[:, 0, 0], fd, rtol=1e-5, atol=1e-9)
    assert np.isfinite(rev).all()


def test_rates_finite_far_from_rest():
    hh = bs.HodgkinHuxley()
    v = jnp.linspace(-300.0, 200.0, 1001)
    grads = jax.vmap(jax.grad(lambda v: sum(r for r in hh.rates(v))))(v)
    assert all(jnp.isfinite(r).all() for r in hh.rates(v)) and jnp.isfinite(grads).all()


def test_init_state_is_brian2_initial_condition_at_gate_steady_state():
    hh = bs.HodgkinHuxley()
    y = hh.init_state(20_000, key=jr.key(1))
    assert abs(float(y.v.mean()) + 65.0) < 0.2 and abs(float(y.v.std()) - 5.0) < 0.2
    a, b = hh.linear_coefficients(0.0, y, None)
    for gate in ("m", "h", "n"):
        rate = getattr(a, gate) * getattr(y, gate) + getattr(b, gate)
        assert float(jnp.max(jnp.abs(rate))) < 1e-5


def test_vector_field_matches_brian2_equations_with_conductance_input():
    hh = bs.HodgkinHuxley()
    rng = np.random.default_rng(0)
    v, m, h, n = (
        rng.uniform(lo, hi, 50) for lo, hi in [(-90.0, 30.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0)]
    )
    g_e, g_i = rng.uniform(0.0, 50.0, 50), rng.uniform(0.0, 200.0, 50)  # nS
    with jax.enable_x64(True):
        drive = bs.SynapticInput(jnp.zeros(50), jnp.zeros(50))
        drive = drive.add_conductance(jnp.asarray(g_e), 0.0).add_conductance(
            jnp.asarray(g_i), -80.0
        )
        y = bs.HodgkinHuxleyState(*(jnp.asarray(x) for x in (v, m, h, n)), above=jnp.zeros(50))
        dy = jax.tree_util.tree_map(np.asarray, hh.vector_field(0.0, y, drive))
    alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n = _traub_miles_rates(v)
    dv = (
        10.0 * (-60.0 - v)
        + g_e * (0.0 - v)
        + g_i * (-80.0 - v)
        - 20000.0 * m**3 * h * (v - 50.0)
        - 6000.0 * n**4 * (v + 90.0)
    ) / 200.0
    np.testing.assert_allclose(dy.v, dv, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(dy.m, alpha_m * (1 - m) - beta_m * m, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dy.h, alpha_h * (1 - h) - beta_h * h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dy.n, alpha_n * (1 - n) - beta_n * n, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(dy.above, 0.0)


def test_grad_through_conductances_under_jit_and_vmap():
    def final_v(g_na):
        hh = bs.HodgkinHuxley(g_na=g_na)
        y, _ = jax.lax.scan(
            lambda y, _: (bs.ExponentialEuler().step(hh, 0.0, 0.02, y, 500.0, None)[0], None),
            _rest(bs.HodgkinHuxley()),
            None,
            length=200,
        )
        return y.v.sum()

    grads = jax.jit(jax.vmap(jax.grad(final_v)))(jnp.array([15000.0, 20000.0, 25000.0]))
    assert jnp.isfinite(grads).all() and jnp.any(grads != 0)


@pytest.mark.parametrize(
    "field, unit", [("c_m", "pF"), ("g_leak", "nS"), ("g_na", "nS"), ("g_k", "nS")]
)
def test_rejects_nonpositive(field, unit):
    with pytest.raises(ValueError, match=f"`{field}` must be > 0 {unit}; got 0.0"):
        bs.HodgkinHuxley(**{field: 0.0})
