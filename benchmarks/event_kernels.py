"""Native CPU event kernels vs the pure-JAX reference path of `bs.event_matvec`.

Prints one JSON line per (kernel, n_pre, n_post, fan-out, active spikes): microseconds per call
inside a `jax.lax.scan` of `--steps` calls, median [min, max] of `--repeats` timed runs after one
compile run. Each scan step builds a spike vector with exactly `active` ones (random rows, fixed
per step), propagates it, and folds the result into a decaying accumulator
(`acc = 0.9 * acc + y`), so `baseline_us` (the same body without propagation) is included in
every figure and reported separately.

    python benchmarks/event_kernels.py [--steps 1000] [--repeats 5] [--sizes 4000 40000]
"""

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import brainsim as bs
from brainsim.ops import _native


def _variants(targets, weights, indptr, indices, flat_w, n, k, buffer):
    """kernel name -> (native propagate, reference propagate), spikes -> y: the library's own
    `event_matvec` with `kernel="native"` and `kernel="reference"`, on the same connectivity."""
    ell = bs.ELL(targets, weights, n, max_active=buffer)
    csr = bs.CSR(indptr, indices, flat_w, n, max_active=buffer, max_row_length=k)
    return {
        name: (
            lambda s, conn=conn: bs.event_matvec(conn, s, kernel="native"),
            lambda s, conn=conn: bs.event_matvec(conn, s, kernel="reference"),
        )
        for name, conn in (("ell", ell), ("csr", csr))
    }


def _time(fn, *args, repeats):
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return times


def _scan(propagate, n_pre, n_post):
    def run(active_rows):
        def body(acc, rows):
            spikes = jnp.zeros(n_pre, jnp.float32).at[rows].set(1.0)
            return 0.9 * acc + propagate(spikes), None

        acc, _ = jax.lax.scan(body, jnp.zeros(n_post, jnp.float32), active_rows)
        return acc

    return jax.jit(run)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 40000])
    parser.add_argument("--fan-out", type=int, default=80)
    parser.add_argument("--active", type=int, nargs="+", default=[8, 80])
    args = parser.parse_args()
    if not _native.available():
        print(json.dumps({"error": f"native kernels unavailable: {_native.unavailable_reason()}"}))
        return
    rng = np.random.default_rng(0)
    k = args.fan_out
    for n in args.sizes:
        targets = rng.integers(0, n, (n, k)).astype(np.int32)
        weights = rng.uniform(0.1, 1.0, (n, k)).astype(np.float32)
        indptr = jnp.asarray(np.arange(n + 1) * k, jnp.int32)
        targets, weights = jnp.asarray(targets), jnp.asarray(weights)
        indices, flat_w = targets.ravel(), weights.ravel()
        for active in args.active:
            buffer = 64 if active <= 64 else 128  # nonzero(size=64), widened so nothing drops
            active_rows = np.stack(
                [rng.choice(n, active, replace=False) for _ in range(args.steps)]
            ).astype(np.int32)
            variants = _variants(targets, weights, indptr, indices, flat_w, n, k, buffer)
            base = _time(
                _scan(lambda s, n=n: jnp.zeros(n, jnp.float32) + s[0], n, n),
                active_rows,
                repeats=args.repeats,
            )
            for kernel, (native, reference) in variants.items():
                run_native, run_reference = _scan(native, n, n), _scan(reference, n, n)
                y_native = np.asarray(run_native(active_rows))
                y_reference = np.asarray(run_reference(active_rows))
                max_rel = float(
                    np.max(np.abs(y_native - y_reference)) / np.max(np.abs(y_reference))
                )
                t_native = _time(run_native, active_rows, repeats=args.repeats)
                t_reference = _time(run_reference, active_rows, repeats=args.repeats)
                us = lambda ts: round(statistics.median(ts) / args.steps * 1e6, 2)
                us_range = lambda ts: [
                    round(min(ts) / args.steps * 1e6, 2),
                    round(max(ts) / args.steps * 1e6, 2),
                ]
                print(
                    json.dumps(
                        {
                            "kernel": kernel,
                            "n_pre": n,
                            "n_post": n,
                            "fan_out": k,
                            "active": active,
                            "steps": args.steps,
                            "native_us": us(t_native),
                            "native_us_range": us_range(t_native),
                            "reference_us": us(t_reference),
                            "reference_us_range": us_range(t_reference),
                            "baseline_us": us(base),
                            "speedup": round(
                                statistics.median(t_reference) / statistics.median(t_native), 1
                            ),
                            "reference": f"bs.event_matvec(kernel='reference'), max_active={buffer}",
                            "max_rel_diff": max_rel,
                            "dtype": "float32",
                            "device": jax.devices()[0].device_kind,
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
