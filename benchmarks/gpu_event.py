"""GPU event kernels: the pure-JAX reference vs the Pallas kernel of `bs.event_matvec`.

Prints one JSON line per (format, kernel, n): microseconds per step inside a `jax.lax.scan` of
`--steps` steps, median [min, max] of `--repeats` timed runs after one compile run. The network
has `n` presynaptic and `n` postsynaptic neurons, fan-out `--degree` (so a mean in-degree of
`--degree`) with random targets and weights, stored as `ELL` and as `CSR`. Each step builds a
spike vector with `round(--active * n)` ones (random rows, fixed per step), propagates it and
folds it into a decaying accumulator (`acc = 0.9 * acc + y + spikes`: the spikes keep the
baseline from dropping their construction); `baseline_us` (the same body with `y = 0`) is
included in every figure and reported on its own line.
`max_abs_diff` compares the final accumulator of each kernel with the reference's.

    python benchmarks/gpu_event.py                                  # on a GPU machine
    python benchmarks/gpu_event.py --interpret --n 4000 --steps 10  # CPU smoke test

Off GPU the Pallas kernel runs in interpret mode, which is slow and says nothing about GPU
speed; `--interpret` must then be given to acknowledge it.
"""

import argparse
import json
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import brainsim as bs
from brainsim.ops import pallas_event


def _connectivity(n: int, degree: int, active: int, rng) -> dict:
    targets = jnp.asarray(rng.integers(0, n, (n, degree), dtype=np.int32))
    weights = jnp.asarray(rng.uniform(0.1, 1.0, (n, degree)).astype(np.float32))
    indptr = jnp.asarray(np.arange(n + 1) * degree, jnp.int32)
    max_active = min(n, max(2 * active, 64))  # room for twice the expected activity
    return {
        "ell": bs.ELL(targets, weights, n, max_active=max_active),
        "csr": bs.CSR(
            indptr, targets.ravel(), weights.ravel(), n, max_active=max_active, max_row_length=degree
        ),
    }


def _variants(conn, block_rows: list[int]) -> dict:
    """kernel name -> spikes -> y."""
    variants = {
        "reference": lambda s: bs.event_matvec(conn, s, kernel="reference"),
        "pallas": lambda s: bs.event_matvec(conn, s, kernel="pallas"),
    }
    for rows in block_rows:  # the Pallas forward with another block size (no VJP needed here)
        if isinstance(conn, bs.ELL):
            fn = lambda s, r=rows: pallas_event.ell_event_matvec(
                conn.targets, conn.weights, s, conn.n_post, block_rows=r
            )
        else:
            fn = lambda s, r=rows: pallas_event.csr_event_matvec(
                conn.indptr, conn.indices, conn.weights, s, conn.n_post, conn.max_row_length, block_rows=r
            )
        variants[f"pallas-b{rows}"] = fn
    return variants


def _scan(propagate, n: int):
    def run(active_rows):
        def body(acc, rows):
            spikes = jnp.zeros(n, jnp.float32).at[rows].set(1.0)
            y = jnp.zeros(n, jnp.float32) if propagate is None else propagate(spikes)
            return 0.9 * acc + y + spikes, None

        acc, _ = jax.lax.scan(body, jnp.zeros(n, jnp.float32), active_rows)
        return acc

    return jax.jit(run)


def _time(fn, arg, repeats: int) -> tuple[list[float], jax.Array]:
    out = jax.block_until_ready(fn(arg))  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(arg))
        times.append(time.perf_counter() - t0)
    return times, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[4000, 40000, 400000])
    parser.add_argument("--degree", type=int, default=80, help="synapses per neuron (in and out)")
    parser.add_argument("--active", type=float, default=0.02, help="fraction of rows spiking per step")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--formats", nargs="+", default=["ell", "csr"], choices=["ell", "csr"])
    parser.add_argument(
        "--block-rows", type=int, nargs="*", default=[], help="extra Pallas block sizes to time"
    )
    parser.add_argument("--interpret", action="store_true", help="allow interpret mode (no GPU)")
    args = parser.parse_args()
    backend = jax.default_backend()
    if backend != "gpu" and not args.interpret:
        print(json.dumps({"error": f"backend is {backend!r}, not 'gpu'; pass --interpret to run anyway"}))
        sys.exit(2)
    common = {
        "device": str(jax.devices()[0].device_kind),
        "backend": backend,
        "interpret": backend != "gpu",
        "jax": jax.__version__,
        "steps": args.steps,
        "degree": args.degree,
    }
    rng = np.random.default_rng(0)
    for n in args.n:
        active = max(1, round(args.active * n))
        rows = np.stack([rng.choice(n, active, replace=False) for _ in range(args.steps)])
        rows = jnp.asarray(rows.astype(np.int32))
        per_n = {**common, "n": n, "active": active}
        times, _ = _time(_scan(None, n), rows, args.repeats)
        baseline = 1e6 * statistics.median(times) / args.steps
        print(json.dumps({**per_n, "kernel": "baseline", "us_per_step": round(baseline, 2)}), flush=True)
        for fmt, conn in _connectivity(n, args.degree, active, rng).items():
            if fmt not in args.formats:
                continue
            reference_out = None
            for kernel, propagate in _variants(conn, args.block_rows).items():
                times, out = _time(_scan(propagate, n), rows, args.repeats)
                reference_out = out if reference_out is None else reference_out
                us = [1e6 * t / args.steps for t in times]
                record = {
                    **per_n,
                    "format": fmt,
                    "kernel": kernel,
                    "us_per_step": round(statistics.median(us), 2),
                    "us_min": round(min(us), 2),
                    "us_max": round(max(us), 2),
                    "baseline_us": round(baseline, 2),
                    "max_abs_diff": float(jnp.max(jnp.abs(out - reference_out))),
                }
                print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
