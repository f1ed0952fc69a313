"""Checkpoint overhead: a COBA run with periodic checkpoints against the same run without.

    python benchmarks/checkpoint.py --n 40000 --in-degree 80 --duration 20 --every 10 [--repeats 3]
        [--engine auto|generic|fused] [--record-spikes]

`duration` and `every` are seconds of biological time (`simulate(..., checkpoint_every=every
* 1000 ms, checkpoint_dir=...)`). One JSON line per configuration: `"checkpoint_every": null`
is the baseline. build_s: network construction; compile_s: first call minus the median warm
call; run_s: median over `--repeats` warm calls, the configurations interleaved so that load
on a shared machine hits both alike; checkpoints: saves per run; save_s: seconds per save
(median, the first save of a run, which also writes the network, reported apart as
first_save_s); checkpoint_bytes: the directory after the run; overhead: run_s against the
baseline's run_s; resume_s: `simulate(..., resume_from=...)` of the finished run (reads and
checks everything back). Spikes are kept as population counts only unless `--record-spikes`.
"""

import argparse
import json
import pathlib
import platform
import resource
import statistics
import tempfile
import time

import jax
import jax.random as jr

import brainsim as bs
from brainsim.io._periodic import RunCheckpoints


def _timed_saves():
    """Wrap `RunCheckpoints.save` to time each save; the list of seconds it fills."""
    seconds, original = [], RunCheckpoints.save

    def save(self, state, done):
        start = time.perf_counter()
        original(self, state, done)
        seconds.append(time.perf_counter() - start)

    RunCheckpoints.save = save
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40_000)
    parser.add_argument("--in-degree", type=int, default=80)
    parser.add_argument("--duration", type=float, default=20.0, help="biological seconds")
    parser.add_argument("--every", type=float, default=10.0, help="biological seconds between checkpoints")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", choices=["auto", "generic", "fused"], default="auto")
    parser.add_argument("--record-spikes", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    key_net, key_sim = jr.split(jr.key(args.seed))
    start = time.perf_counter()
    network = bs.models.COBANetwork(n=args.n, key=key_net, in_degree=args.in_degree)
    jax.block_until_ready(network)
    build_s = time.perf_counter() - start
    saves = _timed_saves()
    duration = args.duration * 1000.0

    def once(every_s, directory):
        extra = {} if every_s is None else {"checkpoint_every": every_s * 1000.0, "checkpoint_dir": directory}
        saves.clear()
        start = time.perf_counter()
        result = bs.simulate(
            network,
            duration,
            0.1,
            key=key_sim,
            record_spikes=args.record_spikes,
            engine=args.engine,
            progress=False,
            **extra,
        )
        jax.block_until_ready(result.final_state)
        return time.perf_counter() - start, list(saves), result

    configs = [None, args.every]
    with tempfile.TemporaryDirectory() as scratch:
        dirs = {c: pathlib.Path(scratch) / f"every-{c}" for c in configs}
        first = {c: once(c, dirs[c])[0] for c in configs}
        runs = {c: [] for c in configs}
        for _ in range(args.repeats):
            for c in configs:
                runs[c].append(once(c, dirs[c]))
        resume_s = None
        if args.every is not None:
            start = time.perf_counter()
            bs.simulate(
                network,
                duration,
                0.1,
                key=key_sim,
                record_spikes=args.record_spikes,
                engine=args.engine,
                progress=False,
                resume_from=dirs[args.every],
            )
            resume_s = time.perf_counter() - start
        sizes = {
            c: sum(p.stat().st_size for p in dirs[c].glob("*")) if dirs[c].exists() else 0 for c in configs
        }

    plan, _ = bs.fused_plan(network, (), ())
    ran = "generic" if args.engine == "generic" or plan is None else "fused"
    baseline = statistics.median(r[0] for r in runs[None])
    for c in configs:
        run_s = statistics.median(r[0] for r in runs[c])
        save_lists = [r[1] for r in runs[c]]
        later = [s for saves_ in save_lists for s in saves_[1:]]
        result = runs[c][0][2]
        spikes = int(sum(int(x.sum()) for x in result.spike_counts.values()))
        line = {
            "benchmark": "checkpoint",
            "model": "coba",
            "n": args.n,
            "in_degree": args.in_degree,
            "synapses": sum(bs.ops.n_synapses(p.connectivity) for p in network.projections),
            "duration": args.duration,
            "dt": 0.1,
            "checkpoint_every": c,
            "engine": args.engine,
            "engine_used": ran,
            "record_spikes": args.record_spikes,
            "build_s": round(build_s, 4),
            "compile_s": round(max(first[c] - run_s, 0.0), 4),
            "run_s": round(run_s, 4),
            "run_s_all": [round(r[0], 4) for r in runs[c]],
            "checkpoints": len(save_lists[0]),
            "first_save_s": round(statistics.median(s[0] for s in save_lists), 4) if save_lists[0] else None,
            "save_s": round(statistics.median(later), 4) if later else None,
            "checkpoint_bytes": sizes[c],
            "overhead": round(run_s / baseline - 1.0, 4),
            "resume_s": None if c is None else round(resume_s, 4),
            "spikes": spikes,
            "rate_hz": round(spikes / (args.n * args.duration), 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "jax": jax.__version__,
            "brainsim": bs.__version__,
            "device": jax.devices()[0].device_kind,
            "platform": platform.machine(),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
