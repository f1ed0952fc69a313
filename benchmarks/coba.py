"""COBA / CUBA / COBAHH benchmark: one JSON line per run.

    python benchmarks/coba.py --model coba --n 4000 --duration 1.0 [--in-degree 80] [--repeats 3]
        [--engine auto|generic|fused]

`duration` is in seconds of biological time. build_s: network construction; compile_s: first
call minus a warm call; run_s: median over `--repeats` warm calls (simulation loop, spikes recorded
as population counts only, as the peers do); connectivity_bytes: the arrays of every projection's
connectivity format. `engine` is `simulate`'s engine: `auto` (the
fused native CPU kernel where the network qualifies, else generic), `generic` or `fused`; the
JSON line reports the engine requested and the one that ran.
"""

import argparse
import json
import platform
import resource
import statistics
import time

import jax
import jax.random as jr

import brainsim as bs


def run(model, n, duration_s, in_degree, repeats, seed, procedural=False, engine="auto"):
    builders = {
        "coba": bs.models.COBANetwork,
        "cuba": bs.models.CUBANetwork,
        "cobahh": bs.models.COBAHHNetwork,
    }
    key_net, key_sim = jr.split(jr.key(seed))
    start = time.perf_counter()
    extra = {"procedural": True} if procedural else {}
    network = builders[model](n=n, key=key_net, in_degree=in_degree, **extra)
    jax.block_until_ready(network)
    build_s = time.perf_counter() - start
    duration = duration_s * 1000.0

    def once():
        start = time.perf_counter()
        result = bs.simulate(network, duration, 0.1, key=key_sim, record_spikes=False, engine=engine)
        jax.block_until_ready(result.final_state)
        return time.perf_counter() - start, result

    first_s, _ = once()
    runs = [once() for _ in range(repeats)]
    run_s = statistics.median(r[0] for r in runs)
    result = runs[0][1]
    spikes = int(sum(int(c.sum()) for c in result.spike_counts.values()))
    plan, _ = bs.fused_plan(network, (), ())
    ran = "generic" if engine == "generic" or plan is None else "fused"
    return {
        "model": model,
        "n": n,
        "in_degree": in_degree,
        "synapses": sum(bs.ops.n_synapses(p.connectivity) for p in network.projections),
        "connectivity_bytes": sum(
            x.nbytes for p in network.projections for x in jax.tree_util.tree_leaves(p.connectivity)
        ),
        "procedural": procedural,
        "duration": duration_s,
        "engine": engine,
        "engine_used": ran,
        "dt": 0.1,
        "build_s": round(build_s, 4),
        "compile_s": round(max(first_s - run_s, 0.0), 4),
        "run_s": round(run_s, 4),
        "spikes": spikes,
        "rate_hz": round(spikes / (n * duration_s), 3),
        "overflow_steps": {k: int(v) for k, v in result.overflow_steps.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "jax": jax.__version__,
        "device": jax.devices()[0].device_kind,
        "platform": platform.machine(),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["coba", "cuba", "cobahh"], default="coba")
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--in-degree", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--procedural", action="store_true", help="seed-regenerated synapses")
    parser.add_argument("--engine", choices=["auto", "generic", "fused"], default="auto")
    args = parser.parse_args()
    result = run(
        args.model,
        args.n,
        args.duration,
        args.in_degree,
        args.repeats,
        args.seed,
        args.procedural,
        args.engine,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
