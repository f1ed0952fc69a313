"""Tests of `brainsim/dynamics/neurons/two_compartment.py`: shapes, the analytic steady state and
the attenuation through the coupling conductance, the apical input's shift of the basal
rheobase (in a `Network`, apical input through `Apical` projections), gradients against finite
differences, and bad parameters."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.base import exponential_euler_step

NEURON = bs.TwoCompartmentLIF(g_soma=10.0, g_dendrite=5.0, g_coupling=15.0, c_soma=200.0, c_dendrite=100.0)


def _steady_by_solve(neuron, basal, apical):
    """u = V - E_L from the 2x2 conductance system G u = I (independent of the model's formula)."""
    gs, gd, gc = neuron.g_soma, neuron.g_dendrite, neuron.g_coupling
    matrix = np.array([[gs + gc, -gc], [-gc, gd + gc]])
    return np.linalg.solve(matrix, np.array([basal, apical]))


def _relax(neuron, basal, apical, steps=4000, dt=0.1):
    """Sub-threshold relaxation under constant currents (pA), from rest."""
    drive = bs.DendriticInput(*(jnp.full(1, c) for c in (basal, 0.0, apical, 0.0)))

    def body(y, _):
        return exponential_euler_step(neuron, 0.0, dt, y, drive), None

    rest = jnp.full(1, neuron.e_leak)
    y0 = bs.TwoCompartmentLIFState(v=rest, v_dendrite=rest, refractory=jnp.zeros(1))
    y, _ = jax.lax.scan(body, y0, None, length=steps)
    return float(y.v[0]), float(y.v_dendrite[0])


def test_shapes_and_zero_input():
    y = NEURON.init_state(7, key=jr.key(0))
    assert y.v.shape == y.v_dendrite.shape == y.refractory.shape == (7,)
    drive = NEURON.zero_input(7, jnp.float32)
    assert isinstance(drive, bs.DendriticInput) and drive.apical_current_at_zero.shape == (7,)
    a, b = NEURON.linear_coefficients(0.0, y, drive)
    assert a.v.shape == b.v_dendrite.shape == (7,)
    assert NEURON.spike(y).shape == (7,)


@pytest.mark.parametrize(("basal", "apical"), [(100.0, 0.0), (0.0, 150.0), (80.0, -60.0)])
def test_steady_state_is_the_analytic_one(basal, apical):
    with jax.enable_x64(True):
        neuron = bs.TwoCompartmentLIF(g_coupling=15.0, g_dendrite=5.0, v_threshold=100.0)  # no spikes
        u_s, u_d = _steady_by_solve(neuron, basal, apical)
        v_s, v_d = _relax(neuron, basal, apical)
        np.testing.assert_allclose(
            [v_s - neuron.e_leak, v_d - neuron.e_leak],
            [u_s, u_d],
            atol=1e-6,  # 400 ms of relaxation
        )
        formula = neuron.steady_state(jnp.asarray(basal), jnp.asarray(apical))
        np.testing.assert_allclose(
            [float(formula[0]), float(formula[1])], [neuron.e_leak + u_s, neuron.e_leak + u_d], rtol=1e-12
        )


@pytest.mark.parametrize("g_coupling", [0.0, 5.0, 40.0])
def test_attenuation_through_the_coupling_conductance(g_coupling):
    """Apical input alone: u_s / u_d = g_c / (g_s + g_c) (Urbanczik & Senn's dendritic
    prediction); basal input alone: u_d / u_s = g_c / (g_d + g_c); g_c = 0 decouples them."""
    with jax.enable_x64(True):
        neuron = bs.TwoCompartmentLIF(g_soma=10.0, g_dendrite=5.0, g_coupling=g_coupling, v_threshold=100.0)
        v_s, v_d = _relax(neuron, 0.0, 100.0)
        np.testing.assert_allclose(
            (v_s - neuron.e_leak) / (v_d - neuron.e_leak), g_coupling / (10.0 + g_coupling), atol=1e-7
        )
        v_s, v_d = _relax(neuron, 100.0, 0.0)
        np.testing.assert_allclose(
            (v_d - neuron.e_leak) / (v_s - neuron.e_leak), g_coupling / (5.0 + g_coupling), atol=1e-7
        )


def _network_spike_count(neuron, basal, apical, t_stop=300.0):
    """One neuron in a `Network`: constant basal current (`ConstantCurrent`) and a constant
    apical current through an `Apical` projection from a value source (one step delayed)."""
    rest = jnp.full(1, neuron.e_leak)
    start = bs.TwoCompartmentLIFState(v=rest, v_dendrite=rest, refractory=jnp.zeros(1))
    net = bs.Network(
        [bs.Population("top", 1, bs.ValueSource()), bs.Population("pyr", 1, neuron, initial_state=start)],
        [
            bs.Projection(
                "top", "pyr", bs.Dense(jnp.ones((1, 1))), bs.InstantaneousSynapse(), bs.Apical(bs.CUBA())
            )
        ],
        [bs.ConstantCurrent("pyr", basal)],
        key=jr.key(0),
    )
    steps = int(t_stop / 0.1)
    result = bs.run(net, t_stop, 0.1, key=jr.key(0), inputs={"top": jnp.full((steps, 1), apical)})
    return int(np.asarray(result.outputs["pyr"]).sum())


def test_apical_input_lowers_the_basal_rheobase_by_the_attenuated_current():
    """The basal current at which V_s reaches threshold falls by g_c I_a / (g_d + g_c) when the
    dendrite receives I_a: just below the shifted rheobase the soma is silent, just above it
    fires, and more apical current raises the rate at a fixed basal drive."""
    neuron = NEURON
    theta = neuron.v_threshold - neuron.e_leak
    gs, gd, gc = neuron.g_soma, neuron.g_dendrite, neuron.g_coupling
    rheobase_alone = theta * ((gs + gc) * (gd + gc) - gc * gc) / (gd + gc)
    apical = 120.0
    rheobase = rheobase_alone - gc * apical / (gd + gc)
    u_s, _ = _steady_by_solve(neuron, rheobase, apical)
    np.testing.assert_allclose(u_s, theta)  # the reference is consistent
    assert _network_spike_count(neuron, 0.97 * rheobase, apical) == 0
    assert _network_spike_count(neuron, 1.03 * rheobase, apical) > 0
    assert _network_spike_count(neuron, 1.03 * rheobase, 0.0) == 0  # without top-down input: silent
    assert _network_spike_count(neuron, 1.03 * rheobase, 2 * apical) > _network_spike_count(
        neuron, 1.03 * rheobase, apical
    )


def test_gradients_of_the_membrane_trajectory_equal_finite_differences():
    """float64, sub-threshold: d/d(g_c, I_a) of the summed somatic potential equals central
    differences (the coupling carries the apical current's gradient to the soma)."""
    with jax.enable_x64(True):

        def loss(g_coupling, apical):
            neuron = bs.TwoCompartmentLIF(g_coupling=g_coupling, v_threshold=100.0)
            drive = bs.DendriticInput(
                jnp.full(2, 50.0), jnp.zeros(2), jnp.full(2, 1.0) * apical, jnp.zeros(2)
            )

            def body(y, _):
                y = exponential_euler_step(neuron, 0.0, 0.5, y, drive)
                return y, y.v

            rest = jnp.full(2, neuron.e_leak)
            y0 = bs.TwoCompartmentLIFState(v=rest, v_dendrite=rest, refractory=jnp.zeros(2))
            _, v = jax.lax.scan(body, y0, None, length=100)
            return jnp.sum(v)

        args = (jnp.asarray(12.0), jnp.asarray(80.0))
        grads = jax.grad(loss, argnums=(0, 1))(*args)
        eps = 1e-4
        for i in range(2):
            up = list(args)
            down = list(args)
            up[i] = up[i] + eps
            down[i] = down[i] - eps
            numeric = (loss(*up) - loss(*down)) / (2 * eps)
            assert abs(float(grads[i])) > 1e-3
            np.testing.assert_allclose(float(grads[i]), float(numeric), rtol=1e-6)


def test_surrogate_gradient_reaches_the_apical_current():
    """Through a spike (surrogate derivative), the spike count's gradient with respect to the
    apical current is finite and positive."""

    def count(apical):
        drive = bs.DendriticInput(jnp.full(1, 400.0), jnp.zeros(1), jnp.full(1, 1.0) * apical, jnp.zeros(1))

        def body(y, _):
            y = exponential_euler_step(NEURON, 0.0, 0.1, y, drive)
            fired = NEURON.spike(y)
            return NEURON.reset(y, jax.lax.stop_gradient(fired)), fired

        rest = jnp.full(1, NEURON.e_leak)
        y0 = bs.TwoCompartmentLIFState(v=rest, v_dendrite=rest, refractory=jnp.zeros(1))
        _, spikes = jax.lax.scan(body, y0, None, length=2000)
        return jnp.sum(spikes)

    grad = jax.grad(count)(jnp.asarray(200.0))
    assert np.isfinite(float(grad)) and float(grad) > 0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"g_coupling": -1.0}, "g_coupling"),
        ({"c_dendrite": 0.0}, "c_dendrite"),
        ({"g_dendrite": -2.0}, "g_dendrite"),
        ({"c_soma": -1.0}, "c_soma"),
        ({"v_reset": -40.0}, "v_reset"),
        ({"t_ref": -1.0}, "t_ref"),
    ],
)
def test_bad_parameters_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        bs.TwoCompartmentLIF(**kwargs)
