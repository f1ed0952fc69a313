"""Tests of `brainsim/simulate.py` and `brainsim/result.py`."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs


def _single_lif(current=300.0, **lif):
    neuron = bs.LIF(**{"e_leak": -70.0, "t_ref": 2.0, **lif})
    state = bs.LIFState(v=jnp.full(1, -70.0), refractory=jnp.zeros(1))
    return bs.Network(
        [bs.Population("P", 1, neuron, initial_state=state)],
        inputs=[bs.ConstantCurrent("P", current)],
    )


def test_lif_interspike_interval_matches_analytic():
    current, dt = 300.0, 0.01
    net = _single_lif(current)
    result = bs.simulate(net, 200.0, dt, key=jr.key(0))
    times = result.spikes["P"].times
    tau_m, v_inf = 200.0 / 10.0, -70.0 + current / 10.0
    isi = 2.0 + tau_m * np.log((v_inf - (-60.0)) / (v_inf - (-50.0)))
    assert len(times) > 5
    np.testing.assert_allclose(np.diff(times), isi, atol=dt + 1e-6)


def test_same_key_same_spikes_and_chunking_invariance():
    net = bs.models.COBANetwork(n=400, key=jr.key(1))
    a = bs.simulate(net, 50.0, key=jr.key(2))
    b = bs.simulate(net, 50.0, key=jr.key(2), chunk_steps=37)
    for name in ("E", "I"):
        np.testing.assert_array_equal(a.spikes[name].times, b.spikes[name].times)
        np.testing.assert_array_equal(a.spikes[name].indices, b.spikes[name].indices)


def test_continuing_from_final_state_equals_one_run():
    net = bs.models.COBANetwork(n=400, key=jr.key(1))
    whole = bs.simulate(net, 40.0, key=jr.key(3))
    first = bs.simulate(net, 20.0, key=jr.key(3))
    second = bs.simulate(net, 20.0, key=jr.key(3), initial_state=first.final_state)
    np.testing.assert_allclose(
        np.concatenate([first.spikes["E"].times, second.spikes["E"].times]),
        whole.spikes["E"].times,
    )


def test_state_monitor_decimation_and_indices():
    net = _single_lif(100.0)
    result = bs.simulate(
        net, 10.0, 0.1, key=jr.key(0), monitors=[bs.StateMonitor("P", "v", indices=[0], every=5)]
    )
    assert result.traces["P.v"].shape == (20, 1)
    np.testing.assert_allclose(result.trace_times("P.v")[:2], [0.5, 1.0])


def test_nan_is_reported_with_population_and_step():
    neuron = bs.LIF()
    net = bs.Network(
        [bs.Population("P", 2, neuron)],
        inputs=[bs.CurrentFunction("P", lambda t: jnp.where(t > 0.45, jnp.nan, 0.0))],
    )
    with pytest.raises(bs.NonFiniteStateError, match=r"population `P`.*step 5 \(t = 0.5 ms\)"):
        bs.simulate(net, 1.0, key=jr.key(0), chunk_steps=3)
    with pytest.raises(ValueError, match="`current` must be finite"):
        bs.ConstantCurrent("P", float("inf"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"duration": 10.0, "dt": 0.0}, "`dt` must be > 0"),
        ({"duration": 10.0, "dt": -0.1}, "`dt` must be > 0"),
        ({"duration": 10.05, "dt": 0.1}, "multiple of `dt`"),
        ({"duration": 10.0, "dt": 0.1, "monitors": ["P.nope"]}, "unknown monitor variable"),
        ({"duration": 10.0, "dt": 0.1, "monitors": ["Q.v"]}, "unknown population or projection `Q`"),
        ({"duration": 10.0, "dt": 0.1, "monitors": ["nonsense"]}, "unknown monitor"),
    ],
)
def test_bad_arguments_raise_before_compilation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bs.simulate(_single_lif(), key=jr.key(0), **kwargs)


def test_rates_and_population_rate_agree():
    net = bs.models.COBANetwork(n=400, key=jr.key(1))
    result = bs.simulate(net, 100.0, key=jr.key(0))
    _, rate = result.population_rate("E", bin_ms=10.0)
    np.testing.assert_allclose(rate.mean(), float(result.rates["E"]), rtol=1e-6)
    assert len(result.spikes["E"].times) == int(result.spike_counts["E"].sum())


def test_progress_bar_runs(capsys):
    bs.simulate(_single_lif(), 5.0, key=jr.key(0), progress=True, chunk_steps=10)
    assert "simulate" in capsys.readouterr().err


def test_run_under_jit_gives_the_spikes_of_simulate():
    net = _single_lif(300.0)
    result = jax.jit(lambda n: bs.run(n, 50.0, 0.1, key=jr.key(0)))(net)
    eager = bs.simulate(net, 50.0, 0.1, key=jr.key(0))
    steps = np.flatnonzero(np.asarray(result.outputs["P"])[:, 0])
    assert steps.size >= 2
    np.testing.assert_array_equal(steps, eager.spike_steps["P"])
    np.testing.assert_array_equal(np.asarray(result.spike_counts["P"]), eager.spike_counts["P"])


def test_simulate_under_a_transformation_points_to_run():
    net = _single_lif(300.0)
    with pytest.raises(TypeError, match=r"bs.run"):
        jax.jit(lambda n: bs.simulate(n, 5.0, 0.1, key=jr.key(0)))(net)


def test_compiled_programs_stay_bounded_across_networks_of_changing_shapes():
    """A loop over networks of different sizes keeps at most `_COMPILED_KEPT` programs per
    chunk function (eqx.filter_jit would keep one per shape forever)."""
    import importlib

    simulate_module = importlib.import_module("brainsim.simulate")  # `bs.simulate` is the function

    for n in range(20, 20 + 7 * 5, 5):
        network = bs.Network([bs.Population("A", n, bs.LIF())], inputs=[bs.ConstantCurrent("A", 300.0)])
        bs.simulate(network, 1.0, 0.1, key=jr.key(0), engine="generic", progress=False)
    for fn in simulate_module._JITTED.values():
        assert len(fn.programs) <= simulate_module._COMPILED_KEPT
    assert any(len(fn.programs) == simulate_module._COMPILED_KEPT for fn in simulate_module._JITTED.values())
