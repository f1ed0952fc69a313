"""COBA with pair STDP on the E->E synapses, against the static network and Brian2: one JSON line.

    python benchmarks/stdp.py --n 4000 --duration 1.0 [--in-degree 80] [--repeats 3]
        [--a-plus 0.3] [--a-minus 0.315] [--w-max 12] [--t-ref 5.0] [--brian2-repeats 3]
        [--brian2-threads 1] [--no-brian2] [--profile]

`duration` is in seconds of biological time, dt = 0.1 ms. The plastic network is
`bs.models.COBANetwork(n, plasticity={"E->E": bs.dynamics.PairSTDP(...)})`: additive pair STDP,
hard bounds, all-to-all pairing, tau_+ = tau_- = 20 ms, on the E->E synapses only (w_e = 6 nS
at t = 0). The default amplitudes, A+ = 0.3 nS (5% of w_e) and A- = 0.315 nS (A-/A+ = 1.05,
as Song, Miller & Abbott 2000), bounds [0, 12] nS, move the weights between firing neurons
within 1 s (standard deviation 1.2-1.5 nS, quartiles about 5.4-6.7 nS at N = 40,000) while the
network keeps its asynchronous regime (17-22 Hz). The plastic network runs on the engine
`"auto"` picks: the fused native kernel, which runs pair STDP with hard bounds (`engine` and
`fused_refusal` say which ran and why); `plastic_generic_run_s` is the same plastic run on the
generic engine (skip it with `--no-generic`), `fused_speedup_vs_generic` the ratio, and
`weights_equal_generic` whether both engines end with the same float32 weights, bit for bit.
`--t-ref 4.9` sets every neuron's refractory period to 4.9 ms, i.e. 49 held steps as Brian2's
`refractory=5*ms` (brainsim's COBA holds 50, so its rates are a little lower; see
`brainsim/models/coba.py`): the like-for-like setting for comparing the weights with Brian2's.

Reported (seconds of wall clock unless stated):
- `run_s`: median over `--repeats` warm calls of the plastic network; `compile_s`: first call
  minus `run_s`; `build_s`: network construction (connectivity and column index). The warm
  calls of the plastic and the two static runs alternate (round-robin), so a slow spell of the
  machine hits all three alike.
- `static_run_s`: the same network (same key, same connectivity) without plasticity, on the
  engine `"auto"` picks (the fused native kernel); `static_generic_run_s`: the static network
  on the generic engine; `slowdown = run_s / static_run_s` (target <= 2) and
  `slowdown_vs_generic = run_s / static_generic_run_s`.
- `peak_rss_mb`: the process's peak resident set after the timed runs (plastic and static
  networks both alive); `peak_rss_end_mb` at the end (after `--profile`).
- `plastic_bytes_per_synapse`: the E->E projection's per-synapse arrays (the CSR target
  indices, the weights in the state, the column index's slots) over its synapses (target
  <= 12); `plastic_bytes_per_synapse_all` adds the per-neuron arrays (row and column pointers,
  traces).
- `w_mean_ns`, `w_std_ns`, quartiles, fractions at the bounds: the E->E weights after the run.
- With `benchmarks/peers/.venv-brian2` present (and no `--no-brian2`), `benchmarks/peers/
  brian2_stdp.py` runs as a subprocess on the same network and rule (C++ standalone, 1 thread
  unless `--brian2-threads`): `brian2_run_s` (median of `--brian2-repeats` runs of its binary),
  `ratio = run_s / brian2_run_s` (target <= 0.5), `w_mean_rel_diff` = |mean_brainsim -
  mean_brian2| / mean_brian2 (target <= 0.02), `w_std_rel_diff` likewise, and the peer's whole
  JSON line under `brian2`.
- `--profile` adds `profile`: warm run times of variants that take the plastic step apart
  (weights in the state without a rule, only the presynaptic-arrival updates, only the
  postsynaptic-spike updates, ...); see `profile_variants`.
"""

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.random as jr
import numpy as np

import brainsim as bs

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / "benchmarks" / "peers"
DT = 0.1


def rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def simulate_once(network, duration_ms, key, engine):
    start = time.perf_counter()
    result = bs.simulate(network, duration_ms, DT, key=key, record_spikes=False, engine=engine)
    jax.block_until_ready(result.final_state)
    return time.perf_counter() - start, result


def timed_runs(network, duration_ms, key, repeats, engine):
    """`(first_s, median_s, all_s, result)` of `repeats` warm calls after a first one."""
    first_s, result = simulate_once(network, duration_ms, key, engine)
    times = []
    for _ in range(repeats):
        elapsed, result = simulate_once(network, duration_ms, key, engine)
        times.append(elapsed)
    return first_s, statistics.median(times), times, result


def round_robin(cases, duration_ms, key, repeats):
    """`{name: (first_s, median_s, all_s, result)}` for `cases = {name: (network, engine)}`: a
    first (compiling) call of each, then `repeats` warm rounds over all of them, so a slow
    spell of the machine hits every case alike."""
    first = {name: simulate_once(net, duration_ms, key, engine) for name, (net, engine) in cases.items()}
    times, last = {name: [] for name in cases}, {}
    for _ in range(repeats):
        for name, (net, engine) in cases.items():
            elapsed, last[name] = simulate_once(net, duration_ms, key, engine)
            times[name].append(elapsed)
    return {
        name: (first[name][0], statistics.median(times[name]), times[name], last.get(name, first[name][1]))
        for name in cases
    }


def weight_summary(w, w_min, w_max):
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    return {
        "w_mean_ns": round(float(w.mean()), 5),
        "w_std_ns": round(float(w.std()), 5),
        "w_q25_q50_q75_ns": [round(float(x), 4) for x in np.percentile(w, [25, 50, 75])],
        "w_at_min": round(float(np.mean(w <= w_min)), 5),
        "w_at_max": round(float(np.mean(w >= w_max)), 5),
    }


def plastic_memory(network, state):
    """Bytes of the E->E projection: per-synapse arrays, and with the per-neuron ones."""
    proj = network.projection("E->E")
    conn, index = proj.connectivity, proj.column_index
    weights = state.projections["E->E"].weights
    traces = state.projections["E->E"].plasticity
    nnz = int(conn.indices.shape[0])
    per_synapse = conn.indices.nbytes + weights.nbytes + index.slots.nbytes
    per_neuron = (
        conn.indptr.nbytes
        + index.colptr.nbytes
        + sum(x.nbytes for x in jax.tree_util.tree_leaves(traces))
        + sum(x.nbytes for x in jax.tree_util.tree_leaves(conn.weights))  # the built-in weight
    )
    return {
        "plastic_synapses": nnz,
        "plastic_format": type(conn).__name__,
        "plastic_bytes_per_synapse": round(per_synapse / nnz, 3),
        "plastic_bytes_per_synapse_all": round((per_synapse + per_neuron) / nnz, 3),
        "plastic_bytes_detail": {
            "indices": int(conn.indices.nbytes),
            "weights_state": int(weights.nbytes),
            "column_slots": int(index.slots.nbytes),
            "indptr": int(conn.indptr.nbytes),
            "colptr": int(index.colptr.nbytes),
            "traces": int(sum(x.nbytes for x in jax.tree_util.tree_leaves(traces))),
        },
    }


def brian2_peer(args):
    """The Brian2 run as a subprocess in its own venv; its JSON line, or a status dict."""
    python = PEERS / ".venv-brian2" / "bin" / "python"
    if not python.exists():
        return {"status": "missing", "detail": f"{python} not found: run `make -C benchmarks/peers venvs`"}
    cmd = [
        str(python),
        str(PEERS / "brian2_stdp.py"),
        "--n",
        str(args.n),
        "--duration",
        str(args.duration),
        "--threads",
        str(args.brian2_threads),
        "--repeats",
        str(args.brian2_repeats),
        "--seed",
        str(args.seed),
        "--a-plus",
        str(args.a_plus),
        "--a-minus",
        str(args.a_minus),
        "--tau-plus",
        str(args.tau_plus),
        "--tau-minus",
        str(args.tau_minus),
        "--w-min",
        str(args.w_min),
        "--w-max",
        str(args.w_max),
    ]
    if args.in_degree is not None:
        cmd += ["--in-degree", str(args.in_degree)]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    try:
        proc = subprocess.run(cmd, cwd=PEERS, env=env, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "detail": "timed out after 1800 s", "cmd": cmd}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {
            "status": "failed",
            "returncode": proc.returncode,
            "cmd": cmd,
            "stderr_tail": proc.stderr.strip().splitlines()[-5:],
        }
    return json.loads(lines[-1])


# -- profile: the plastic step taken apart ---------------------------------------------------------


def weight_copies(network, key, name="E->E"):
    """Full-size copies of the plastic weights in the compiled step (two steps in a `lax.scan`,
    as the generic engine runs it): XLA `copy` instructions whose result has the weights' shape,
    counted in the program text (a copy inside a `lax.switch` branch runs only when that branch
    is taken). Each one that runs is O(synapses) memory traffic, whatever the spikes."""
    state = network.init_state(key=key)
    nnz = state.projections[name].weights.size

    def two_steps(net, st):
        return jax.lax.scan(lambda s, _: (net.step(s, {}, DT, key)[0], None), st, None, length=2)[0]

    text = jax.jit(two_steps).lower(network, state).compile().as_text()
    shape = re.compile(rf"= f32\[{nnz}\]\S* copy\(")
    return sum(1 for line in text.splitlines() if shape.search(line))


def profile_variants(plastic, static, duration_ms, key, repeats):
    """Warm run times (median of `repeats`) of variants of the plastic step, all generic engine.

    - `static_generic`: no plasticity, homogeneous weight (delivery from a scalar weight).
    - `plastic_no_rule`: weights in the state (`Projection(plastic=True)`), no rule.
    - `traces_only`: the rule's trace decay and counting, no weight update.
    - `rows_only`: traces + presynaptic-arrival updates (`update_rows`), no column updates.
    - `columns_only`: traces + postsynaptic-spike updates (`update_columns`), no row updates.
    - `full`: the whole rule (as `run_s`).

    Also `weight_copies_in_step_hlo` (see `weight_copies`) and the operators' buffer sizes.

    The variants patch `brainsim.network.plasticity`'s module globals in this process only
    (and clear JAX's caches so every variant is traced anew); brainsim's files are untouched.
    """
    import brainsim.network.plasticity as plasticity_module

    original = {
        "update_rows": plasticity_module.update_rows,
        "update_columns": plasticity_module.update_columns,
    }

    def skip_rows(conn, weights, *rest):
        return weights

    def skip_columns(index, conn, weights, *rest):
        return weights

    proj = plastic.projection("E->E")
    no_rule = eqx.tree_at(
        lambda net: net.projection("E->E").plasticity, plastic, None, is_leaf=lambda x: x is None
    )
    variants = {
        "static_generic": (static, {}),
        "plastic_no_rule": (no_rule, {}),
        "traces_only": (plastic, {"update_rows": skip_rows, "update_columns": skip_columns}),
        "rows_only": (plastic, {"update_columns": skip_columns}),
        "columns_only": (plastic, {"update_rows": skip_rows}),
        "full": (plastic, {}),
    }
    out = {}
    for name, (network, patches) in variants.items():
        for attr, fn in {**original, **patches}.items():
            setattr(plasticity_module, attr, fn)
        jax.clear_caches()
        try:
            first_s, run_s, times, _ = timed_runs(network, duration_ms, key, repeats, "generic")
        except Exception as exc:  # a variant that cannot be built is reported, not fatal
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        finally:
            for attr, fn in original.items():
                setattr(plasticity_module, attr, fn)
        out[name] = {"run_s": round(run_s, 4), "all_s": [round(t, 4) for t in times]}
    jax.clear_caches()
    out["weight_copies_in_step_hlo"] = weight_copies(plastic, key)
    out["buffers"] = {
        "rows_max_active": proj.connectivity.max_active,
        "max_row_length": proj.connectivity.max_row_length,
        "columns_max_active": proj.column_index.max_active,
        "max_column_length": proj.column_index.max_column_length,
    }
    return out


def with_t_ref(network, t_ref):
    """`network` with every LIF's refractory period set to `t_ref` ms (unchanged at 5.0)."""
    if t_ref == 5.0:
        return network
    return eqx.tree_at(
        lambda net: [p.neuron.t_ref for p in net.populations], network, [t_ref] * len(network.populations)
    )


def plastic_generic(timed, run_s, final) -> dict:
    """The plastic network on the generic engine (when `auto` ran it fused): its median time, the
    ratio, and whether its final E->E weights equal the fused run's bit for bit."""
    if "plastic_generic" not in timed:
        return {}
    _, generic_s, generic_times, generic_result = timed["plastic_generic"]
    same = np.array_equal(
        np.asarray(generic_result.final_state.projections["E->E"].weights),
        np.asarray(final.projections["E->E"].weights),
    )
    return {
        "plastic_generic_run_s": round(generic_s, 4),
        "plastic_generic_run_s_all": [round(t, 4) for t in generic_times],
        "fused_speedup_vs_generic": round(generic_s / run_s, 2),
        "weights_equal_generic": bool(same),
    }


def run(args):
    key_net, key_sim = jr.split(jr.key(args.seed))
    duration = args.duration * 1000.0
    rule = bs.dynamics.PairSTDP(
        a_plus=args.a_plus,
        a_minus=args.a_minus,
        tau_plus=args.tau_plus,
        tau_minus=args.tau_minus,
        w_min=args.w_min,
        w_max=args.w_max,
    )
    loads = [os.getloadavg()[0]]
    start = time.perf_counter()
    plastic = with_t_ref(
        bs.models.COBANetwork(args.n, key=key_net, in_degree=args.in_degree, plasticity={"E->E": rule}),
        args.t_ref,
    )
    jax.block_until_ready(plastic)
    build_s = time.perf_counter() - start

    static = with_t_ref(bs.models.COBANetwork(args.n, key=key_net, in_degree=args.in_degree), args.t_ref)
    plan, _ = bs.fused_plan(static, (), ())
    plastic_plan, plastic_reason = bs.fused_plan(plastic, (), ())
    cases = {"plastic": (plastic, "auto"), "static": (static, "auto"), "static_generic": (static, "generic")}
    if plastic_plan is not None and not args.no_generic:
        cases["plastic_generic"] = (plastic, "generic")
    timed = round_robin(
        cases,
        duration,
        key_sim,
        args.repeats,
    )
    first_s, run_s, times, result = timed["plastic"]
    _, static_s, static_times, static_result = timed["static"]
    _, generic_s, generic_times, _ = timed["static_generic"]
    peak_plastic = rss_mb()
    final = result.final_state
    spikes = {k: int(v.sum()) for k, v in result.spike_counts.items()}
    sizes = {p.name: p.n for p in plastic.populations}
    static_spikes = int(sum(int(c.sum()) for c in static_result.spike_counts.values()))

    out = {
        "model": "coba+stdp",
        "n": args.n,
        "in_degree": args.in_degree,
        "p": None if args.in_degree is not None else 0.02,
        "synapses": sum(bs.ops.n_synapses(p.connectivity) for p in plastic.projections),
        "duration": args.duration,
        "dt": DT,
        "stdp": {
            "rule": "PairSTDP",
            "projection": "E->E",
            "a_plus": args.a_plus,
            "a_minus": args.a_minus,
            "tau_plus": args.tau_plus,
            "tau_minus": args.tau_minus,
            "w_min": args.w_min,
            "w_max": args.w_max,
            "bound": rule.bound,
            "pairing": rule.pairing,
        },
        "t_ref": args.t_ref,
        "engine": "fused" if plastic_plan is not None else "generic",
        "fused_refusal": plastic_reason,
        "build_s": round(build_s, 4),
        "compile_s": round(max(first_s - run_s, 0.0), 4),
        "run_s": round(run_s, 4),
        "run_s_all": [round(t, 4) for t in times],
        **plastic_generic(timed, run_s, final),
        "static_run_s": round(static_s, 4),
        "static_engine": "fused" if plan is not None else "generic",
        "static_generic_run_s": round(generic_s, 4),
        "static_run_s_all": [round(t, 4) for t in static_times],
        "static_generic_run_s_all": [round(t, 4) for t in generic_times],
        "slowdown": round(run_s / static_s, 2),
        "slowdown_vs_generic": round(run_s / generic_s, 2),
        "spikes": sum(spikes.values()),
        "rate_hz": round(sum(spikes.values()) / (args.n * args.duration), 3),
        "rate_e_hz": round(spikes["E"] / (sizes["E"] * args.duration), 3),
        "rate_i_hz": round(spikes["I"] / (sizes["I"] * args.duration), 3),
        "static_rate_hz": round(static_spikes / (args.n * args.duration), 3),
        "overflow_steps": {k: int(v) for k, v in result.overflow_steps.items()},
        **weight_summary(final.projections["E->E"].weights, args.w_min, args.w_max),
        **plastic_memory(plastic, final),
        "peak_rss_mb": peak_plastic,
    }
    if args.profile:
        out["profile"] = profile_variants(plastic, static, duration, key_sim, args.repeats)
    out["peak_rss_end_mb"] = rss_mb()
    if not args.no_brian2:
        loads.append(os.getloadavg()[0])
        peer = brian2_peer(args)
        out["brian2_run_s"] = peer.get("run_s")
        if peer.get("run_s"):
            out["ratio"] = round(run_s / peer["run_s"], 3)
            out["w_mean_rel_diff"] = round(abs(out["w_mean_ns"] - peer["w_mean_ns"]) / peer["w_mean_ns"], 4)
            out["w_std_rel_diff"] = round(abs(out["w_std_ns"] - peer["w_std_ns"]) / peer["w_std_ns"], 4)
        out["brian2"] = peer
    out["max_loadavg_1min_before_runs"] = round(max(loads), 2)
    out["cpu_count"] = os.cpu_count()
    out["jax"] = jax.__version__
    out["device"] = jax.devices()[0].device_kind
    out["platform"] = platform.machine()
    out["python"] = sys.version.split()[0]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--in-degree", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-generic", action="store_true", help="no plastic run on the generic engine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--a-plus", type=float, default=0.3, help="nS")
    parser.add_argument("--a-minus", type=float, default=0.315, help="nS")
    parser.add_argument("--tau-plus", type=float, default=20.0, help="ms")
    parser.add_argument("--tau-minus", type=float, default=20.0, help="ms")
    parser.add_argument("--w-min", type=float, default=0.0, help="nS")
    parser.add_argument("--w-max", type=float, default=12.0, help="nS")
    parser.add_argument(
        "--t-ref",
        type=float,
        default=5.0,
        help="LIF refractory period, ms (4.9 holds 49 steps, as Brian2's refractory=5*ms)",
    )
    parser.add_argument("--no-brian2", action="store_true", help="skip the Brian2 peer")
    parser.add_argument("--brian2-threads", type=int, default=1)
    parser.add_argument("--brian2-repeats", type=int, default=3, help="runs of Brian2's binary")
    parser.add_argument("--profile", action="store_true", help="time variants of the plastic step")
    args = parser.parse_args()
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
