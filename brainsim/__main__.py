"""Command line: `python -m brainsim demo [--n N] [--duration MS] [--out DIR]`."""

import argparse
import pathlib
import time

import jax
import jax.random as jr
import numpy as np


def demo(n: int, duration: float, out: pathlib.Path, seed: int) -> dict:
    """COBA benchmark network: build, compile, run, summarise, plot."""
    import brainsim as bs

    key_net, key_sim = jr.split(jr.key(seed))
    start = time.perf_counter()
    network = bs.models.COBANetwork(n=n, key=key_net)
    jax.block_until_ready(network)
    build_s = time.perf_counter() - start

    def run():  # compile on the first call; the second call reuses the compiled chunk
        start = time.perf_counter()
        result = bs.simulate(network, duration, 0.1, key=key_sim, progress=False)
        jax.block_until_ready(result.final_state)
        return result, time.perf_counter() - start

    _, first_s = run()
    result, run_s = run()

    times = np.concatenate([r.times for r in result.spikes.values()])
    offsets = np.cumsum([0] + [result.population_sizes[k] for k in result.spikes])[:-1]
    indices = np.concatenate(
        [r.indices + o for r, o in zip(result.spikes.values(), offsets, strict=True)]
    )
    summary = {
        "n": n,
        "duration_ms": duration,
        "rate_hz": float(len(times) / (n * duration * 1e-3)),
        "cv_isi": bs.analysis.isi_cv(times, indices),
        "build_s": round(build_s, 3),
        "compile_s": round(max(first_s - run_s, 0.0), 3),
        "run_s": round(run_s, 3),
    }
    out.mkdir(parents=True, exist_ok=True)
    bs.analysis.plot_summary(result, path=out / "coba_raster.png")
    return summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="brainsim")
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="COBA N=4,000 for 1 s: rates, CV, timings, plot")
    demo_parser.add_argument("--n", type=int, default=4000)
    demo_parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    demo_parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("demo_output"))
    demo_parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    summary = demo(args.n, args.duration, args.out, args.seed)
    for name, value in summary.items():
        print(f"{name:>12}: {value}")
    print(f"{'plot':>12}: {args.out / 'coba_raster.png'}")


if __name__ == "__main__":
    main()
