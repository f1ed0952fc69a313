"""The training step of `benchmarks/train_step.py` in BrainPy 2.9 (JAX, CPU), written the way
BrainPy's training examples write it: a `bp.DynamicalSystem` of `bp.dnn.Linear` projections, a
`bp.dyn.Lif` population fed back its previous spikes and a `bp.dyn.Leaky` readout, stepped over
time by `bm.for_loop(model.step_run, ...)` in training mode, `bm.grad` over the model's trainable
variables, `bp.optim.Adam`, the step under `bm.jit`.

    benchmarks/peers/.venv-brainpy/bin/python benchmarks/peers/train_brainpy.py --steps 100 500

700 Poisson inputs (5% per step) -> 256 recurrent LIF (tau 20 ms, threshold 1, reset to 0,
BrainPy's default surrogate) -> 20 leaky readouts (tau 20 ms), dt = 1 ms, batch 64,
cross-entropy on the time-averaged readout, Adam (lr 1e-3). Prints one JSON line per T:
`step_s` (median wall time of one jitted step), `compile_s`, `peak_rss_mb`, versions.
"""

import time

import brainpy as bp
import brainpy.math as bm
import jax
import numpy as np
import optax
from _train_report import main, step_record

N_IN, N_HIDDEN, N_OUT, BATCH, INPUT_P = 700, 256, 20, 64, 0.05


class RecurrentSNN(bp.DynamicalSystem):
    def __init__(self):
        super().__init__()
        # input weights N(0, 1): about 2.5% of the hidden units spike per step, as in brainsim's run
        self.i2r = bp.dnn.Linear(N_IN, N_HIDDEN, W_initializer=bp.init.Normal(scale=1.0))
        self.r2r = bp.dnn.Linear(N_HIDDEN, N_HIDDEN, W_initializer=bp.init.KaimingNormal(scale=0.5))
        self.r = bp.dyn.Lif(N_HIDDEN, tau=20.0, V_rest=0.0, V_reset=0.0, V_th=1.0)
        self.r2o = bp.dnn.Linear(N_HIDDEN, N_OUT)
        self.o = bp.dyn.Leaky(N_OUT, tau=20.0)

    def update(self, x):
        spikes = self.r(self.i2r(x) + self.r2r(self.r.spike.value))
        return self.o(self.r2o(spikes)), spikes


def measure(n_steps: int, repeats: int) -> dict:
    bm.random.seed(0)
    model = RecurrentSNN()
    optimizer = bp.optim.Adam(lr=1e-3, train_vars=model.train_vars().unique())
    rng = np.random.default_rng(1)
    x = bm.asarray((rng.random((n_steps, BATCH, N_IN)) < INPUT_P).astype(np.float32))
    y = bm.asarray(rng.integers(0, N_OUT, BATCH))

    def run(xs):
        bp.reset_state(model, BATCH)
        return bm.for_loop(model.step_run, (np.arange(n_steps), xs))

    def loss_fn(xs, ys):
        readout, spikes = run(xs)
        loss = optax.softmax_cross_entropy_with_integer_labels(readout.mean(0), ys).mean()
        return loss, spikes

    grad_fn = bm.grad(loss_fn, grad_vars=optimizer.vars_to_train, return_value=True, has_aux=True)

    @bm.jit
    def train_step(xs, ys):
        grads, loss, spikes = grad_fn(xs, ys)
        optimizer.update(grads)
        return loss, spikes.mean()

    with bm.environment(mode=bm.training_mode, dt=1.0):
        start = time.perf_counter()
        loss, rate = jax.block_until_ready(train_step(x, y))
        compile_s = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            loss, rate = jax.block_until_ready(train_step(x, y))
            times.append(time.perf_counter() - start)
    return step_record(
        "brainpy", n_steps, BATCH, times, compile_s, float(rate), float(loss),
        brainpy=bp.__version__, jax=jax.__version__,
    )


if __name__ == "__main__":
    bm.set_environment(mode=bm.training_mode, dt=1.0)
    main(measure, __doc__.splitlines()[0])
