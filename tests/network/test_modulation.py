"""Modulation couplings (`ScaleRelease`, `ScaleLearningRate`) and slow clocks
(`Population(every=k)`): each checked against the closed-form effect it must have."""

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs

DT = 0.1


def _release_network(modulations, n_pre=2, weight=2.0, n_mod=1):
    return bs.Network(
        [
            bs.Population("pre", n_pre, bs.SpikeSource()),
            bs.Population("post", n_pre, bs.LIF()),
            bs.Population("M", n_mod, bs.ValueSource()),
        ],
        [bs.Projection("pre", "post", bs.OneToOne(weight), bs.ExponentialSynapse(tau=1e12), bs.CUBA())],
        modulations=modulations,
    )


def test_release_is_scaled_by_the_source_output_of_the_previous_step():
    n_steps = 40
    spikes = np.zeros((n_steps, 2), np.float32)
    spikes[5::5] = 1.0
    level = np.linspace(0.0, 3.0, n_steps, dtype=np.float32)[:, None]
    network = _release_network([bs.ScaleRelease("M", "pre->post", baseline=1.0, gain=0.5)])
    monitor = bs.Monitor("g", lambda s: s.projections["pre->post"].synapse.g)
    inputs = {"pre": jnp.asarray(spikes), "M": jnp.asarray(level)}
    result = bs.run(network, n_steps * DT, DT, key=jr.key(0), inputs=inputs, monitors=[monitor])
    jumps = np.diff(np.asarray(result.traces["g"], np.float64), axis=0, prepend=0.0)[:, 0]
    arrival = np.arange(6, n_steps, 5)  # one step of delay
    want = np.zeros(n_steps)
    want[arrival] = 2.0 * (1.0 + 0.5 * level[arrival - 1, 0])  # the modulator's previous step
    np.testing.assert_allclose(jumps, want, rtol=1e-5, atol=1e-5)


def test_each_presynaptic_neuron_takes_the_factor_of_its_domain():
    spikes = np.zeros((10, 2), np.float32)
    spikes[3] = 1.0
    level = np.tile(np.array([[1.0, 4.0]], np.float32), (10, 1))
    coupling = bs.ScaleRelease("M", "pre->post", domain=[1, 0], baseline=0.0, gain=1.0)
    network = _release_network([coupling], n_mod=2)
    inputs = {"pre": jnp.asarray(spikes), "M": jnp.asarray(level)}
    result = bs.run(network, 1.0, DT, key=jr.key(0), inputs=inputs)
    g = np.asarray(result.final_state.projections["pre->post"].synapse.g)
    np.testing.assert_allclose(g, [2.0 * 4.0, 2.0 * 1.0], rtol=1e-5)


def _pairing(learning_rate_level, domain=None, k=3):
    rule = bs.PairSTDP(a_plus=0.01, a_minus=0.0, tau_plus=20.0)
    network = bs.Network(
        [
            bs.Population("pre", k, bs.SpikeSource()),
            bs.Population("post", k, bs.LIF(t_ref=100.0)),
            bs.Population("M", 1 if domain is None else k, bs.ValueSource()),
        ],
        [bs.Projection("pre", "post", bs.OneToOne(0.5), bs.ExponentialSynapse(), bs.CUBA(), plasticity=rule)],
        [bs.StreamedCurrent("post", "kick")],
        modulations=[bs.ScaleLearningRate("M", "pre->post", domain=domain)],
    )
    n_steps = 300
    pre = np.zeros((n_steps, k), np.float32)
    pre[99] = 1.0  # arrives at step 100
    kick = np.zeros((n_steps, k), np.float32)
    kick[150] = 1e5
    level = np.broadcast_to(
        np.asarray(learning_rate_level, np.float32), (n_steps, 1 if domain is None else k)
    )
    inputs = {"pre": jnp.asarray(pre), "kick": jnp.asarray(kick), "M": jnp.asarray(level)}
    result = bs.run(network, n_steps * DT, DT, key=jr.key(0), inputs=inputs)
    return np.asarray(result.final_state.projections["pre->post"].weights).ravel() - 0.5


def test_learning_rate_scales_every_weight_change():
    unit = 0.01 * np.exp(-50 * DT / 20.0)
    np.testing.assert_allclose(_pairing(1.0), unit, rtol=1e-4)
    np.testing.assert_allclose(_pairing(2.5), 2.5 * unit, rtol=1e-4)
    np.testing.assert_array_equal(_pairing(0.0), 0.0)  # gated off: no learning
    np.testing.assert_allclose(_pairing([0.0, 1.0, 3.0], domain=[0, 1, 2]), [0.0, unit, 3 * unit], rtol=1e-4)


def test_bad_couplings_are_refused_before_compiling():
    with pytest.raises(ValueError, match="unknown source population `X`"):
        _release_network([bs.ScaleRelease("X", "pre->post")])
    with pytest.raises(ValueError, match="unknown projection `a->b`"):
        _release_network([bs.ScaleRelease("M", "a->b")])
    with pytest.raises(ValueError, match="no plasticity rule"):
        _release_network([bs.ScaleLearningRate("M", "pre->post")])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        _release_network([bs.ScaleRelease("M", "pre->post", domain=[0, 0, 0])])
    with pytest.raises(ValueError, match=r"\[0, 0\]"):
        _release_network([bs.ScaleRelease("M", "pre->post", domain=[0, 1])])
    with pytest.raises(TypeError, match="couplings"):
        _release_network(["not a coupling"])


def test_fused_engine_refuses_modulation_and_slow_clocks():
    lif = bs.LIF()
    for populations, modulations, reason in (
        (
            [bs.Population("E", 10, lif), bs.Population("M", 1, bs.RateUnit())],
            [bs.ScaleRelease("M", "E->E")],
            "modulations (ScaleRelease)",
        ),
        ([bs.Population("E", 10, lif, every=5)], [], "slow clock (every 5 steps)"),
    ):
        network = bs.Network(
            populations,
            [
                bs.Projection(
                    "E", "E", bs.FixedProbability(0.3, weight=1.0), bs.ExponentialSynapse(), bs.COBA(0.0)
                )
            ],
            modulations=modulations,
            key=jr.key(0),
        )
        plan, why = bs.fused_plan(network)
        assert plan is None and reason in why, why


def test_slow_clock_equals_the_same_population_stepped_at_the_long_step():
    """A `RateUnit` on a clock of 10 steps under a constant drive, sampled at its updates,
    equals the same unit stepped every step at 10 x dt (exponential Euler is exact here)."""

    def network(every):
        return bs.Network(
            [bs.Population("R", 3, bs.RateUnit(tau=5.0), every=every)],
            inputs=[bs.ConstantCurrent("R", jnp.array([-10.0, 0.0, 20.0]))],
        )

    slow = bs.run(network(10), 20.0, DT, key=jr.key(0))
    fast = bs.run(network(1), 20.0, 10 * DT, key=jr.key(0))
    rates = np.asarray(slow.outputs["R"])
    np.testing.assert_allclose(rates[::10], np.asarray(fast.outputs["R"]), rtol=1e-5)
    held = rates.reshape(20, 10, 3)
    np.testing.assert_array_equal(held, np.broadcast_to(held[:, :1], held.shape))  # held between updates


def test_slow_spiking_population_emits_only_on_its_clock():
    network = bs.Network(
        [bs.Population("E", 5, bs.LIF(t_ref=0.0), every=4)], inputs=[bs.ConstantCurrent("E", 2000.0)]
    )
    spikes = np.asarray(bs.run(network, 50.0, DT, key=jr.key(0)).outputs["E"])
    assert spikes.sum() > 0 and spikes[np.arange(500) % 4 != 0].sum() == 0


def test_bad_clocks_are_refused():
    with pytest.raises(ValueError, match="every"):
        bs.Population("E", 5, bs.LIF(), every=0)
    with pytest.raises(ValueError, match="data source"):
        bs.Population("S", 5, bs.SpikeSource(), every=2)


def test_adaptive_stepper_meets_its_tolerance_on_a_closed_form():
    """A rate unit under constant drive: r(t) = F (1 - exp(-t / tau)) exactly."""
    with jax.enable_x64(True):
        unit = bs.RateUnit(tau=7.0, r_max=50.0, theta=0.0, sigma=10.0)
        stepper = bs.AdaptiveStepper(diffrax.Tsit5(), rtol=1e-10, atol=1e-12)
        network = bs.Network(
            [bs.Population("R", 1, unit, solver=stepper, every=50)], inputs=[bs.ConstantCurrent("R", 15.0)]
        )
        rates = np.asarray(bs.run(network, 100.0, 0.1, key=jr.key(0)).outputs["R"])[::50, 0]
        t = 5.0 * np.arange(1, 21)
        f = 50.0 / (1.0 + np.exp(-1.5))
        np.testing.assert_allclose(rates, f * (1 - np.exp(-t / 7.0)), rtol=1e-8)
    with pytest.raises(TypeError, match="adaptive"):
        bs.AdaptiveStepper(diffrax.Euler())
