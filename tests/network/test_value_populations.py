"""Populations that emit values (rate units) next to spiking ones, coupled both ways."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs


def test_rate_unit_relaxes_exactly_to_its_gain():
    # tau dr/dt = -r + F(I) with constant I: r(t) = F(I) (1 - exp(-t / tau)) from r(0) = 0.
    unit = bs.RateUnit(tau=10.0, r_max=80.0, theta=100.0, sigma=20.0)
    net = bs.Network([bs.Population("R", 3, unit)], inputs=[bs.ConstantCurrent("R", 130.0)])
    result = bs.simulate(net, 50.0, 0.1, key=jr.key(0))
    t = result.value_times()
    expected = 80.0 / (1.0 + np.exp(-(130.0 - 100.0) / 20.0)) * (1.0 - np.exp(-t / 10.0))
    np.testing.assert_allclose(result.values["R"][:, 0], expected, rtol=1e-5, atol=1e-4)
    with pytest.raises(KeyError, match="a value population's output is in `values`"):
        result.rates["R"]
    assert "R" not in result.spikes


def test_wilson_cowan_pair_settles_on_its_self_consistent_fixed_point():
    e, i = (
        bs.RateUnit(tau=10.0, r_max=100.0, theta=50.0, sigma=15.0),
        bs.RateUnit(tau=5.0, r_max=100.0, theta=60.0, sigma=15.0),
    )
    w = {("E", "E"): 1.2, ("E", "I"): 1.5, ("I", "E"): -2.0, ("I", "I"): -0.5}  # pA per Hz
    net = bs.Network(
        [bs.Population("E", 1, e), bs.Population("I", 1, i)],
        [
            bs.Projection(a, b, bs.Dense(jnp.full((1, 1), weight)), bs.InstantaneousSynapse(), bs.CUBA())
            for (a, b), weight in w.items()
        ],
        [bs.ConstantCurrent("E", 40.0), bs.ConstantCurrent("I", 10.0)],
    )
    result = bs.simulate(net, 500.0, 0.1, key=jr.key(0), value_every=10)
    r_e, r_i = float(result.values["E"][-1, 0]), float(result.values["I"][-1, 0])
    # at the fixed point r = F(sum_k w_k r_k + I), with the one-step delay irrelevant at rest
    np.testing.assert_allclose(
        r_e, float(e.gain(jnp.array(w["E", "E"] * r_e + w["I", "E"] * r_i + 40.0))), rtol=1e-4
    )
    np.testing.assert_allclose(
        r_i, float(i.gain(jnp.array(w["E", "I"] * r_e + w["I", "I"] * r_i + 10.0))), rtol=1e-4
    )
    assert 1.0 < r_e < 99.0 and 1.0 < r_i < 99.0
    assert result.overflow_steps["E->I"] == 0  # dense activity is not overflow


def _coupled(rate_to_spikes: float):
    """Spiking S (LIF, Poisson-driven) -> rate unit R (exponential synapse, CUBA) and R -> S
    (dense, instantaneous, CUBA: I = W r)."""
    n = 100
    return bs.Network(
        [
            bs.Population("S", n, bs.LIF()),
            bs.Population("R", 1, bs.RateUnit(tau=20.0, r_max=50.0, theta=200.0, sigma=50.0)),
        ],
        [
            bs.Projection(
                "S", "R", bs.Dense(jnp.full((n, 1), 2.0)), bs.ExponentialSynapse(tau=5.0), bs.CUBA()
            ),
            bs.Projection(
                "R", "S", bs.Dense(jnp.full((1, n), rate_to_spikes)), bs.InstantaneousSynapse(), bs.CUBA()
            ),
        ],
        [bs.PoissonInput("S", 200, 20.0, 3.0, bs.ExponentialSynapse(tau=5.0), bs.COBA(e_rev=0.0))],
    )


def test_rate_population_driving_and_driven_by_a_spiking_population():
    uncoupled = bs.simulate(_coupled(0.0), 1000.0, 0.1, key=jr.key(1), value_every=10)
    coupled = bs.simulate(_coupled(5.0), 1000.0, 0.1, key=jr.key(1), value_every=10)
    # spikes -> rate: the unit's rate follows F(mean synaptic current), the current being
    # (weight pA) x (n spikes per ms) x (tau ms) for an exponential synapse
    for result in (uncoupled, coupled):
        spikes_per_ms = np.asarray(result.spike_counts["S"], float)[2000:].sum() / 800.0
        mean_current = 2.0 * spikes_per_ms * 5.0
        gain = float(bs.RateUnit(tau=20.0, r_max=50.0, theta=200.0, sigma=50.0).gain(jnp.array(mean_current)))
        r = result.values["R"][200:, 0].mean()
        np.testing.assert_allclose(r, gain, rtol=0.1)
    # rate -> spikes: I = W r adds a depolarising current, so S fires more
    assert coupled.rates["S"] > uncoupled.rates["S"] + 1.0
    assert coupled.values["R"][-100:].mean() > uncoupled.values["R"][-100:].mean()


def test_coba_onto_a_rate_unit_is_rejected():
    with pytest.raises(ValueError, match="`COBA` output needs a membrane potential"):
        bs.Network(
            [bs.Population("S", 2, bs.LIF()), bs.Population("R", 2, bs.RateUnit())],
            [
                bs.Projection(
                    "S", "R", bs.Dense(jnp.ones((2, 2))), bs.ExponentialSynapse(), bs.COBA(e_rev=0.0)
                )
            ],
        )


def test_recording_a_population_of_the_wrong_kind_is_an_error():
    net = bs.Network([bs.Population("S", 2, bs.LIF()), bs.Population("R", 1, bs.RateUnit())])
    with pytest.raises(
        ValueError, match="`record_spikes`: population `R` emits values, not spikes; use `record_values`"
    ):
        bs.simulate(net, 1.0, key=jr.key(0), record_spikes=("R",))
    with pytest.raises(
        ValueError, match="`record_values`: population `S` emits spikes, not values; use `record_spikes`"
    ):
        bs.simulate(net, 1.0, key=jr.key(0), record_values=("S",))
    result = bs.simulate(net, 1.0, key=jr.key(0), record_spikes=("S",), record_values=("R",))
    assert result.values["R"].shape == (10, 1) and "S" in result.spikes
