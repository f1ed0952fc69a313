r"""SLTT: spatial learning through time, backpropagation through the layers at each step with
the temporal dependencies dropped, so memory is flat in $T$ (Meng et al. 2023).

For a model `stack(RecurrentSpikingLayer, ..., LeakyReadout)` and the loss of
`stepwise_loss`, $E = \sum_t w_t\, \ell(u^t, y^*)$, BPTT sums, for each step's loss, paths
through the layers at step $t$ (space) and paths back through earlier steps (time: the
membrane, synapse and adaptation state carried from $t-1$, the recurrent spikes, the readout's
leak). SLTT keeps only the spatial paths:

$$\widehat{\frac{dE}{d\theta}} = \sum_t w_t\,
\frac{\partial\, \ell\big(u^t(\theta; \mathrm{sg}[S^{t-1}], x^t), y^*\big)}{\partial \theta},$$

where $S^{t-1}$ is the carried state of every spiking layer (neuron and synapse state, the
spikes fed back through $W_\mathrm{rec}$) and $\mathrm{sg}$ stops the gradient. The readout is
linear, $u^t = (1-\kappa)(\bar z^t W_\mathrm{out} + \bar 1^t b)$ with the filtered input
$\bar z^t = \kappa\,\mathrm{sg}[\bar z^{t-1}] + z^t$ ($\kappa = e^{-\Delta t/\tau_\mathrm{out}}$, the same
$u^t$ as `LeakyReadout`), so its own weights get their exact gradient while the layers below
see only the loss of the same step, $\partial E/\partial z^t = (1-\kappa)\,w_t\,
(\partial \ell/\partial u^t)\, W_\mathrm{out}^T$. For a layer with LIF neurons and an
instantaneous synapse the weight gradient is $\sum_t \delta^{t}_j\, \psi^{t}_j\,
(\partial v_j^t/\partial d_j^t)\, x^{t}_i$, with $\delta^{t}$ backpropagated from the readout
through the layers above *within* step $t$ and
$\partial v/\partial d = (1 - e^{-\Delta t g_L / C_m})/g_L$ (mV per pA of drive). Each step's
gradient is one reverse pass through the step that the layers run (`RecurrentSpikingLayer.step`),
taken inside a `lax.scan` that sums it: nothing per step is kept, so memory does not grow with
$T$, and a step costs about two forward steps.

SLTT drops what the neurons remember: it learns tasks that the instantaneous input explains
(spike-encoded images, rates) about as well as BPTT, but it cannot assign credit across steps,
as tasks with delays (`delayed_xor`, `cue_accumulation`) need; for those use e-prop
(`brainsim.train.eprop`), which keeps each neuron's own history in its eligibility traces, or
checkpointed BPTT.

**Scale.** The dropped temporal paths add terms of one sign (an input raises the membrane for
about $\tau_m/\Delta t$ steps, a spike the readout for about $\tau_\mathrm{out}/\Delta t$), so the
estimate is much smaller than the gradient while pointing the same way: for the LIF layer of
`benchmarks/online_learning.py` ($\tau_m$ = 5 ms, $\tau_\mathrm{out}$ = 20 ms, $\Delta t$ = 1 ms)
its hidden-weight gradient is about 1/34 of BPTT's in norm, with cosine 0.75 and 90% of the signs
equal. Train it with an optimizer whose step does not depend on the gradient's size: Adam
does not, provided its `eps` is below the gradients (for weights in pA, gradients in 1/pA are
about 1e-13 to 1e-7, so optax's default `eps = 1e-8` turns Adam into plain gradient descent and
SLTT barely moves; `optax.scale_by_adam(eps=1e-16)` works). The paper's neuron,
$u^t = (1 - 1/\tau)\,u^{t-1} + W s^t$ with $\tau$ = 1.1 steps, forgets within a step or two, so
there the dropped paths are small in the first place.

??? cite "Reference"
    ```bibtex
    @inproceedings{meng2023towards,
      author = {Meng, Qingyan and Xiao, Mingqing and Yan, Shen and Wang, Yisen and Lin, Zhouchen
                and Luo, Zhi-Quan},
      title = {Towards Memory- and Time-Efficient Backpropagation for Training Spiking Neural
               Networks},
      booktitle = {Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)},
      pages = {6166--6176}, year = {2023}}
    ```
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import optax
from jaxtyping import Array, ArrayLike, Float

from .eprop import (
    _check_loss_inputs,
    _make_online_step,
    _metrics,
    _readout_coefficients,
    _split_model,
    _step_loss,
    _Targets,
)
from .layers import AbstractLayer, Sequential


def _sltt(model, x, targets, weights, loss: str):
    """`(loss, metrics, grads)`: the scan described in the module docstring."""
    hidden, readout = _split_model(model, "sltt_grads")
    n_steps, batch, _ = x.shape
    dtype = x.dtype
    params, static = eqx.partition(model, eqx.is_inexact_array)
    kappa, gain = _readout_coefficients(readout, dtype)
    dt = jnp.asarray(readout.dt, dtype)

    def one_step(params, states, z_bar, one_bar, x_t, t, w_t, y_t):
        """Step `t` of all layers from the (constant) carried `states` and readout traces: its
        weighted loss, the new state and the readout. Its gradient in `params` is SLTT's."""
        *layers, out = eqx.combine(params, static).layers
        h, new_states = x_t, []
        for layer, state in zip(layers, states, strict=True):  # static: the layers
            state, h = layer.step(state, h @ layer.weights, t)
            new_states.append(state)
        z_bar = kappa * z_bar + h  # the readout's input, filtered: its exact eligibility
        u = gain * (z_bar @ out.weights + one_bar * out.bias[None, :])  # = `LeakyReadout`'s u^t
        return w_t * _step_loss(u, y_t, loss), (tuple(new_states), z_bar, u)

    value_and_grad = jax.value_and_grad(one_step, has_aux=True)

    def body(carry, inputs):
        t, states, z_bar, one_bar, grads, loss_sum, logit_sum = carry
        x_t, w_t, y_t = inputs if loss == "mse" else (*inputs, targets)
        one_bar = kappa * one_bar + 1.0
        (value, (states, z_bar, u)), step_grads = value_and_grad(
            params, states, z_bar, one_bar, x_t, t, w_t, y_t
        )
        grads = jtu.tree_map(jnp.add, grads, step_grads)
        return (t + dt, states, z_bar, one_bar, grads, loss_sum + value, logit_sum + w_t * u), None

    states0 = tuple(layer.initial_state(batch, dtype) for layer in hidden)
    zero = jnp.zeros((), dtype)
    grads0 = jtu.tree_map(jnp.zeros_like, params)
    logits0 = jnp.zeros((batch, readout.n_out), dtype)
    carry0 = (zero, states0, jnp.zeros((batch, readout.n_in), dtype), zero, grads0, zero, logits0)
    xs = (x, weights, targets) if loss == "mse" else (x, weights)  # labels: the same every step
    (*_, grads, loss_value, logit_sum), _ = jax.lax.scan(body, carry0, xs)
    return loss_value, _metrics(logit_sum, targets, loss), grads


def sltt_value_and_grads(
    model: AbstractLayer,
    x: Float[ArrayLike, "a b n_in"],
    targets: _Targets,
    *,
    loss: str = "cross_entropy",
    mask: Float[ArrayLike, " T"] | None = None,
    batch_first: bool = False,
) -> tuple[Float[Array, ""], dict[str, Array], Sequential]:
    """`sltt_grads` that also returns the loss and metrics of the same forward pass:
    `(loss, metrics, grads)` (see `stepwise_loss` for the first two)."""
    _split_model(model, "sltt_grads")
    x, targets, weights = _check_loss_inputs(model, x, targets, loss, mask, batch_first, "sltt_grads")
    return _sltt(model, x, targets, weights, loss)


def sltt_grads(
    model: AbstractLayer,
    x: Float[ArrayLike, "a b n_in"],
    targets: _Targets,
    *,
    loss: str = "cross_entropy",
    mask: Float[ArrayLike, " T"] | None = None,
    batch_first: bool = False,
) -> Sequential:
    """SLTT estimate of the gradient of `stepwise_loss` (see the module docstring), shaped like
    `eqx.filter_grad`'s output, so it goes to optax as `jax.grad`'s would.

    **Arguments:**
    - `model`: `stack(RecurrentSpikingLayer, ..., LeakyReadout)`: any number of spiking layers
      (LIF, ALIF, ..., recurrent or not) and a leaky readout, on one `dt`.
    - `x`: input `(T, batch, n_in)` (or `(batch, T, n_in)` with `batch_first`).
    - `targets`, `loss`, `mask`: as `stepwise_loss`.

    **Returns:** a pytree like `eqx.filter(model, eqx.is_inexact_array)`: the gradient
    estimate for every floating array of `model`.
    """
    return sltt_value_and_grads(model, x, targets, loss=loss, mask=mask, batch_first=batch_first)[2]


def make_sltt_step(
    optimizer: optax.GradientTransformation,
    *,
    loss: str = "cross_entropy",
    mask: Float[ArrayLike, " T"] | None = None,
    batch_first: bool = False,
) -> Callable:
    """The jitted SLTT training step `step(model, opt_state, x, y) -> (model, opt_state, loss,
    metrics)`, as `make_step` with `sltt_value_and_grads` in place of `jax.grad` (arguments as
    `sltt_grads`)."""

    def grads_fn(model, x, y):
        return sltt_value_and_grads(model, x, y, loss=loss, mask=mask, batch_first=batch_first)

    return _make_online_step(grads_fn, optimizer)
