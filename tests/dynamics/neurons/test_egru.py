"""Tests of brainsim/dynamics/neurons/egru.py: the EGRU unit's map, its gate input and outputs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.neurons import EGRUUnit, EGRUUnitState, Gate, GateInput


def _steps(unit, drive, n_steps, n):
    def body(y, _):
        y = unit.update(y, drive)
        return y, y

    return jax.lax.scan(body, unit.init_state(n), None, length=n_steps)[1]


def test_exact_event_count_of_a_hand_built_unit():
    # no drive: u = sigmoid(0) = 1/2 and z = 0.8, so c_t = 0.4 + c'_{t-1} / 2 with an event
    # (and c' = c - 0.5) whenever c_t > 0.5
    n_steps, z, theta = 40, 0.8, 0.5
    with jax.enable_x64(True):
        unit = EGRUUnit(bias_candidate=math.atanh(z), threshold=theta)
        trace = _steps(unit, None, n_steps, 1)
        e, y = np.asarray(trace.e[:, 0]), np.asarray(trace.y[:, 0])
    c, expected, outputs = 0.0, [], []
    for _ in range(n_steps):
        c = 0.5 * z + 0.5 * c
        expected.append(c > theta)
        outputs.append(c if c > theta else 0.0)
        c -= theta * (c > theta)
    assert int(e.sum()) == sum(expected) > 0
    np.testing.assert_array_equal(e > 0, expected)
    np.testing.assert_allclose(y, outputs, rtol=1e-12)


def test_no_events_when_the_threshold_exceeds_the_state_range():
    unit = EGRUUnit(threshold=1.0)  # |c| < 1: never crosses
    drive = GateInput(*(jnp.linspace(-20.0, 20.0, 7) for _ in range(5)))
    trace = _steps(unit, drive, 30, 7)
    assert float(trace.e.sum()) == 0.0 and float(jnp.abs(trace.y).sum()) == 0.0


def test_gates_route_each_drive():
    zero = jnp.zeros(3)
    drive = GateInput(zero, zero, zero, zero, zero)
    value = jnp.array([1.0, 2.0, 3.0])
    for name in ("update", "reset", "candidate_recurrent"):
        routed = Gate(name).apply(drive, value)
        np.testing.assert_array_equal(getattr(routed, name), value)
        assert float(routed.current_at_zero.sum()) == 0.0
    np.testing.assert_array_equal(Gate("candidate").apply(drive, value).current_at_zero, value)
    np.testing.assert_array_equal(bs.CUBA().apply(drive, value).current_at_zero, value)
    with pytest.raises(TypeError, match="no membrane potential"):
        bs.COBA(e_rev=0.0).apply(drive, value)


def test_reset_gate_scales_only_the_recurrent_candidate_drive():
    unit = EGRUUnit(bias_update=50.0, threshold=2.0)  # u = 1: c = z, no events
    zero = jnp.zeros(1)
    y0 = EGRUUnitState(zero, zero, zero)
    closed = unit.update(y0, GateInput(zero + 0.3, zero, zero, zero - 50.0, zero + 1.0))  # r = 0
    opened = unit.update(y0, GateInput(zero + 0.3, zero, zero, zero + 50.0, zero + 1.0))  # r = 1
    np.testing.assert_allclose(closed.c, np.tanh(0.3), rtol=1e-6)
    np.testing.assert_allclose(opened.c, np.tanh(1.3), rtol=1e-6)


def test_surrogate_gradient_reaches_the_threshold():
    def output(theta):
        unit = EGRUUnit(bias_update=50.0, bias_candidate=math.atanh(0.5), threshold=theta)
        return unit.update(unit.init_state(1), None).y.sum()

    # y = c H(c - theta) with c = 0.5: dy/dtheta = -c * surrogate'(c - theta)
    grad = jax.grad(output)(0.45)
    surrogate = float(bs.SuperSpike(slope=10.0).derivative(jnp.array(0.05)))
    assert float(grad) == pytest.approx(-0.5 * surrogate, rel=1e-5)


def test_bad_parameters_and_solver():
    with pytest.raises(ValueError, match="`gate` must be one of"):
        Gate("forget")
    with pytest.raises(TypeError, match="surrogate"):
        EGRUUnit(surrogate="fast sigmoid")
    with pytest.raises(TypeError, match="DiscreteTimeUpdate"):
        EGRUUnit().vector_field(0.0, EGRUUnit().init_state(2), None)
    with pytest.raises(TypeError, match="`DiscreteTimeUpdate` steps discrete-time units"):
        bs.Population("lif", 2, bs.LIF(), solver=bs.train.DiscreteTimeUpdate())
