"""brainsim vs Brian2 (C++ standalone, 1 and 2 OpenMP threads) and BrainPy on the same networks.

    .venv/bin/python benchmarks/peers/compare.py [--models coba] [--sizes 4000,40000] \
        [--duration 1.0] [--repeats 3] [--in-degree-above 4000] [--in-degree 80]

Runs, one after another in one invocation, each engine as a subprocess with its own Python:
brainsim's `benchmarks/coba.py` with the project's `.venv`, `brian2_coba.py` with
`benchmarks/peers/.venv-brian2` and `brainpy_coba.py` with `benchmarks/peers/.venv-brainpy`
(made by `make -C benchmarks/peers venvs`). The repeats go round-robin over the engines, so a
slow spell of the machine hits all of them alike. Sizes above `--in-degree-above` use a fixed
in-degree (`--in-degree` inputs per neuron, 80% from E) instead of p = 0.02.

Prints every raw JSON line as the engines print it, a JSON line with `"status"` for an engine
that is missing or failed, then one `"summary"` JSON line per (model, n): medians per engine,
`run_ratio` = brainsim run_s / the engine's run_s (above 1: brainsim is slower), brainsim's
build + compile time and every engine's peak memory. Uses only the standard library.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

PEERS = Path(__file__).resolve().parent
REPO = PEERS.parent.parent
METRICS = ("build_s", "compile_s", "run_s", "spikes", "rate_hz", "peak_rss_mb", "synapses")


def engines(brian_threads):
    """(name, python, script, extra args, cwd) for every engine."""
    core = REPO / ".venv" / "bin" / "python"
    listed = [
        (
            "brainsim",
            core if core.exists() else Path(sys.executable),
            REPO / "benchmarks" / "coba.py",
            ["--repeats", "1"],
            REPO,
        )
    ]
    for threads in brian_threads:
        listed.append(
            (
                f"brian2_{threads}t",
                PEERS / ".venv-brian2" / "bin" / "python",
                PEERS / "brian2_coba.py",
                ["--threads", str(threads)],
                PEERS,
            )
        )
    listed.append(
        (
            "brainpy",
            PEERS / ".venv-brainpy" / "bin" / "python",
            PEERS / "brainpy_coba.py",
            [],
            PEERS,
        )
    )
    return listed


def emit(obj):
    print(json.dumps(obj), flush=True)


def run_one(name, python, script, extra, cwd, model, n, in_degree, duration, timeout):
    """Runs one engine once; returns its parsed JSON result, or None after printing why not."""
    where = {"runner": name, "model": model, "n": n, "in_degree": in_degree}
    if not Path(python).exists():
        hint = (
            "make -C benchmarks/peers venvs" if name != "brainsim" else "make (the project's .venv)"
        )
        emit({**where, "status": "missing", "detail": f"{python} not found: run `{hint}`"})
        return None
    if not Path(script).exists():
        emit({**where, "status": "missing", "detail": f"{script} not found"})
        return None
    cmd = [
        str(python),
        str(script),
        "--model",
        model,
        "--n",
        str(n),
        "--duration",
        str(duration),
        *extra,
    ]
    if in_degree is not None:
        cmd += ["--in-degree", str(in_degree)]
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        emit({**where, "status": "failed", "detail": f"timed out after {timeout} s", "cmd": cmd})
        return None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        emit(
            {
                **where,
                "status": "failed",
                "returncode": proc.returncode,
                "cmd": cmd,
                "stderr_tail": proc.stderr.strip().splitlines()[-5:],
            }
        )
        return None
    try:
        result = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        emit({**where, "status": "failed", "detail": f"unparsable output: {exc}", "cmd": cmd})
        return None
    print(lines[-1], flush=True)  # the raw line, as the engine printed it
    return result


def median_of(results):
    summary = {"repeats": len(results)}
    for key in METRICS:
        values = [r[key] for r in results if isinstance(r.get(key), (int, float))]
        if values:
            value = statistics.median(values)
            summary[key] = round(value) if key in ("spikes", "synapses") else round(value, 4)
    if "build_s" in summary and "compile_s" in summary:
        summary["build_compile_s"] = round(
            statistics.median(r["build_s"] + r["compile_s"] for r in results), 4
        )
    for key in ("brian2", "brainpy", "jax", "device", "threads"):
        if key in results[0]:
            summary[key] = results[0][key]
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="coba", help="comma-separated: coba,cuba,cobahh")
    parser.add_argument("--sizes", default="4000,40000", help="comma-separated network sizes")
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--in-degree-above",
        type=int,
        default=4000,
        help="sizes above this use a fixed in-degree instead of p = 0.02",
    )
    parser.add_argument("--in-degree", type=int, default=80)
    parser.add_argument("--brian-threads", default="1,2", help="OpenMP thread counts for Brian2")
    parser.add_argument(
        "--engines",
        default=None,
        help="comma-separated subset of brainsim,brian2_1t,brian2_2t,brainpy",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per subprocess")
    args = parser.parse_args()

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    listed = engines([int(t) for t in args.brian_threads.split(",") if t.strip()])
    if args.engines:
        wanted = {e.strip() for e in args.engines.split(",")}
        listed = [e for e in listed if e[0] in wanted]

    for model in models:
        for n in sizes:
            in_degree = args.in_degree if n > args.in_degree_above else None
            results = {name: [] for name, *_ in listed}
            absent = set()
            loads = []
            for _ in range(args.repeats):
                for name, python, script, extra, cwd in listed:
                    if name in absent:
                        continue
                    loads.append(os.getloadavg()[0])
                    result = run_one(
                        name,
                        python,
                        script,
                        extra,
                        cwd,
                        model,
                        n,
                        in_degree,
                        args.duration,
                        args.timeout,
                    )
                    if result is None:
                        if not Path(python).exists() or not Path(script).exists():
                            absent.add(name)  # say it once, then go on without it
                        continue
                    results[name].append(result)

            summary = {
                "summary": True,
                "model": model,
                "n": n,
                "in_degree": in_degree,
                "p": None if in_degree is not None else 0.02,
                "duration": args.duration,
                "dt": 0.1,
            }
            medians = {name: median_of(rs) for name, rs in results.items() if rs}
            summary["engines"] = medians
            brainsim = medians.get("brainsim")
            summary["brainsim_run_s"] = brainsim.get("run_s") if brainsim else None
            summary["brainsim_build_compile_s"] = (
                brainsim.get("build_compile_s") if brainsim else None
            )
            summary["run_ratio"] = {
                f"brainsim/{name}": (
                    round(brainsim["run_s"] / m["run_s"], 3)
                    if brainsim and m.get("run_s")
                    else None
                )
                for name, m in medians.items()
                if name != "brainsim"
            }
            summary["rate_hz"] = {name: m.get("rate_hz") for name, m in medians.items()}
            summary["peak_rss_mb"] = {name: m.get("peak_rss_mb") for name, m in medians.items()}
            summary["missing"] = sorted(name for name, rs in results.items() if not rs)
            # Other work on the machine skews timings (2 OpenMP threads on 2 cores above all).
            summary["max_loadavg_1min_before_runs"] = round(max(loads), 2) if loads else None
            summary["cpu_count"] = os.cpu_count()
            emit(summary)


if __name__ == "__main__":
    main()
