import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs

LINEAR_MODELS = [(bs.LIF(), 300.0), (bs.ALIF(), 300.0), (bs.HodgkinHuxley(), 500.0)]
LINEAR_IDS = ["LIF", "ALIF", "HodgkinHuxley"]


def test_exponential_decay_is_exact_over_one_large_step():
    synapse = bs.ExponentialSynapse(tau=5.0)
    y0 = bs.ExponentialSynapseState(g=jnp.array([3.0, 0.5]))
    y1, state = bs.ExponentialEuler().step(synapse, 0.0, 37.0, y0, None, None)
    assert state is None
    np.testing.assert_allclose(y1.g, np.array([3.0, 0.5]) * np.exp(-37.0 / 5.0), rtol=1e-6)


def test_lif_subthreshold_is_exact_over_one_large_step_with_conductance_input():
    lif = bs.LIF(v_threshold=1e3)  # never fires
    g_syn, e_syn, current = 15.0, 0.0, 100.0  # nS, mV, pA
    drive = bs.SynapticInput(jnp.zeros(1), jnp.zeros(1)).add_conductance(g_syn, e_syn)
    drive = drive.add_current(current)
    y0 = bs.LIFState(v=jnp.array([-70.0]), refractory=jnp.zeros(1))
    y1, _ = bs.ExponentialEuler().step(lif, 0.0, 25.0, y0, drive, None)
    g_total = lif.g_leak + g_syn
    v_inf = (lif.g_leak * lif.e_leak + g_syn * e_syn + current) / g_total
    exact = v_inf + (-70.0 - v_inf) * np.exp(-25.0 * g_total / lif.c_m)
    np.testing.assert_allclose(y1.v, [exact], rtol=1e-6)


def test_refractory_countdown_and_threshold_decay_are_exact():
    alif = bs.ALIF(tau_adaptation=150.0)
    y0 = bs.ALIFState(
        v=jnp.array([-60.0]), adaptation=jnp.array([4.0]), refractory=jnp.array([2.0])
    )
    y1, _ = bs.ExponentialEuler().step(alif, 0.0, 0.5, y0, 300.0, None)
    np.testing.assert_allclose(y1.refractory, [1.5], rtol=1e-6)  # a = 0: the b * dt limit
    np.testing.assert_array_equal(y1.v, [-60.0])  # held while refractory
    np.testing.assert_allclose(y1.adaptation, [4.0 * np.exp(-0.5 / 150.0)], rtol=1e-6)


def test_hodgkin_huxley_gates_relax_exactly_with_v_clamped():
    # With v fixed, each gate is x_inf + (x0 - x_inf) exp(-(alpha + beta) dt).
    hh = bs.HodgkinHuxley()
    y0 = bs.HodgkinHuxleyState(
        v=jnp.array([-30.0]),
        m=jnp.array([0.1]),
        h=jnp.array([0.6]),
        n=jnp.array([0.3]),
        above=jnp.zeros(1),
    )
    y1, _ = bs.ExponentialEuler().step(hh, 0.0, 0.3, y0, None, None)
    alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n = (float(r[0]) for r in hh.rates(y0.v))
    for gate, x0, alpha, beta in [
        ("m", 0.1, alpha_m, beta_m),
        ("h", 0.6, alpha_h, beta_h),
        ("n", 0.3, alpha_n, beta_n),
    ]:
        x_inf = alpha / (alpha + beta)
        expected = x_inf + (x0 - x_inf) * np.exp(-(alpha + beta) * 0.3)
        np.testing.assert_allclose(getattr(y1, gate), [expected], rtol=1e-5)


@pytest.mark.parametrize("neuron", [bs.AdEx(), bs.Izhikevich()], ids=["AdEx", "Izhikevich"])
def test_rejects_nonlinear_models_and_names_the_fix(neuron):
    with pytest.raises(TypeError, match="not. Use a diffrax solver instead"):
        bs.ExponentialEuler().check_model(neuron)


@pytest.mark.parametrize("neuron, current", LINEAR_MODELS, ids=LINEAR_IDS)
def test_accepts_linear_models(neuron, current):
    # `check_model` accepts it, and a tiny step agrees with Euler on the vector field to O(dt^2)
    stepper = bs.ExponentialEuler()
    assert stepper.check_model(neuron) is None
    with jax.enable_x64(True):
        y = jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float64), neuron.init_state(3, key=jr.key(0)))
        dt = 1e-6
        stepped, _ = stepper.step(neuron, 0.0, dt, y, jnp.asarray(current, jnp.float64), None)
        rate = neuron.vector_field(0.0, y, jnp.asarray(current, jnp.float64))
        for s_, y_, f_ in zip(*(jax.tree_util.tree_leaves(x) for x in (stepped, y, rate)), strict=True):
            np.testing.assert_allclose((s_ - y_) / dt, f_, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("neuron, current", LINEAR_MODELS, ids=LINEAR_IDS)
def test_every_linear_model_runs_and_fires(neuron, current):
    dt = 0.01 if isinstance(neuron, bs.HodgkinHuxley) else 0.1
    y0 = neuron.init_state(4, key=jr.key(0))
    drive = jnp.full(4, current)

    @jax.jit
    def run(y0):
        def body(y, _):
            y, _ = bs.ExponentialEuler().step(neuron, 0.0, dt, y, drive, None)
            spiked = neuron.spike(y)
            return neuron.reset(y, spiked), spiked

        return jax.lax.scan(body, y0, None, length=int(round(100.0 / dt)))

    y, spikes = run(y0)
    assert all(jnp.isfinite(leaf).all() for leaf in jax.tree_util.tree_leaves(y))
    assert jnp.all(spikes.sum(axis=0) >= 1)
    assert set(np.unique(np.asarray(spikes))) <= {0.0, 1.0}
