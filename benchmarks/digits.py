"""Digits accuracy benchmark (issue 14): a recurrent LIF network on scikit-learn's bundled 8x8
digits encoded as spikes, trained with `brainsim.train.fit`.

    .venv/bin/python benchmarks/digits.py [--encoding poisson] [--max-rate 300] [--n-steps 40]
        [--hidden 256] [--epochs 60] [--lr 1e-2] [--batch-size 64] [--reduce max] [--seed 0]

64 inputs (one per pixel) -> `SpikingLayer(..., recurrent=True)` (LIF, CUBA, instantaneous
synapses) -> `LeakyReadout` (10 classes), cross-entropy on the readout's max (or mean) membrane
potential over time (`cross_entropy_membrane`), Adam. The 1797 images are split once by `--seed`
into 1437 training and 360 test images (80/20). Prints one JSON line: `test_accuracy` (on all 360
held-out images, after the last epoch), `train_s` (wall time of `fit`, compilation included),
the settings, the hidden firing rate and versions.
"""

import argparse
import json
import os
import platform
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

import brainsim as bs
from brainsim.train import LeakyReadout, SpikingLayer, cross_entropy_membrane, digits_dataset, fit, stack

N_IN, N_OUT, N_TEST = 64, 10, 360


def split_digits(encoding: str, n_steps: int, key, *, max_rate_hz: float = 300.0):
    """`(train, test)`, each `(x (samples, T, 64), labels)`: sample-first so `fit` can shuffle."""
    k_data, k_split = jr.split(key)
    spikes, labels = digits_dataset(encoding=encoding, n_steps=n_steps, key=k_data, max_rate_hz=max_rate_hz)
    x = jnp.swapaxes(spikes, 0, 1)  # (1797, T, 64)
    order = np.asarray(jr.permutation(k_split, x.shape[0]))
    test, train = order[:N_TEST], order[N_TEST:]
    return (x[train], labels[train]), (x[test], labels[test])


def make_model(hidden: int, key, *, weight_scale: float, recurrent_scale: float, tau_readout: float):
    k_hidden, k_readout = jr.split(key)
    return stack(
        SpikingLayer(
            N_IN,
            hidden,
            key=k_hidden,
            recurrent=True,
            weight_scale=weight_scale,
            recurrent_scale=recurrent_scale,
        ),
        LeakyReadout(hidden, N_OUT, key=k_readout, tau=tau_readout),
    )


def make_loss(reduce: str):
    def loss_fn(model, x, y):
        u = model(x, batch_first=True)  # (batch, T, 10)
        logits = u.max(axis=1) if reduce == "max" else u.mean(axis=1)
        loss = cross_entropy_membrane(u, y, reduce=reduce, batch_first=True)
        return loss, {"accuracy": jnp.mean(jnp.argmax(logits, -1) == y)}

    return loss_fn


def train_digits(
    *,
    encoding: str = "poisson",
    n_steps: int = 40,
    hidden: int = 256,
    epochs: int = 60,
    lr: float = 1e-2,
    lr_final: float | None = None,
    batch_size: int = 64,
    reduce: str = "max",
    weight_scale: float = 10000.0,
    recurrent_scale: float = 1000.0,
    tau_readout: float = 20.0,
    max_rate_hz: float = 300.0,
    seed: int = 0,
) -> dict:
    """Train and evaluate once; the dict printed by the script."""
    k_data, k_model, k_fit = jr.split(jr.key(seed), 3)
    train, test = split_digits(encoding, n_steps, k_data, max_rate_hz=max_rate_hz)
    model = make_model(
        hidden, k_model, weight_scale=weight_scale, recurrent_scale=recurrent_scale, tau_readout=tau_readout
    )
    loss_fn = make_loss(reduce)
    schedule = lr  # constant, or cosine decay from `lr` to `lr_final` over all steps
    if lr_final is not None:
        total = epochs * (train[0].shape[0] // batch_size)
        schedule = optax.cosine_decay_schedule(lr, total, alpha=lr_final / lr)
    start = time.perf_counter()
    model, history = fit(
        model,
        loss_fn,
        optax.adam(schedule),
        train,
        epochs=epochs,
        batch_size=batch_size,
        key=k_fit,
        progress=False,
    )
    jax.block_until_ready(model)
    train_s = time.perf_counter() - start
    _, metrics = eqx.filter_jit(loss_fn)(model, *test)  # all test images in one batch
    hidden_rate = float(model.layers[0](test[0][:64], batch_first=True).mean())
    return {
        "benchmark": "digits",
        "test_accuracy": float(metrics["accuracy"]),
        "train_accuracy": history["accuracy"][-1],
        "train_s": train_s,
        "epochs": epochs,
        "encoding": encoding,
        "n_steps": n_steps,
        "n_in": N_IN,
        "hidden": hidden,
        "n_out": N_OUT,
        "n_train": int(train[0].shape[0]),
        "n_test": int(test[0].shape[0]),
        "batch_size": batch_size,
        "lr": lr,
        "lr_final": lr_final,
        "reduce": reduce,
        "weight_scale_pA": weight_scale,
        "recurrent_scale_pA": recurrent_scale,
        "tau_readout_ms": tau_readout,
        "max_rate_hz": max_rate_hz if encoding == "poisson" else None,
        "hidden_rate_per_step": hidden_rate,
        "seed": seed,
        "brainsim": bs.__version__,
        "jax": jax.__version__,
        "optax": optax.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "backend": jax.default_backend(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoding", choices=["latency", "poisson"], default="poisson")
    parser.add_argument("--n-steps", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--lr-final", type=float, default=None, help="cosine decay to this")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--reduce", choices=["max", "mean"], default="max")
    parser.add_argument("--weight-scale", type=float, default=10000.0, help="pA")
    parser.add_argument("--recurrent-scale", type=float, default=1000.0, help="pA")
    parser.add_argument("--tau-readout", type=float, default=20.0, help="ms")
    parser.add_argument("--max-rate", type=float, default=300.0, help="Hz (poisson)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = train_digits(
        encoding=args.encoding,
        n_steps=args.n_steps,
        hidden=args.hidden,
        epochs=args.epochs,
        lr=args.lr,
        lr_final=args.lr_final,
        batch_size=args.batch_size,
        reduce=args.reduce,
        weight_scale=args.weight_scale,
        recurrent_scale=args.recurrent_scale,
        tau_readout=args.tau_readout,
        max_rate_hz=args.max_rate,
        seed=args.seed,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
