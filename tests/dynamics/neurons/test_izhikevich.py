import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs

DT = 0.1  # ms
STEPS = 10_000  # 1 s


def _numpy_euler_spike_steps(a, b, c, d, current, dt, steps):
    """Izhikevich (2003) integrated by forward Euler in plain float64 NumPy, from the paper's
    initial state v = -65 mV, u = b v."""
    v, u = -65.0, b * -65.0
    spikes = []
    for i in range(steps):
        v, u = v + dt * (0.04 * v * v + 5 * v + 140 - u + current), u + dt * a * (b * v - u)
        if v > 30.0:
            spikes.append(i)
            v, u = c, u + d
    return np.array(spikes)


def _spike_steps(neuron, current, dt=DT, steps=STEPS, solver=None):
    stepper = bs.DiffraxStepper(diffrax.Euler() if solver is None else solver)
    drive = jnp.full(1, current)
    y0 = neuron.init_state(1, key=jr.key(0))

    def body(carry, t):
        y, state = carry
        y, state = stepper.step(neuron, t, dt, y, drive, state)
        spiked = neuron.spike(y)
        return (neuron.reset(y, spiked), state), (spiked[0], y.v[0])

    init = (y0, stepper.init(neuron, 0.0, dt, y0, drive))
    _, (spikes, v) = jax.lax.scan(body, init, jnp.arange(steps, dtype=float) * dt)
    return np.flatnonzero(np.asarray(spikes)), np.asarray(v)


def test_regular_spiking_rate_matches_numpy_euler_reference():
    with jax.enable_x64(True):
        ours, _ = _spike_steps(bs.Izhikevich(), 10.0)
    reference = _numpy_euler_spike_steps(0.02, 0.2, -65.0, 8.0, 10.0, DT, STEPS)
    np.testing.assert_array_equal(ours, reference)
    rate_hz = len(reference) / (STEPS * DT) * 1e3
    assert 10.0 < rate_hz < 40.0  # tonic regular spiking at I = 10


def test_fast_spiking_fires_faster_than_regular_spiking():
    fast = bs.Izhikevich(recovery_rate=0.1, recovery_increment=2.0)  # Izhikevich's FS cell
    rs_steps, _ = _spike_steps(bs.Izhikevich(), 10.0)
    fs_steps, _ = _spike_steps(fast, 10.0)
    reference = _numpy_euler_spike_steps(0.1, 0.2, -65.0, 2.0, 10.0, DT, STEPS)
    assert abs(len(fs_steps) - len(reference)) <= 1
    assert len(fs_steps) > 2 * len(rs_steps)


def test_tsit5_agrees_with_euler_in_rate():
    euler, _ = _spike_steps(bs.Izhikevich(), 10.0, dt=0.01, steps=100_000)
    tsit5, _ = _spike_steps(bs.Izhikevich(), 10.0, dt=0.01, steps=100_000, solver=diffrax.Tsit5())
    assert abs(len(euler) - len(tsit5)) <= 1


def test_input_is_divided_by_c_m():
    _, v_small = _spike_steps(bs.Izhikevich(), 10.0, steps=2000)
    _, v_scaled = _spike_steps(bs.Izhikevich(c_m=100.0), 1000.0, steps=2000)
    np.testing.assert_allclose(v_scaled, v_small, rtol=1e-4, atol=1e-3)


def test_reset_sets_v_to_c_and_adds_d_to_u():
    izh = bs.Izhikevich()
    y = bs.IzhikevichState(v=jnp.array([35.0, 10.0]), u=jnp.array([-5.0, -5.0]))
    spiked = izh.spike(y)
    np.testing.assert_array_equal(spiked, [1.0, 0.0])
    after = izh.reset(y, spiked)
    np.testing.assert_array_equal(after.v, [-65.0, 10.0])
    np.testing.assert_array_equal(after.u, [3.0, -5.0])


def test_grad_through_parameters_under_jit_and_vmap():
    def final_u(a):
        izh = bs.Izhikevich(recovery_rate=a)
        stepper = bs.DiffraxStepper(diffrax.Euler())

        def body(y, _):
            y, _ = stepper.step(izh, 0.0, DT, y, 10.0, None)
            return izh.reset(y, izh.spike(y)), None

        y, _ = jax.lax.scan(body, izh.init_state(1, key=jr.key(0)), None, length=500)
        return y.u.sum()

    grads = jax.jit(jax.vmap(jax.grad(final_u)))(jnp.array([0.01, 0.02, 0.05]))
    assert jnp.isfinite(grads).all() and jnp.all(grads != 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"recovery_rate": 0.0}, "`recovery_rate` must be > 0 1/ms; got 0.0"),
        ({"c_m": -1.0}, "`c_m` must be > 0 pF; got -1.0"),
        ({"v_reset": 40.0}, "`v_reset` must be < `v_threshold` mV"),
    ],
)
def test_rejects_invalid_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bs.Izhikevich(**kwargs)


def test_chattering_cell_starts_off_its_saddle_point():
    """CH (c = -50 mV, b = 0.2): its reset point is a fixed point of the field, so a cell
    started there never moves; from the paper's -65 mV it settles to rest without input."""
    ch = bs.Izhikevich(v_reset=-50.0, recovery_increment=2.0)
    y = ch.init_state(1, key=jr.key(0))
    assert float(y.v[0]) == -65.0 and float(y.u[0]) == pytest.approx(-13.0)
    field = ch.vector_field(0.0, y, jnp.zeros(1))
    assert abs(float(field.v[0])) > 0.1
