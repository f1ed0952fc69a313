r"""e-prop: online gradient estimates for a recurrent spiking layer, memory flat in $T$.

For a model `stack(RecurrentSpikingLayer, LeakyReadout)` (one hidden layer, LIF or ALIF
neurons, feed-forward or recurrent) and a loss summed over time steps,

$$E = \sum_t w_t\, \ell(u^t, y^*), \qquad u^t = \kappa\, u^{t-1} + (1 - \kappa)\,(z^t W_\mathrm{out} + b),
\quad \kappa = e^{-\Delta t / \tau_\mathrm{out}}$$

(`LeakyReadout`'s exact step; $\Delta t$ and $\tau_\mathrm{out}$ in ms), e-prop (Bellec et al.
2020) factorises the gradient of each hidden weight into a learning signal and an eligibility
trace, both computed forward in time:

$$\frac{\widehat{dE}}{dW_{ji}} = \sum_t L_j^t\, \bar e_{ji}^t, \qquad
L_j^t = (1 - \kappa) \sum_k B_{jk} \frac{\partial E}{\partial u_k^t}, \qquad
\bar e_{ji}^t = \kappa\, \bar e_{ji}^{t-1} + e_{ji}^t .$$

$\partial E / \partial u_k^t = w_t (\pi_k^t - \pi_k^*)$ for the softmax cross-entropy (probabilities
$\pi$, one-hot $\pi^*$) and $w_t (u_k^t - y_k^{*t})$ for the squared error. $B = W_\mathrm{out}$
is symmetric e-prop (the default); a fixed random $B$ (`feedback`) is random e-prop.

**Eligibility traces.** The hidden state $h_j^t$ of neuron $j$ (its neuron and synapse state
variables: $v$, $\vartheta$, refractory time, synaptic current) evolves as
$h_j^t = M(h_j^{t-1}, d_j^t)$ and emits $z_j^t = Z(h_j^{t-1}, d_j^t)$, with the drive
$d_j^t = \sum_i W_{ji} x_i^t$, where $x^t$ is the input of step $t$ for $W_\mathrm{in}$ and the
layer's spikes of step $t-1$ for $W_\mathrm{rec}$. The eligibility vector
$\epsilon_{ji}^t = \partial h_j^t / \partial W_{ji}$ (with the other neurons' spikes held fixed)
and the eligibility trace $e_{ji}^t = \partial z_j^t / \partial W_{ji}$ follow

$$\epsilon_{ji}^t = \frac{\partial M}{\partial h}\,\epsilon_{ji}^{t-1}
+ \frac{\partial M}{\partial d}\, x_i^t, \qquad
e_{ji}^t = \frac{\partial Z}{\partial h}\cdot\epsilon_{ji}^{t-1} + \frac{\partial Z}{\partial d}\, x_i^t .$$

The per-neuron Jacobians are those of the layer's own step (`RecurrentSpikingLayer.cell`, by
forward-mode differentiation through its exponential Euler update and the neuron's surrogate
spike derivative $\psi_j^t$), so synapse dynamics, refractoriness and the reset enter exactly
as they do in BPTT. For a LIF with an instantaneous synapse this is Bellec's
$e_{ji}^t = \psi_j^t \bar x_{ji}^t$ with the membrane-filtered presynaptic trace
$\bar x_{ji}^t = \alpha (1 - z_j^{t-1}) \bar x_{ji}^{t-1} + \beta x_i^t$,
$\alpha = e^{-\Delta t g_L / C_m}$, $\beta = (1 - \alpha)/g_L$ (mV per pA): the reset is not
differentiated, so a spike clears the trace (while refractory: $\alpha \to 1$, $\beta \to 0$). For an
ALIF the threshold jump $\vartheta \leftarrow \vartheta + \Delta\vartheta\, z$ is differentiated
(`cell(..., detach_reset=False)`), which gives Bellec's adaptive eligibility vector; with the
step's order here (decay, spike, jump) it reads
$\epsilon^{\vartheta, t}_{ji} = \psi_j^t\,\Delta\vartheta\, \hat\epsilon^{v, t}_{ji}
+ \rho\,(1 - \psi_j^t \Delta\vartheta)\, \epsilon^{\vartheta, t-1}_{ji}$ and
$e_{ji}^t = \psi_j^t(\hat\epsilon^{v,t}_{ji} - \rho\,\epsilon^{\vartheta,t-1}_{ji})$, with
$\hat\epsilon^{v,t}$ the membrane's before the reset and $\rho = e^{-\Delta t/\tau_a}$
(threshold in mV; the paper's order gives $\rho - \psi\Delta\vartheta$ in place of
$\rho(1 - \psi\Delta\vartheta)$).

**Readout.** Its gradient is exact: $\partial E/\partial W_{\mathrm{out},jk} = (1-\kappa)\sum_t
\bar z_j^t\, \partial E/\partial u_k^t$ with $\bar z^t = \kappa \bar z^{t-1} + z^t$ (likewise the
bias). Without recurrent weights and with $B = W_\mathrm{out}$, e-prop is the exact gradient
(BPTT of the same network, with the ALIF threshold jump differentiated);
`tests/train/test_online.py` checks it to float64 precision.

**Memory.** One `lax.scan` carries the state, the eligibility vectors
`(k, batch, n_pre, n_out)` and filtered traces `(batch, n_pre, n_out)` ($n_\mathrm{pre}$ =
inputs + recurrent units, $k$ state variables per neuron) and the summed gradients: nothing
per step is stored, so memory does not grow with $T$. The work per step is
$O(\mathrm{batch}\cdot n_\mathrm{pre} \cdot n_\mathrm{out}\cdot k^2)$, more than a BPTT step
for wide layers.

??? cite "Reference"
    ```bibtex
    @article{bellec2020solution,
      author = {Bellec, Guillaume and Scherr, Franz and Subramoney, Anand and Hajek, Elias and
                Salaj, Darjan and Legenstein, Robert and Maass, Wolfgang},
      title = {A solution to the learning dilemma for recurrent networks of spiking neurons},
      journal = {Nature Communications}, volume = {11}, pages = {3625}, year = {2020}}
    ```
"""

import functools as ft
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float, Int

from .._validation import _concrete
from ..dynamics.base import exponential_euler_update
from .layers import AbstractLayer, LeakyReadout, RecurrentSpikingLayer, Sequential, check_sequence
from .losses import _check_labels

_Targets = Int[ArrayLike, " batch"] | Float[ArrayLike, "a b k"]


# --- shared by e-prop and SLTT (`brainsim.train.sltt`) -------------------------------------


def _split_model(model, who: str) -> tuple[tuple[RecurrentSpikingLayer, ...], LeakyReadout]:
    """The hidden spiking layers and the readout of `model`, a `Sequential` of
    `RecurrentSpikingLayer`s ending in a `LeakyReadout`, all on one `dt`."""
    if not isinstance(model, Sequential) or len(model.layers) < 2:
        raise TypeError(
            f"{who}: `model` must be `stack(RecurrentSpikingLayer(s)..., LeakyReadout)`; got "
            f"{type(model).__name__}."
        )
    *hidden, readout = model.layers
    for k, layer in enumerate(hidden):
        if not isinstance(layer, RecurrentSpikingLayer):
            raise TypeError(
                f"{who}: layer {k} of `model` must be a `RecurrentSpikingLayer`; got {type(layer).__name__}."
            )
    if not isinstance(readout, LeakyReadout):
        raise TypeError(
            f"{who}: the last layer of `model` must be a `LeakyReadout`; got {type(readout).__name__}."
        )
    dts = {layer.dt for layer in model.layers}
    if len(dts) != 1:
        raise ValueError(f"{who}: all layers of `model` must share one `dt` (ms); got {sorted(dts)}.")
    return tuple(hidden), readout


def _check_loss_inputs(model, x, targets, loss: str, mask, batch_first: bool, who: str):
    """`(x, targets, weights)`, checked before any compilation: `x` time first `(T, batch,
    n_in)`, `targets` labels `(batch,)` or a time-first target sequence `(T, batch, k)`, and the
    per-step loss weights $w_t$ = `mask` / sum(`mask`), `(T,)`."""
    if loss not in ("cross_entropy", "mse"):
        raise ValueError(f'{who}: `loss` must be "cross_entropy" or "mse"; got {loss!r}.')
    x = check_sequence(x, model.n_in, batch_first, who)
    n_steps, batch, _ = x.shape
    n_classes = model.n_out
    if loss == "cross_entropy":
        targets = _check_labels(targets, n_classes, batch)
    else:
        targets = jnp.asarray(targets)
        if targets.ndim == 3 and batch_first:
            targets = jnp.swapaxes(targets, 0, 1)
        if targets.shape != (n_steps, batch, n_classes):
            raise ValueError(
                f'{who}: `targets` for `loss="mse"` must have shape (T, batch, n_out) = '
                f"{(n_steps, batch, n_classes)} (time first); got {tuple(targets.shape)}."
            )
        if not jnp.issubdtype(targets.dtype, jnp.floating):
            raise TypeError(f"{who}: `targets` must be floating point; got dtype {targets.dtype}.")
        targets = targets.astype(x.dtype)
    if mask is None:
        weights = jnp.full(n_steps, 1.0 / n_steps, x.dtype)
    else:
        if jnp.shape(mask) != (n_steps,):
            raise ValueError(f"{who}: `mask` must have shape (T,) = ({n_steps},); got {jnp.shape(mask)}.")
        values = _concrete(mask)  # None when traced: then unchecked
        if values is not None and (
            np.any(values < 0) or not np.all(np.isfinite(values)) or not values.sum() > 0
        ):
            raise ValueError(f"{who}: `mask` must be finite, >= 0 and not all 0 (weights of the steps).")
        mask = jnp.asarray(mask).astype(x.dtype)
        weights = mask / jnp.sum(mask)
    return x, targets, weights


def _step_loss(u: Float[Array, "batch k"], target: Array, loss: str) -> Float[Array, ""]:
    r"""$\frac{1}{B}\sum_b \ell(u_b, y^*_b)$ at one step: softmax cross-entropy with integer
    labels, or $\frac12\|u_b - y^*_b\|^2$."""
    if loss == "cross_entropy":
        one_hot = jax.nn.one_hot(target, u.shape[-1], dtype=u.dtype)  # no scatter in the gradient
        return -jnp.mean(jnp.sum(one_hot * jax.nn.log_softmax(u, axis=-1), axis=-1))
    return 0.5 * jnp.mean(jnp.sum((u - target) ** 2, axis=-1))


def _readout_coefficients(readout: LeakyReadout, dtype) -> tuple[Array, Array]:
    """`(kappa, gain)` of `LeakyReadout`'s exact step $u \\leftarrow \\kappa u + \\mathrm{gain}\\,(zW + b)$,
    read off its `exponential_euler_update` (the same series for small `dt / tau`)."""
    a = jnp.asarray(-1.0 / readout.tau, dtype)
    one, zero = jnp.ones((), dtype), jnp.zeros((), dtype)
    kappa = exponential_euler_update(a, one, zero, readout.dt)
    gain = exponential_euler_update(a, zero, one / readout.tau, readout.dt)
    return kappa, gain


def _metrics(logit_sum: Float[Array, "batch k"], targets: Array, loss: str) -> dict[str, Array]:
    """`{"accuracy": ...}` of the `mask`-weighted mean readout for labels; `{}` for `"mse"`."""
    if loss == "cross_entropy":
        return {"accuracy": jnp.mean(jnp.argmax(logit_sum, axis=-1) == targets)}
    return {}


def stepwise_loss(
    model: AbstractLayer,
    x: Float[ArrayLike, "a b n_in"],
    targets: _Targets,
    *,
    loss: str = "cross_entropy",
    mask: Float[ArrayLike, " T"] | None = None,
    batch_first: bool = False,
) -> tuple[Float[Array, ""], dict[str, Array]]:
    r"""The objective that `eprop_grads` and `sltt_grads` estimate the gradient of, computed
    from the whole readout sequence, for BPTT on the same loss (`make_step(ft.partial(
    stepwise_loss, mask=...), optimizer)`):

    $$E = \sum_t w_t\, \frac{1}{B}\sum_b \ell(u_b^t, y_b^*), \qquad w_t = m_t / \textstyle\sum_s m_s .$$

    **Arguments:**
    - `model`: `stack(RecurrentSpikingLayer(s)..., LeakyReadout)`.
    - `x`: input `(T, batch, n_in)` (or `(batch, T, n_in)` with `batch_first`).
    - `targets`: labels `(batch,)` in `[0, n_out)` for `"cross_entropy"`; a target sequence
      `(T, batch, n_out)` for `"mse"` ($\ell = \frac12\|u - y^*\|^2$).
    - `mask`: $m_t \ge 0$, `(T,)`: which steps count (e.g. the recall period); default all.

    **Returns:** `(loss, metrics)`; `metrics["accuracy"]` (labels only) compares the argmax of
    $\sum_t w_t u^t$ with the labels.
    """
    _split_model(model, "stepwise_loss")
    x, targets, weights = _check_loss_inputs(model, x, targets, loss, mask, batch_first, "stepwise_loss")
    u = model.forward(x)
    if loss == "cross_entropy":
        per_step = jax.vmap(lambda u_t: _step_loss(u_t, targets, loss))(u)
    else:
        per_step = jax.vmap(lambda u_t, y_t: _step_loss(u_t, y_t, loss))(u, targets)
    logit_sum = jnp.einsum("t,tbk->bk", weights, u)
    return jnp.sum(weights * per_step), _metrics(logit_sum, targets, loss)


def _make_online_step(grads_fn: Callable, optimizer: optax.GradientTransformation) -> Callable:
    """`step(model, opt_state, x, y) -> (model, opt_state, loss, metrics)` (jitted) from
    `grads_fn(model, x, y) -> (loss, metrics, grads)`, as `make_step` does with `jax.grad`."""

    @eqx.filter_jit
    def step(model, opt_state, x, y):
        loss, aux, grads = grads_fn(model, x, y)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 count with floats
            updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_inexact_array))
            model = eqx.apply_updates(model, updates)
        return model, opt_state, loss, aux

    return step


# --- e-prop ---------------------------------------------------------------------------------


def _flat_cell(layer: RecurrentSpikingLayer, treedef, h, drive, t):
    """`layer.cell` on the batch, with the state as one `(batch, n_out, k)` array."""
    state = jtu.tree_unflatten(treedef, [h[..., m] for m in range(h.shape[-1])])
    cell = ft.partial(layer.cell, detach_reset=False)
    neuron, synapse, z = jax.vmap(cell, in_axes=(0, 0, 0, None))(*state, drive, t)
    return jnp.stack(jtu.tree_leaves((neuron, synapse)), axis=-1), z


def _eprop(model, x, targets, weights, loss: str, feedback):
    """`(loss, metrics, grads)`: the scan described in the module docstring."""
    (layer,), readout = _split_model(model, "eprop_grads")
    n_steps, batch, n_in = x.shape
    dtype = x.dtype
    n = layer.n_out
    neuron0, synapse0, z0 = layer.initial_state(batch, dtype)
    leaves, treedef = jtu.tree_flatten((neuron0, synapse0))
    k = len(leaves)
    h0 = jnp.stack(leaves, axis=-1)  # (batch, n, k)
    recurrent = layer.recurrent_weights is not None
    w_pre = jnp.concatenate([layer.weights, layer.recurrent_weights]) if recurrent else layer.weights
    n_pre = w_pre.shape[0]
    kappa, gain = _readout_coefficients(readout, dtype)
    feedback = readout.weights if feedback is None else feedback  # B, (n, n_classes)
    basis = jnp.eye(k + 1, dtype=dtype)  # tangents: one state variable each, then the drive
    tangent_h = jnp.broadcast_to(basis[:, None, None, :k], (k + 1, batch, n, k))
    tangent_d = jnp.broadcast_to(basis[:, k, None, None], (k + 1, batch, n))
    dt = jnp.asarray(layer.dt, dtype)

    def body(carry, inputs):
        t, h, z_prev, u, eps, e_bar, z_bar, one_bar, sums = carry
        x_t, w_t, y_t = inputs if loss == "mse" else (*inputs, targets)
        pre = jnp.concatenate([x_t, z_prev], axis=-1) if recurrent else x_t  # (batch, n_pre)
        drive = pre @ w_pre
        (h_new, z), linear = jax.linearize(lambda h_, d_: _flat_cell(layer, treedef, h_, d_, t), h, drive)
        dh, dz = jax.vmap(linear)(tangent_h, tangent_d)  # (k+1, batch, n, k), (k+1, batch, n)
        # state variables first and a Python sum over the k (static, small): XLA fuses each
        # line into one elementwise pass over the (batch, n_pre, n) traces
        jac_h = [[dh[q, :, None, :, m] for q in range(k)] for m in range(k)]  # dM_m/dh_q
        jac_d = [dh[k, :, None, :, m] for m in range(k)]  # dM_m/dd
        row = pre[:, :, None]  # x_i, (batch, n_pre, 1)
        e = sum(dz[q, :, None, :] * eps[q] for q in range(k)) + dz[k, :, None, :] * row
        eps = jnp.stack([sum(jac_h[m][q] * eps[q] for q in range(k)) + jac_d[m] * row for m in range(k)])
        e_bar = kappa * e_bar + e
        z_bar = kappa * z_bar + z
        one_bar = kappa * one_bar + 1.0
        u = kappa * u + gain * (z @ readout.weights + readout.bias[None, :])
        step_value, du = jax.value_and_grad(lambda u_: w_t * _step_loss(u_, y_t, loss))(u)  # dE/du^t
        signal = gain * (du @ feedback.T)  # L^t, (batch, n)
        g_pre, g_out, g_bias, loss_sum, logit_sum = sums
        sums = (
            g_pre + jnp.einsum("bj,bij->ij", signal, e_bar),
            g_out + gain * (z_bar.T @ du),
            g_bias + gain * one_bar * jnp.sum(du, axis=0),
            loss_sum + step_value,
            logit_sum + w_t * u,
        )
        return (t + dt, h_new, z, u, eps, e_bar, z_bar, one_bar, sums), None

    zeros = ft.partial(jnp.zeros, dtype=dtype)
    n_classes = readout.n_out
    sums0 = (zeros((n_pre, n)), zeros((n, n_classes)), zeros(n_classes), zeros(()), zeros((batch, n_classes)))
    traces0 = (zeros((k, batch, n_pre, n)), zeros((batch, n_pre, n)), zeros((batch, n)), zeros(()))
    carry0 = (zeros(()), h0, z0, zeros((batch, n_classes)), *traces0, sums0)
    xs = (x, weights, targets) if loss == "mse" else (x, weights)  # labels: the same every step
    carry, _ = jax.lax.scan(body, carry0, xs)
    g_pre, g_out, g_bias, loss_value, logit_sum = carry[-1]
    grads = jtu.tree_map(jnp.zeros_like, eqx.filter(model, eqx.is_inexact_array))
    hidden_grads = (g_pre[:n_in], g_pre[n_in:]) if recurrent else (g_pre, None)
    grads = eqx.tree_at(
        lambda m: (m.layers[0].weights, m.layers[0].recurrent_weights, m.layers[1].weights, m.layers[1].bias),
        grads,
        (*hidden_grads, g_out, g_bias),
        is_leaf=lambda leaf: leaf is None,
    )
    return loss_value, _metrics(logit_sum, targets, loss), grads


def _check_feedback(model, feedback):
    if feedback is None:
        return None
    readout = model.layers[-1]
    feedback = jnp.asarray(feedback)
    if feedback.shape != readout.weights.shape:
        raise ValueError(
            f"eprop_grads: `feedback` must have the readout's weight shape (n_hidden, n_out) = "
            f"{readout.weights.shape}; got {feedback.shape}."
        )
    return feedback.astype(readout.weights.dtype)


def eprop_value_and_grads(
    model: AbstractLayer,
    x: Float[ArrayLike, "a b n_in"],
    targets: _Targets,
    *,
    loss: str = "cross_entropy",
    mask: Float[ArrayLike, " T"] | None = None,
    feedback: Float[ArrayLike, "n_hidden n_out"] | None = None,
    batch_first: bool = False,
) -> tuple[Float[Array, ""], dict[str, Array], Sequential]:
    """`eprop_grads` that also returns the loss and metrics of the same forward pass:
    `(loss, metrics, grads)` (see `stepwise_loss` for the first two)."""
    _split_model(model, "eprop_grads")
    if len(model.layers) != 2:
        raise TypeError(
            f"eprop_grads: `model` must have one hidden layer, `stack(RecurrentSpikingLayer, "
            f"LeakyReadout)`; got {len(model.layers) - 1} (use `sltt_grads` or BPTT for deep stacks)."
        )
    feedback = _check_feedback(model, feedback)
    x, targets, weights = _check_loss_inputs(model, x, targets, loss, mask, batch_first, "eprop_grads")
    return _eprop(model, x, targets, weights, loss, feedback)


def eprop_grads(
    model: AbstractLayer,
    x: Float[ArrayLike, "a b n_in"],
    targets: _Targets,
    *,
    loss: str = "cross_entropy",
    mask: Float[ArrayLike, " T"] | None = None,
    feedback: Float[ArrayLike, "n_hidden n_out"] | None = None,
    batch_first: bool = False,
) -> Sequential:
    r"""e-prop estimate of the gradient of `stepwise_loss` (see the module docstring), shaped like
    `eqx.filter_grad`'s output, so it goes to optax as `jax.grad`'s would.

    **Arguments:**
    - `model`: `stack(RecurrentSpikingLayer(n_in, n_hidden), LeakyReadout(n_hidden, n_out))`
      (LIF or ALIF neurons, any linear synapse, recurrent or not).
    - `x`: input `(T, batch, n_in)` (or `(batch, T, n_in)` with `batch_first`).
    - `targets`, `loss`, `mask`: as `stepwise_loss`.
    - `feedback`: $B$, `(n_hidden, n_out)`: `None` for symmetric e-prop ($B = W_\mathrm{out}$),
      a fixed random matrix (e.g. `jr.normal(key, (n_hidden, n_out)) / sqrt(n_out)`) for
      random e-prop.

    **Returns:** a pytree like `eqx.filter(model, eqx.is_inexact_array)` holding
    $\widehat{dE}/dW$ for the input, recurrent and readout weights and the readout bias (other
    floating arrays of `model`, e.g. per-neuron parameters, get 0).

    ```python
    grads = eprop_grads(model, x, labels, mask=recall_mask)
    updates, opt_state = optimizer.update(grads, opt_state)
    ```
    """
    return eprop_value_and_grads(
        model, x, targets, loss=loss, mask=mask, feedback=feedback, batch_first=batch_first
    )[2]


def make_eprop_step(
    optimizer: optax.GradientTransformation,
    *,
    loss: str = "cross_entropy",
    mask: Float[ArrayLike, " T"] | None = None,
    feedback: Float[ArrayLike, "n_hidden n_out"] | None = None,
    batch_first: bool = False,
) -> Callable:
    """The jitted e-prop training step `step(model, opt_state, x, y) -> (model, opt_state, loss,
    metrics)`, as `make_step` with `eprop_value_and_grads` in place of `jax.grad` (arguments as
    `eprop_grads`). Initialise with `opt_state = optimizer.init(eqx.filter(model,
    eqx.is_inexact_array))`."""

    def grads_fn(model, x, y):
        return eprop_value_and_grads(
            model, x, y, loss=loss, mask=mask, feedback=feedback, batch_first=batch_first
        )

    return _make_online_step(grads_fn, optimizer)
