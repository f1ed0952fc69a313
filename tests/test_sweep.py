"""Parameter sweeps (brainsim/sweep.py): point k equals a single `simulate`, compile counts
(once for traced parameters and seed-stable seeds, once per shape group), flat memory over
1,000 points, partial results on failure, and every rejected input."""

import resource

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim import _sweep_execute
from brainsim.sweep import SweepError, point_key, sweep

KEY = jr.key(11)
LIF = dict(c_m=200.0, g_leak=10.0, e_leak=-60.0, v_threshold=-50.0, v_reset=-60.0, t_ref=5.0)


def coba(w_inh=67.0, seed=0, n=100, g_leak=10.0, seed_stable=True):
    """A small COBA E/I network (80/20, p = 0.1): active, irregular, fast to compile."""
    lif = bs.LIF(**{**LIF, "g_leak": g_leak})
    n_exc = round(0.8 * n)
    sizes = {"E": n_exc, "I": n - n_exc}
    weights = {"E": 6.0, "I": w_inh}
    outputs = {"E": bs.COBA(e_rev=0.0), "I": bs.COBA(e_rev=-80.0)}
    taus = {"E": 5.0, "I": 10.0}
    projections = [
        bs.Projection(
            s,
            d,
            bs.FixedProbability(0.1, weight=weights[s], seed_stable=seed_stable),
            bs.ExponentialSynapse(tau=taus[s]),
            outputs[s],
        )
        for s in sizes
        for d in sizes
    ]
    populations = [bs.Population(name, size, lif) for name, size in sizes.items()]
    inputs = [bs.ConstantCurrent(name, 200.0) for name in sizes]
    return bs.Network(populations, projections, inputs, key=jr.key(seed))


def tiny(current=200.0):
    """Four unconnected LIF neurons driven by `current` pA: compiles in a moment."""
    return bs.Network([bs.Population("A", 4, bs.LIF(**LIF))], [], [bs.ConstantCurrent("A", current)])


def _same_spikes(a: bs.SimulationResult, b: bs.SimulationResult):
    for pop in ("E", "I"):
        np.testing.assert_array_equal(a.spikes[pop].times, b.spikes[pop].times)
        np.testing.assert_array_equal(a.spikes[pop].indices, b.spikes[pop].indices)
    np.testing.assert_array_equal(
        np.asarray(a.final_state.populations["E"].neuron.v), b.final_state.populations["E"].neuron.v
    )


@pytest.mark.parametrize("engine", ["generic", "fused"])
def test_point_k_equals_a_single_simulate_and_the_sweep_compiles_once(engine):
    grid = {"w_inh": [40.0, 67.0], "seed": [0, 1, 2]}  # seeds drawn at a seed-stable capacity
    result = sweep(
        coba,
        grid,
        duration=60.0,
        key=KEY,
        metrics={"rate_E": lambda r: r.rates["E"]},
        record_spikes=True,
        keep_results=True,
        engine=engine,
        progress=False,
    )
    assert result.compilations == 1 and result.shape_parameters == ()
    assert len(result) == 6 and list(result.columns["point"]) == list(range(6))
    assert result.columns["w_inh"].tolist() == [40.0, 40.0, 40.0, 67.0, 67.0, 67.0]
    assert result.columns["seed"].tolist() == [0, 1, 2, 0, 1, 2]
    for k in (0, 4, 5):
        params = result.records[k]
        single = bs.simulate(
            coba(params["w_inh"], params["seed"]), 60.0, key=point_key(KEY, k), engine=engine
        )
        assert len(single.spikes["E"].times) > 50  # the network is active
        _same_spikes(single, result.results[k])
        assert result.columns["rate_E"][k] == single.rates["E"]
    rates = result.columns["rate_E"]
    assert len(set(rates.tolist())) > 3  # the points differ (weights, seeds and keys)


def test_a_swept_python_number_is_traced_and_reproduced_by_the_array_valued_network():
    # `g_leak` is a Python float inside `LIF`: the sweep traces it (one compilation), as the
    # network with the float32 array would be; that network's `simulate` is the point.
    values = [9.0, 10.0, 11.0]
    result = sweep(
        coba,
        {"g_leak": values},
        duration=40.0,
        key=KEY,
        keep_results=True,
        record_spikes=True,
        engine="generic",
        progress=False,
    )
    assert result.compilations == 1
    for k, g in enumerate(values):
        single = bs.simulate(coba(g_leak=jnp.float32(g)), 40.0, key=point_key(KEY, k), engine="generic")
        _same_spikes(single, result.results[k])


def test_thirty_seeds_compile_once_in_a_sweep_and_in_a_loop_of_simulate_calls():
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, duration, **kw: (
            compiles.append(event) if event == "/jax/core/compile/backend_compile_duration" else None
        )
    )
    result = sweep(
        coba,
        {"seed": range(30)},
        duration=5.0,
        key=KEY,
        metrics={"r": lambda r: r.rates["E"]},
        progress=False,
    )
    assert result.compilations == 1 and len(result) == 30
    bs.simulate(coba(seed=100), 5.0, key=KEY)  # compile the simulate chunk once
    before = len(compiles)
    for seed in range(30):
        bs.simulate(coba(seed=seed), 5.0, key=KEY)
    assert len(compiles) == before  # no compilation in 30 calls with 30 connectivity seeds


def test_parameters_that_change_shapes_group_points_and_compile_once_per_group():
    result = sweep(
        coba,
        {"n": [50, 60], "w_inh": [40.0, 67.0, 80.0]},
        duration=10.0,
        key=KEY,
        metrics={"r": lambda r: r.rates["I"]},
        progress=False,
    )
    assert result.shape_parameters == ("n",)
    assert result.compilations == 2
    assert result.groups.tolist() == [0, 0, 0, 1, 1, 1]
    # a seed with the trimmed (seed-dependent) CSR changes shapes: one group per seed
    plain = sweep(
        lambda seed: coba(seed=seed, seed_stable=False),
        {"seed": [0, 1, 2]},
        duration=5.0,
        key=KEY,
        progress=False,
    )
    assert plain.shape_parameters == ("seed",) and plain.compilations == 3


def test_memory_stays_flat_over_1000_points():
    def peak_rss(_):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    currents = np.linspace(150.0, 400.0, 1000).tolist()
    result = sweep(
        tiny,
        {"current": currents},
        duration=20.0,
        key=KEY,
        metrics={"rss": peak_rss, "r": lambda r: r.rates["A"]},
        batch_size=25,
        progress=False,
    )
    assert len(result) == 1000 and result.compilations == 1
    rss = result.columns["rss"]
    assert rss[-1] <= 1.03 * rss[9], (rss[9], rss[-1])
    assert result.columns["r"][-1] > result.columns["r"][0]  # more current, more spikes


def test_chunks_of_steps_and_padded_batches_give_the_same_points(monkeypatch):
    # 3 points x (100 spiking neurons + 2 counts) x 100 steps: chunks of 100 of the 300 steps
    monkeypatch.setattr(_sweep_execute, "RECORD_BYTES", 3 * 108 * 100)
    result = sweep(
        coba,
        {"w_inh": [40.0, 55.0, 67.0, 80.0]},
        duration=30.0,
        key=KEY,
        record_spikes=True,
        keep_results=True,
        batch_size=3,
        engine="generic",
        progress=False,
    )
    assert result.compilations == 2  # first chunk, later chunks; the second batch is padded to 3
    assert result.results[3].n_steps == 300
    for k in (1, 3):
        single = bs.simulate(coba(result.records[k]["w_inh"]), 30.0, key=point_key(KEY, k), engine="generic")
        _same_spikes(single, result.results[k])


def test_metrics_read_spikes_when_recorded_and_the_table_is_tidy():
    result = sweep(
        coba,
        [{"w_inh": 40.0, "seed": 3}, {"w_inh": 80.0, "seed": 4}],
        duration=100.0,
        key=KEY,
        metrics={
            "cv_E": lambda r: bs.analysis.isi_cv(*r.spikes["E"]),
            "n_spikes": lambda r: int(np.sum(r.spike_counts["E"])),
        },
        record_spikes=("E",),
        progress=False,
    )
    table = result.table
    assert list(table.columns) == ["point", "w_inh", "seed", "cv_E", "n_spikes"]
    assert table.shape == (2, 5) and result.results is None
    assert np.all(np.isfinite(table["cv_E"])) and np.all(table["cv_E"] > 0)
    assert result.records[1] == {k: table.iloc[1][k] for k in table.columns}


def test_a_failing_metric_keeps_the_points_before_it():
    def fragile(r):
        if fragile.calls == 3:
            raise ZeroDivisionError("boom")
        fragile.calls += 1
        return 1.0

    fragile.calls = 0
    with pytest.raises(
        SweepError, match=r"point 3 \(current=230.0\): metric `fragile` failed: ZeroDivisionError: boom"
    ) as info:
        sweep(
            tiny,
            {"current": [200.0, 210.0, 220.0, 230.0, 240.0, 250.0]},
            duration=5.0,
            key=KEY,
            metrics={"fragile": fragile},
            batch_size=2,
            progress=False,
        )
    partial = info.value.result
    assert info.value.point == 3 and info.value.params == {"current": 230.0}
    assert partial.columns["point"].tolist() == [0, 1, 2] and partial.columns["fragile"].tolist() == [1.0] * 3
    with pytest.raises(
        SweepError, match=r"metric `spikes` failed: TypeError: metric `spikes` must return a scalar"
    ):
        sweep(
            tiny,
            {"current": [200.0]},
            duration=5.0,
            key=KEY,
            metrics={"spikes": lambda r: r.spike_counts["A"]},
            progress=False,
        )
    with pytest.raises(SweepError, match="no spike record for `A`"):  # spikes not recorded
        sweep(
            tiny,
            {"current": [200.0]},
            duration=5.0,
            key=KEY,
            metrics={"cv": lambda r: r.spikes["A"]},
            progress=False,
        )


def test_a_failing_build_names_the_point_and_keeps_the_points_before_it():
    def build(current):
        if current > 300.0:
            raise ValueError("too strong")
        return tiny(current)

    with pytest.raises(
        SweepError, match=r"point 2 \(current=400.0\): `build` failed: ValueError: too strong"
    ) as info:
        sweep(build, {"current": [200.0, 250.0, 400.0]}, duration=5.0, key=KEY, batch_size=1, progress=False)
    # planning builds point 0 and the first point where each parameter differs (point 1)
    assert info.value.point == 2 and info.value.result.columns["point"].tolist() == [0, 1]


@pytest.mark.parametrize(
    "params, kwargs, error, match",
    [
        ({}, {}, ValueError, "empty grid"),
        ({"w_inh": []}, {}, ValueError, r"`params\['w_inh'\]` is empty"),
        ([], {}, ValueError, "empty list of samples"),
        ({"w_inh": 3.0}, {}, TypeError, r"params"),  # beartype's message at test time, else ours
        ({"weight": [1.0]}, {}, ValueError, r"`build` does not take the parameter\(s\) \['weight'\]"),
        ([{"w_inh": 1.0}, {"seed": 2}], {}, ValueError, r"`params\[1\]` has parameters \['seed'\]"),
        ({"point": [1]}, {}, ValueError, "`point` is reserved"),
        ({"w_inh": [40.0]}, {"metrics": {"m": 3}}, TypeError, "metric"),
        (
            {"w_inh": [40.0]},
            {"metrics": {"w_inh": len}},
            ValueError,
            "metric `w_inh` has the name of a parameter",
        ),
        ({"w_inh": [40.0]}, {"engine": "gpu"}, ValueError, "`engine` must be one of"),
        ({"w_inh": [40.0]}, {"backend": "spark"}, ValueError, "`backend` must be one of"),
        ({"w_inh": [40.0]}, {"batch_size": 0}, ValueError, "`batch_size` must be an integer >= 1"),
        ({"w_inh": [40.0]}, {"duration": 0.25, "dt": 0.1}, ValueError, "multiple of `dt`"),
    ],
)
def test_bad_input_is_rejected_before_anything_runs(params, kwargs, error, match):
    built = []

    def build(w_inh=67.0, seed=0):
        built.append(w_inh)
        return coba(w_inh, seed)

    kwargs = {"duration": 5.0, "key": KEY, "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        sweep(build, params, **kwargs)
    assert built == []


def test_a_build_argument_the_sweep_does_not_set_is_named():
    with pytest.raises(ValueError, match=r"`build` needs the argument\(s\) \['seed'\]"):
        sweep(lambda w_inh, seed: coba(w_inh, seed), {"w_inh": [40.0]}, duration=5.0, key=KEY, progress=False)


def test_fused_engine_refusal_is_explained():
    def two_currents(w_inh):
        net = coba(w_inh)
        return bs.Network(
            net.populations,
            net.projections,
            [bs.ConstantCurrent("E", 200.0), bs.ConstantCurrent("E", 1.0)],
            key=KEY,
        )

    with pytest.raises(
        ValueError, match="`engine='fused'` does not apply to this sweep: population `E` has more"
    ):
        sweep(two_currents, {"w_inh": [40.0]}, duration=5.0, key=KEY, engine="fused", progress=False)


def test_messages_name_the_argument_where_no_type_checker_runs_first():
    from brainsim._sweep_points import check_metrics, sweep_points

    with pytest.raises(TypeError, match=r"`params\['w_inh'\]` must be a sequence of values .* `\[value\]`"):
        sweep_points({"w_inh": 3.0})
    with pytest.raises(TypeError, match="metric `m` must be a function of a `SimulationResult`"):
        check_metrics({"m": 3}, ("w_inh",))


# -- Ray backend: a local Ray instance started and stopped by the tests ---------------------------


@pytest.fixture(scope="module")
def ray_cluster():
    import sys

    import ray  # the `ray` extra (`pip install brainsim[ray]`), part of the dev environment
    import ray.cloudpickle

    # the workers cannot import this test module: ship its functions by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_ray_backend_needs_a_cluster():
    import ray

    if ray.is_initialized():
        ray.shutdown()
    with pytest.raises(
        ValueError, match=r"`backend='ray'` needs a Ray cluster: call `ray.init\(address=...\)`"
    ):
        sweep(tiny, {"current": [200.0]}, duration=5.0, key=KEY, backend="ray", progress=False)


def test_ray_backend_equals_the_local_sweep_and_retries_a_chunk_whose_worker_dies(ray_cluster, tmp_path):
    import os

    marker = str(tmp_path / "died_once")

    def dying(current):  # the worker running point 4 dies the first time (not the driver's probes)
        if current == 300.0 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return tiny(current)

    currents = [150.0, 200.0, 250.0, 275.0, 300.0, 350.0, 400.0]
    metrics = {"rate": lambda r: r.rates["A"], "spikes": lambda r: int(np.sum(r.spike_counts["A"]))}
    remote = sweep(
        dying,
        {"current": currents},
        duration=20.0,
        key=KEY,
        metrics=metrics,
        backend="ray",
        batch_size=2,
        keep_results=True,
        record_spikes=True,
        progress=False,
    )
    assert os.path.exists(marker)  # a worker did die
    local = sweep(
        tiny,
        {"current": currents},
        duration=20.0,
        key=KEY,
        metrics=metrics,
        keep_results=True,
        record_spikes=True,
        progress=False,
    )
    assert remote.columns["point"].tolist() == list(range(7))  # nothing lost, nothing duplicated
    for name in ("current", "rate", "spikes"):
        np.testing.assert_array_equal(remote.columns[name], local.columns[name])
    for a, b in zip(remote.results, local.results, strict=True):
        np.testing.assert_array_equal(a.spikes["A"].times, b.spikes["A"].times)
    assert remote.compilations >= 1 and len(set(remote.columns["spikes"].tolist())) > 2


def test_ray_backend_keeps_every_completed_point_when_one_fails(ray_cluster):
    def fragile(r):
        if r.rates["A"] > 90.0:
            raise ValueError("too active")
        return r.rates["A"]

    with pytest.raises(SweepError, match=r"point 4 \(current=350.0\): metric `fragile` failed") as info:
        sweep(
            tiny,
            {"current": [150.0, 200.0, 250.0, 300.0, 350.0, 400.0, 150.0]},
            duration=20.0,
            key=KEY,
            metrics={"fragile": fragile},
            backend="ray",
            batch_size=3,
            progress=False,
        )
    # chunks [0, 1, 2], [3, 4, 5], [6] (rates 37.5 ... 100 Hz): point 4 fails after point 3, and
    # point 5 of its chunk is never run; the chunks before and after it are complete
    assert info.value.point == 4
    assert info.value.result.columns["point"].tolist() == [0, 1, 2, 3, 6]
