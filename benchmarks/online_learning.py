"""Online learning benchmark: BPTT, e-prop and SLTT on spike-encoded digits at T = 100, 1000
and 10000 steps of 1 ms: accuracy after a fixed budget, time per training step, memory.

    .venv/bin/python benchmarks/online_learning.py [--steps 100 1000 10000] [--rules bptt eprop sltt]

Task: scikit-learn's 8x8 digits (`brainsim.train.digits_dataset`'s images), each pixel a
Poisson train at up to `--rate` Hz for T steps, drawn per batch; 64 inputs -> LIF hidden layer
(tau_m = 5 ms, no refractory period) -> leaky readout (tau = 20 ms), cross-entropy at every
step (`stepwise_loss`), Adam scaled per weight block. The hidden layer has 32 neurons and the
batch 32 for T <= 1000; at T = 10000 both are 16 (a tiny network, so that e-prop's
(batch, 64, n_hidden) traces stepped 10,000 times stay quick on a CPU).

Prints one JSON line per (rule, T): `accuracy` (on 320 held-out digits after `train_steps`
steps from the same start), `step_s` (median wall time of one jitted training step),
`temp_mb` (the compiled gradient's temporary memory, `backward_temp_bytes`), `peak_rss_mb`
(the process's peak resident memory so far) and versions.
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
import numpy as np
import optax

import brainsim as bs
from brainsim.train import (
    LeakyReadout,
    SpikingLayer,
    backward_temp_bytes,
    eprop_value_and_grads,
    make_eprop_step,
    make_sltt_step,
    make_step,
    poisson_spikes,
    sltt_value_and_grads,
    stack,
    stepwise_loss,
)

N_TEST = 320


def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.asarray(digits.data, np.float32) / 16.0, np.asarray(digits.target, np.int32)


def _encode(images, n_steps, rate_hz, key):
    return poisson_spikes(images * np.float32(rate_hz), n_steps, dt=1.0, key=key)  # (T, batch, 64)


def _grads_fn(rule):
    if rule == "bptt":

        def value_and_grads(model, x, y):
            (loss, aux), grads = eqx.filter_value_and_grad(stepwise_loss, has_aux=True)(model, x, y)
            return loss, aux, grads

        return value_and_grads
    return eprop_value_and_grads if rule == "eprop" else sltt_value_and_grads


def measure(rule: str, n_steps: int, train_steps: int, rate_hz: float) -> dict:
    hidden, batch = (32, 32) if n_steps <= 1000 else (16, 16)
    images, labels = _digits()
    train_images, train_labels = images[:-N_TEST], labels[:-N_TEST]
    model = stack(
        SpikingLayer(64, hidden, key=jr.key(1), neuron=bs.LIF(g_leak=40.0, t_ref=0.0)),
        LeakyReadout(hidden, 10, key=jr.key(2), tau=20.0),
    )
    optimizer = optax.chain(optax.scale_by_adam(), optax.scale_by_param_block_rms(), optax.scale(-0.1))
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    step = {
        "bptt": lambda: make_step(stepwise_loss, optimizer),
        "eprop": lambda: make_eprop_step(optimizer),
        "sltt": lambda: make_sltt_step(optimizer),
    }[rule]()
    rng = np.random.default_rng(0)
    x0 = _encode(train_images[:batch], n_steps, rate_hz, jr.key(0))
    params, static = eqx.partition(model, eqx.is_inexact_array)
    y0 = jnp.asarray(train_labels[:batch])
    grads = _grads_fn(rule)
    temp_mb = backward_temp_bytes(lambda p: grads(eqx.combine(p, static), x0, y0)[2], params) / 1e6
    times, start_all = [], time.perf_counter()
    for k in range(train_steps):
        idx = rng.choice(len(train_images), batch, replace=False)
        x = _encode(train_images[idx], n_steps, rate_hz, jr.fold_in(jr.key(3), k))
        start = time.perf_counter()
        model, opt_state, loss, _ = step(model, opt_state, x, jnp.asarray(train_labels[idx]))
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - start)
    train_s = time.perf_counter() - start_all
    evaluate = eqx.filter_jit(stepwise_loss)
    correct = 0.0
    for lo in range(0, N_TEST, 32):
        x = _encode(images[-N_TEST:][lo : lo + 32], n_steps, rate_hz, jr.fold_in(jr.key(4), lo))
        correct += float(evaluate(model, x, jnp.asarray(labels[-N_TEST:][lo : lo + 32]))[1]["accuracy"]) * 32
    steady = sorted(times[1:]) if len(times) > 1 else times
    return {
        "benchmark": "online_learning",
        "rule": rule,
        "T": n_steps,
        "batch": batch,
        "n_hidden": hidden,
        "rate_hz": rate_hz,
        "train_steps": train_steps,
        "accuracy": correct / N_TEST,
        "final_loss": float(loss),
        "step_s": steady[len(steady) // 2],
        "first_step_s": times[0],
        "train_s": train_s,
        "temp_mb": temp_mb,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "brainsim": bs.__version__,
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0].device_kind),
        "python": platform.python_version(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--rules", nargs="+", default=["bptt", "eprop", "sltt"])
    parser.add_argument("--train-steps", type=int, default=40)
    parser.add_argument("--rate", type=float, default=100.0, help="Hz of a full-intensity pixel")
    args = parser.parse_args()
    for n_steps in args.steps:
        for rule in args.rules:
            print(json.dumps(measure(rule, n_steps, args.train_steps, args.rate)), flush=True)


if __name__ == "__main__":
    main()
