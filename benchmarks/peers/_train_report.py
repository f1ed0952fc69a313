"""What the peer training-step scripts (`train_snntorch.py`, `train_spyx.py`, `train_brainpy.py`)
share: the JSON line of one measured T and the command line. Standard library only, since each
script runs in its own peer's virtual environment."""

import argparse
import json
import platform
import resource


def step_record(engine: str, n_steps: int, batch: int, times: list[float], compile_s: float,
                hidden_rate: float, loss: float, **fields) -> dict:
    """One JSON line: the median and minimum step time of `times` (seconds), the compile time,
    the process's peak resident memory, the hidden spike rate, the last loss and `fields`
    (versions; brainsim's `benchmarks/train_step.py` adds its sizes)."""
    times = sorted(times)
    return {
        "engine": engine,
        "benchmark": "train_step",
        "T": n_steps,
        "batch": batch,
        "step_s": times[len(times) // 2],
        "step_min_s": times[0],
        "compile_s": compile_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "hidden_spikes_per_step": hidden_rate,
        "loss": loss,
        **fields,
        "python": platform.python_version(),
    }


def main(measure, description: str) -> None:
    """`--steps` (one or more T) and `--repeats`: print `measure(T, repeats)` for each T."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    for n_steps in args.steps:
        print(json.dumps(measure(n_steps, args.repeats)), flush=True)
