"""Writes training.ipynb (kept as code so the notebook stays reviewable). Run: python make_training.py"""

import nbformat as nbf

cells = [
    ("md", r"""# Training a spiking network on digits: BPTT and e-prop

A spiking classifier for scikit-learn's 8x8 handwritten digits (1797 images, bundled with
scikit-learn, nothing downloaded), trained two ways on the same objective:

- **surrogate-gradient BPTT**: `jax.grad` through the whole sequence, with the spike's
  derivative replaced by a surrogate in the backward pass;
- **e-prop** (Bellec et al. 2020, *A solution to the learning dilemma for recurrent networks
  of spiking neurons*, Nat. Commun. 11:3625): eligibility traces per synapse and a learning
  signal from the readout error, all computed forward in time, so memory does not grow with
  the length of the sequence.

Each pixel becomes a Poisson spike train (`brainsim.train.digits_dataset`); 64 inputs drive a
layer of LIF neurons whose spikes a leaky readout integrates. The loss is the cross-entropy of
the readout at every step (`brainsim.train.stepwise_loss`). See the *Training* and *Online
learning* pages of the docs for the equations.

Units: ms, mV, pA, pF, nS; rates in Hz."""),
    ("code", """import time

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np
import optax

import brainsim as bs
from brainsim.train import LeakyReadout, SpikingLayer, stack"""),
    ("code_parameters", """# Small sizes, so that the test suite runs this notebook quickly. A longer study:
# N_STEPS = 25, N_HIDDEN = 128, N_TRAIN = 1400, EPOCHS = 20.
N_STEPS = 10  # steps of DT ms per image
DT = 1.0  # ms
MAX_RATE_HZ = 500.0  # Hz, rate of a full-intensity pixel
N_HIDDEN = 32  # LIF neurons
N_TRAIN = 1200  # training images (the rest of the 1797 are the test set)
BATCH = 100
EPOCHS = 3
LEARNING_RATE = 0.1  # relative to each weight block's RMS"""),
    ("md", r"""## Spike-encoded digits
Pixel intensity $x = I/16 \in [0, 1]$ sets a Poisson rate $x \cdot$ `MAX_RATE_HZ`: each step of
`DT` ms spikes with probability $x \cdot r_\max \cdot \Delta t \cdot 10^{-3}$."""),
    ("code", """spikes, labels = bs.train.digits_dataset(
    encoding="poisson", n_steps=N_STEPS, dt=DT, key=jr.key(0), max_rate_hz=MAX_RATE_HZ
)  # (T, 1797, 64) float32 0/1, (1797,) int32
train = (jnp.swapaxes(spikes[:, :N_TRAIN], 0, 1), labels[:N_TRAIN])  # sample first, for minibatches
test_x, test_y = spikes[:, N_TRAIN:], labels[N_TRAIN:]
print("input spikes per image:", float(spikes.sum(axis=(0, 2)).mean()), "| test images:", test_y.shape[0])

fig, axes = plt.subplots(1, 5, figsize=(10, 2))
for ax, k in zip(axes, range(5), strict=True):
    ax.imshow(np.asarray(spikes[:, k].sum(0)).reshape(8, 8), cmap="gray_r")
    ax.set_title(f"label {int(labels[k])}")
    ax.axis("off")
fig.suptitle("spike counts per pixel");"""),
    ("md", r"""## The model and the objective
`SpikingLayer` is a population of `bs.LIF` neurons (here $\tau_m = C_m/g_L$ = 200 pF / 40 nS
= 5 ms, no refractory period) driven through weights in pA per input spike; `LeakyReadout`
integrates the hidden spikes, $u^t = \kappa u^{t-1} + (1-\kappa)(z^t W + b)$ with
$\kappa = e^{-\Delta t/\tau}$. The objective averages the softmax cross-entropy of $u^t$ over
the steps; the accuracy reads the argmax of the time-averaged readout.

The optimizer is Adam whose update is scaled by the RMS of each weight block
(`optax.scale_by_param_block_rms`), so one learning rate suits input weights of hundreds of pA
and readout weights near 1."""),
    ("code", """def new_model():
    return stack(
        SpikingLayer(64, N_HIDDEN, key=jr.key(1), neuron=bs.LIF(g_leak=40.0, t_ref=0.0), dt=DT),
        LeakyReadout(N_HIDDEN, 10, key=jr.key(2), tau=5.0, dt=DT),
    )


optimizer = optax.chain(optax.scale_by_adam(), optax.scale_by_param_block_rms(), optax.scale(-LEARNING_RATE))
evaluate = eqx.filter_jit(bs.train.stepwise_loss)


def train_with(step):
    model = new_model()
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    history = {"loss": [], "test_accuracy": []}
    start = time.perf_counter()
    for epoch in range(EPOCHS):
        for xb, yb in bs.train.minibatches(train, BATCH, key=jr.fold_in(jr.key(3), epoch)):
            model, opt_state, loss, _ = step(model, opt_state, xb, yb)
            history["loss"].append(float(loss))
        history["test_accuracy"].append(float(evaluate(model, test_x, test_y)[1]["accuracy"]))
    print(f"{time.perf_counter() - start:.1f} s, test accuracy by epoch:",
          [round(a, 3) for a in history["test_accuracy"]])
    return model, history


print("untrained test accuracy:", float(evaluate(new_model(), test_x, test_y)[1]["accuracy"]))"""),
    ("md", r"""## Surrogate-gradient BPTT
`make_step(loss_fn, optimizer)` differentiates `loss_fn` with `jax.grad`: the backward pass
runs through all `N_STEPS` steps, with the surrogate derivative of `bs.LIF`'s spike."""),
    ("code", """def loss_fn(model, x, y):  # minibatches are sample first
    return bs.train.stepwise_loss(model, x, y, batch_first=True)


bptt_model, bptt_history = train_with(bs.train.make_step(loss_fn, optimizer))"""),
    ("md", r"""## e-prop
`make_eprop_step(optimizer)` is the same step with the e-prop estimate in place of `jax.grad`:
for every synapse $i \to j$ an eligibility trace $e_{ji}^t$ (here the membrane-filtered input
times the surrogate derivative $\psi_j^t$), filtered once more with the readout's $\kappa$, and
the learning signal $L_j^t = (1-\kappa)\sum_k W_{\mathrm{out},jk}\,\partial E/\partial u_k^t$;
the gradient is $\sum_t L_j^t \bar e_{ji}^t$, accumulated as the sequence runs. With no
recurrent weights, as here, this is the exact gradient, computed forward in time."""),
    ("code", """eprop_step = bs.train.make_eprop_step(optimizer, batch_first=True)
eprop_model, eprop_history = train_with(eprop_step)"""),
    ("md", "## Learning curves"),
    ("code", """fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
for name, history in [("BPTT", bptt_history), ("e-prop", eprop_history)]:
    ax_loss.plot(history["loss"], label=name)
    ax_acc.plot(np.arange(1, EPOCHS + 1), history["test_accuracy"], "o-", label=name)
ax_loss.set(xlabel="training step", ylabel="loss (nats)", title="training loss")
ax_acc.set(xlabel="epoch", ylabel="test accuracy", title="test accuracy", ylim=(0, 1))
ax_acc.axhline(0.1, color="gray", ls=":", label="chance")
ax_loss.legend()
ax_acc.legend();"""),
    ("code", """# the trained models beat chance by far, and e-prop (exact here) tracks BPTT
assert bptt_history["test_accuracy"][-1] > 0.5
assert eprop_history["test_accuracy"][-1] > bptt_history["test_accuracy"][-1] - 0.1"""),
    ("md", r"""## Raster
The input spikes of one test digit and the hidden layer's response (trained by e-prop), with
the readout's time-averaged output."""),
    ("code", """k = 0
x_one = test_x[:, k : k + 1]  # (T, 1, 64)
hidden = eprop_model.layers[0](x_one)[:, 0]  # (T, N_HIDDEN) 0/1
readout = eprop_model(x_one)[:, 0]  # (T, 10)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
for ax, raster, title in [(axes[0], x_one[:, 0], "input (64 pixels)"), (axes[1], hidden, "hidden LIF")]:
    t_idx, n_idx = np.nonzero(np.asarray(raster))
    ax.scatter(t_idx * DT, n_idx, s=6, marker="|", color="k")
    ax.set(xlabel="time (ms)", ylabel="neuron", title=title)
axes[2].bar(range(10), np.asarray(readout.mean(0)))
axes[2].set(xlabel="class", ylabel="mean readout", title=f"label {int(test_y[k])}")
fig.tight_layout()"""),
    ("md", """## Summary
BPTT and e-prop train the same network on the same objective to similar test accuracy; with
no recurrent weights e-prop's estimate is the exact gradient, obtained forward in time with
memory that does not grow with the number of steps. For recurrent layers, ALIF neurons, random
feedback and SLTT (backpropagation within each step only), see the *Online learning* page;
`benchmarks/online_learning.py` compares the three at T = 100, 1000 and 10000 steps."""),
]

nb = nbf.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.cells = [
    nbf.v4.new_markdown_cell(src)
    if kind == "md"
    else nbf.v4.new_code_cell(src, metadata={"tags": ["parameters"]} if kind == "code_parameters" else {})
    for kind, src in cells
]
nbf.write(nb, "training.ipynb")
