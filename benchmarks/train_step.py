"""Training-step benchmark: 700 Poisson inputs (5% per step) -> 256 recurrent LIF -> 20 leaky
readouts, batch 64, Adam, cross-entropy on the time-averaged readout; T = 100 and 500 steps.

    .venv/bin/python benchmarks/train_step.py [--steps 100 500] [--repeats 20] [--checkpoint-every C]
    .venv/bin/python benchmarks/train_step.py --peers --steps 100 --repeats 10 --rounds 3

Prints one JSON line per T: `step_s` (median wall time of one jitted step: forward, BPTT and
the Adam update), `compile_s`, `peak_rss_mb` (the process's peak resident memory so far),
firing rates and versions.

`--peers` runs the same step side by side in one invocation: brainsim (this script, in a fresh
process) and its peers, each in its own venv and its own idiomatic loop
(`benchmarks/peers/train_snntorch.py`, `train_spyx.py`, `train_brainpy.py`; build the venvs
with `make -C benchmarks/peers train`), `--rounds` round-robin rounds per T, each engine in a
fresh process (a missing venv is reported once and skipped). It prints every engine's JSON line,
then per T a `"summary"` line with each engine's median `step_s` and `peak_rss_mb` over the
rounds, `best_peer`, `ratio` (brainsim step_s / best peer's; issue 14's target is <= 0.5),
`memory_ratio` (brainsim peak_rss_mb / the lowest peer's) and the highest 1-minute load average
seen before a run. Record a run with
`python benchmarks/results/render.py record train_step.jsonl -- python benchmarks/train_step.py --peers ...`.
The machine is shared: compare ratios from one invocation, not step times across runs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from peers._train_report import step_record  # the record the peer scripts print too

import brainsim as bs
from brainsim.train import LeakyReadout, SpikingLayer, make_step, stack

N_IN, N_HIDDEN, N_OUT, BATCH, INPUT_P = 700, 256, 20, 64, 0.05


def loss_fn(model, x, y):
    logits = model(x).mean(axis=0)  # (batch, n_out)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, {"accuracy": jnp.mean(jnp.argmax(logits, -1) == y)}


def measure(n_steps: int, repeats: int, checkpoint_every: int | None) -> dict:
    keys = jr.split(jr.key(0), 4)
    model = stack(
        SpikingLayer(
            N_IN,
            N_HIDDEN,
            key=keys[0],
            recurrent=True,
            recurrent_scale=1000.0,
            checkpoint_every=checkpoint_every,
        ),
        LeakyReadout(N_HIDDEN, N_OUT, key=keys[1], checkpoint_every=checkpoint_every),
    )
    x = (jr.uniform(keys[2], (n_steps, BATCH, N_IN)) < INPUT_P).astype(jnp.float32)
    y = jr.randint(keys[3], (BATCH,), 0, N_OUT)
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    step = make_step(loss_fn, optimizer)
    start = time.perf_counter()
    model, opt_state, loss, _ = step(model, opt_state, x, y)
    jax.block_until_ready(loss)
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model, opt_state, loss, _ = step(model, opt_state, x, y)
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - start)
    # the diagnostic hidden rate after the timed steps and jitted, like the training step (an
    # eager, op-by-op forward pass before the steps raised the peak memory by ~30 MB)
    hidden_rate = float(eqx.filter_jit(lambda model, x: model.layers[0](x).mean())(model, x))
    return step_record(
        "brainsim",
        n_steps,
        BATCH,
        times,
        compile_s,
        hidden_rate,
        float(loss),
        n_in=N_IN,
        n_hidden=N_HIDDEN,
        n_out=N_OUT,
        input_p=INPUT_P,
        checkpoint_every=checkpoint_every,
        brainsim=bs.__version__,
        jax=jax.__version__,
        backend=jax.default_backend(),
    )


PEERS = Path(__file__).resolve().parent / "peers"
ENGINES = {  # name: (interpreter, script), each peer in its own venv (`make -C benchmarks/peers train`)
    "brainsim": (Path(sys.executable), Path(__file__).resolve()),
    "snntorch": (PEERS / ".venv-snntorch" / "bin" / "python", PEERS / "train_snntorch.py"),
    "spyx": (PEERS / ".venv-spyx" / "bin" / "python", PEERS / "train_spyx.py"),
    "brainpy": (PEERS / ".venv-brainpy" / "bin" / "python", PEERS / "train_brainpy.py"),
}


def run_engine(name: str, n_steps: int, repeats: int, timeout: float) -> dict:
    """One engine's JSON line for `n_steps` from a fresh process, or a `status` line saying why not."""
    python, script = ENGINES[name]
    where = {"engine": name, "T": n_steps}
    if not python.exists():
        hint = "make -C benchmarks/peers train"
        return {**where, "status": "missing", "detail": f"{python} not found: run `{hint}`"}
    cmd = [str(python), str(script), "--steps", str(n_steps), "--repeats", str(repeats)]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {**where, "status": "failed", "detail": f"timed out after {timeout} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.splitlines()[-5:]
        return {**where, "status": "failed", "returncode": done.returncode, "stderr_tail": tail}
    return {"engine": name, **json.loads(lines[-1])}


def compare(steps: list[int], repeats: int, rounds: int, engines: list[str], timeout: float):
    """brainsim and the peers side by side: `rounds` round-robin rounds per T, each engine in a
    fresh process; prints every engine's line, then one summary line per T with the medians over
    rounds and `ratio` = brainsim step_s / best peer step_s (below 0.5 meets issue 14's target)."""
    for n_steps in steps:
        results = {name: [] for name in engines}
        loads = []
        for _ in range(rounds):
            for name in engines:
                if results[name] is None:
                    continue
                loads.append(os.getloadavg()[0])
                line = run_engine(name, n_steps, repeats, timeout)
                print(json.dumps(line), flush=True)
                if "status" in line:
                    results[name] = None  # say it once, go on without it
                else:
                    results[name].append(line)
        medians = {
            name: {
                "step_s": round(statistics.median(r["step_s"] for r in runs), 5),
                "peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in runs), 1),
                "hidden_spikes_per_step": round(runs[0]["hidden_spikes_per_step"], 4),
            }
            for name, runs in results.items()
            if runs
        }
        peers = {name: m for name, m in medians.items() if name != "brainsim"}
        summary = {"summary": True, "benchmark": "train_step", "T": n_steps, "rounds": rounds}
        summary["engines"] = medians
        if "brainsim" in medians and peers:
            best = min(peers, key=lambda name: peers[name]["step_s"])
            summary.update(
                best_peer=best,
                ratio=round(medians["brainsim"]["step_s"] / peers[best]["step_s"], 3),
                memory_ratio=round(
                    medians["brainsim"]["peak_rss_mb"] / min(p["peak_rss_mb"] for p in peers.values()), 3
                ),
            )
        summary["max_loadavg_1min_before_runs"] = round(max(loads), 2)
        print(json.dumps(summary), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--checkpoint-every", type=int, default=None)
    parser.add_argument("--peers", action="store_true", help="run brainsim and the peers side by side")
    parser.add_argument("--rounds", type=int, default=3, help="with --peers: round-robin rounds per T")
    parser.add_argument("--engines", default=",".join(ENGINES), help="with --peers: comma-separated subset")
    parser.add_argument("--timeout", type=float, default=1800.0, help="with --peers: seconds per process")
    args = parser.parse_args()
    if args.peers:
        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        unknown = set(engines) - set(ENGINES)
        if unknown:
            parser.error(f"--engines: unknown {sorted(unknown)}; choose from {sorted(ENGINES)}")
        compare(args.steps, args.repeats, args.rounds, engines, args.timeout)
        return
    for n_steps in args.steps:
        print(json.dumps(measure(n_steps, args.repeats, args.checkpoint_every)), flush=True)


if __name__ == "__main__":
    main()
