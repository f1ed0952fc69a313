"""Parameter-sweep benchmark: COBA with the inhibitory weight swept, brainsim's `sweep` against
one point's run time and against Brian2 C++ standalone (built once, one `device.run(run_args=)`
per point), side by side in one invocation. JSON lines.

    .venv/bin/python benchmarks/sweep.py [--n 4000] [--points 100] [--duration 1.0] \
        [--w-min 3] [--w-max 10] [--engine auto] [--no-brian2] [--brian2-threads 1]

`duration` is in seconds of biological time. brainsim lines:
  point_s        one point alone: a warm `simulate` of the network at the middle weight
                 (compilation excluded), median of 3
  sweep_s        the whole `sweep` call: building every point's network, planning, compiling,
                 running, metrics (the firing rate of `E`)
  compile_s      the sweep's compilation time (`SweepResult.compile_seconds`)
  compilations   programs compiled by the sweep
  bound_s        1.2 x points x point_s + compile_s: the target for sweep_s
  parallel_points  points the fused engine runs at once (one thread each: the CPUs available)
The Brian2 line is `benchmarks/peers/brian2_sweep.py`'s (build_s, point_s, total_s), run with
`benchmarks/peers/.venv-brian2` on `--brian2-threads` OpenMP threads (default 1, as the issue's
reference); the summary line gives sweep_s / brian2 total_s (target <= 0.25).
"""

import argparse
import json
import platform
import statistics
import subprocess
import time
from pathlib import Path

import jax
import jax.random as jr
import numpy as np

import brainsim as bs
from brainsim.fused import available_cpus
from brainsim.sweep import sweep

PEERS = Path(__file__).resolve().parent / "peers"


def emit(obj):
    print(json.dumps(obj), flush=True)


def brainsim_sweep(n, points, duration_s, w_min, w_max, engine):
    key_net, key_sim = jr.split(jr.key(0))

    def build(w_inh):
        return bs.models.COBANetwork(n, key=key_net, w_inh=w_inh)

    weights = np.linspace(w_min, w_max, points).tolist()
    duration = duration_s * 1000.0
    network = build(weights[points // 2])

    def once():
        start = time.perf_counter()
        result = bs.simulate(network, duration, key=key_sim, record_spikes=False, engine=engine)
        jax.block_until_ready(result.final_state)
        return time.perf_counter() - start

    once()  # compile
    point_s = statistics.median(once() for _ in range(3))
    start = time.perf_counter()
    result = sweep(
        build,
        {"w_inh": weights},
        duration=duration,
        key=key_sim,
        metrics={"rate_E": lambda r: r.rates["E"]},
        engine=engine,
        progress=False,
    )
    sweep_s = time.perf_counter() - start
    plan, _ = bs.fused_plan(network, (), ())
    bound_s = 1.2 * points * point_s + result.compile_seconds
    rates = result.columns["rate_E"]
    return {
        "simulator": "brainsim",
        "n": n,
        "duration": duration_s,
        "points": points,
        "engine": engine,
        "ran": "generic" if engine == "generic" or plan is None else "fused",
        "point_s": round(point_s, 4),
        "sweep_s": round(sweep_s, 4),
        "compile_s": round(result.compile_seconds, 4),
        "compilations": result.compilations,
        "parallel_points": available_cpus() if plan is not None else 1,
        "bound_s": round(bound_s, 4),
        "within_bound": sweep_s <= bound_s,
        "rate_hz_first_last": [round(float(rates[0]), 3), round(float(rates[-1]), 3)],
        "jax": jax.__version__,
        "cpu": platform.processor() or platform.machine(),
    }


def brian2_sweep(n, points, duration_s, w_min, w_max, timeout, threads):
    python = PEERS / ".venv-brian2" / "bin" / "python"
    if not python.exists():
        return {"simulator": "brian2", "status": "missing", "detail": f"{python} not found"}
    command = [str(python), str(PEERS / "brian2_sweep.py"), "--n", str(n), "--points", str(points)]
    command += ["--duration", str(duration_s), "--w-min", str(w_min), "--w-max", str(w_max)]
    command += ["--threads", str(threads)]
    try:
        out = subprocess.run(command, cwd=PEERS, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"simulator": "brian2", "status": "timeout", "timeout_s": timeout}
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"simulator": "brian2", "status": "failed", "detail": out.stderr[-2000:]}
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--w-min", type=float, default=3.0, help="inhibitory weight, nS")
    parser.add_argument("--w-max", type=float, default=10.0, help="inhibitory weight, nS")
    parser.add_argument("--engine", choices=["auto", "generic", "fused"], default="auto")
    parser.add_argument("--no-brian2", action="store_true")
    parser.add_argument("--brian2-threads", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600.0, help="Brian2's, seconds")
    args = parser.parse_args()
    ours = brainsim_sweep(args.n, args.points, args.duration, args.w_min, args.w_max, args.engine)
    emit(ours)
    if args.no_brian2:
        return
    theirs = brian2_sweep(
        args.n, args.points, args.duration, args.w_min, args.w_max, args.timeout, args.brian2_threads
    )
    emit(theirs)
    if "total_s" in theirs:
        emit(
            {
                "summary": "sweep",
                "n": args.n,
                "points": args.points,
                "brainsim_sweep_s": ours["sweep_s"],
                "brian2_total_s": theirs["total_s"],
                "brian2_threads": args.brian2_threads,
                "brainsim_parallel_points": ours["parallel_points"],
                "ratio_to_brian2": round(ours["sweep_s"] / theirs["total_s"], 4),
                "within_0.25_of_brian2": ours["sweep_s"] <= 0.25 * theirs["total_s"],
                "within_bound": ours["within_bound"],
            }
        )


if __name__ == "__main__":
    main()
