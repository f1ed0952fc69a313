"""The training step of `benchmarks/train_step.py` in Spyx 1.0 (JAX + Flax NNX, CPU), written the
way Spyx's examples write it: a `spyx.nn.Sequential` of `nnx.Linear`, `spyx.nn.RLIF` and
`spyx.nn.LI` run over time by `spyx.nn.run` (one `lax.scan`), `nnx.value_and_grad`, an
`nnx.Optimizer` with `optax.adam`, the step under `nnx.jit`.

    benchmarks/peers/.venv-spyx/bin/python benchmarks/peers/train_spyx.py --steps 100 500

700 Poisson inputs (5% per step) -> 256 recurrent LIF (beta = exp(-dt / 20 ms), threshold 1,
SuperSpike surrogate) -> 20 leaky readouts, batch 64, cross-entropy on the time-averaged readout,
Adam (lr 1e-3). Prints one JSON line per T: `step_s` (median wall time of one jitted step),
`compile_s`, `peak_rss_mb`, versions.
"""

import math
import time

import jax
import jax.numpy as jnp
import optax
import spyx
from _train_report import main, step_record
from flax import nnx
from spyx import nn as snn

N_IN, N_HIDDEN, N_OUT, BATCH, INPUT_P = 700, 256, 20, 64, 0.05
BETA = math.exp(-1.0 / 20.0)


def build(rngs):
    return snn.Sequential(
        nnx.Linear(N_IN, N_HIDDEN, use_bias=False, rngs=rngs),
        snn.RLIF((N_HIDDEN,), beta=BETA, rngs=rngs),
        nnx.Linear(N_HIDDEN, N_OUT, use_bias=False, rngs=rngs),
        snn.LI((N_OUT,), beta=BETA, rngs=rngs),
    )


def loss_fn(model, x, y):
    readout, _ = snn.run(model, x)  # (T, batch, n_out), time-major
    return optax.softmax_cross_entropy_with_integer_labels(readout.mean(0), y).mean()


@nnx.jit
def train_step(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
    optimizer.update(model, grads)
    return loss


def measure(n_steps: int, repeats: int) -> dict:
    model = build(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)
    kx, ky = jax.random.split(jax.random.key(1))
    x = (jax.random.uniform(kx, (n_steps, BATCH, N_IN)) < INPUT_P).astype(jnp.float32)
    y = jax.random.randint(ky, (BATCH,), 0, N_OUT)
    start = time.perf_counter()
    loss = jax.block_until_ready(train_step(model, optimizer, x, y))
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss = jax.block_until_ready(train_step(model, optimizer, x, y))
        times.append(time.perf_counter() - start)
    hidden = snn.Sequential(*model.layers[:2])
    spikes, _ = snn.run(hidden, x)
    return step_record(
        "spyx", n_steps, BATCH, times, compile_s, float(spikes.mean()), float(loss),
        spyx=spyx.__version__, jax=jax.__version__,
    )


if __name__ == "__main__":
    main(measure, __doc__.splitlines()[0])
