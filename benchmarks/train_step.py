"""Training-step benchmark: 700 Poisson inputs (5% per step) -> 256 recurrent LIF -> 20 leaky
readouts, batch 64, Adam, cross-entropy on the time-averaged readout; T = 100 and 500 steps.

    .venv/bin/python benchmarks/train_step.py [--steps 100 500] [--repeats 20] [--checkpoint-every C]

Prints one JSON line per T: `step_s` (median wall time of one jitted step: forward, BPTT and
the Adam update), `compile_s`, `peak_rss_mb` (the process's peak resident memory so far),
firing rates and versions. Peers measured on the same 2-core CPU (issue 14): BrainPy 2.9 35 ms,
Spyx 41 ms, snnTorch 81 ms, plain-JAX scan 40 ms per step at T = 100.
"""

import argparse
import json
import platform
import resource
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax

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
        SpikingLayer(N_IN, N_HIDDEN, key=keys[0], recurrent=True, recurrent_scale=1000.0,
                     checkpoint_every=checkpoint_every),
        LeakyReadout(N_HIDDEN, N_OUT, key=keys[1], checkpoint_every=checkpoint_every),
    )
    x = (jr.uniform(keys[2], (n_steps, BATCH, N_IN)) < INPUT_P).astype(jnp.float32)
    y = jr.randint(keys[3], (BATCH,), 0, N_OUT)
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    step = make_step(loss_fn, optimizer)
    hidden_rate = float(model.layers[0](x).mean())
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
    times.sort()
    return {
        "benchmark": "train_step",
        "T": n_steps,
        "batch": BATCH,
        "n_in": N_IN,
        "n_hidden": N_HIDDEN,
        "n_out": N_OUT,
        "input_p": INPUT_P,
        "checkpoint_every": checkpoint_every,
        "step_s": times[len(times) // 2],
        "step_min_s": times[0],
        "compile_s": compile_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "hidden_spikes_per_step": hidden_rate,
        "loss": float(loss),
        "brainsim": bs.__version__,
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "python": platform.python_version(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--checkpoint-every", type=int, default=None)
    args = parser.parse_args()
    for n_steps in args.steps:
        print(json.dumps(measure(n_steps, args.repeats, args.checkpoint_every)), flush=True)


if __name__ == "__main__":
    main()
