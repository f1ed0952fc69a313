r"""Trained linear readouts of recorded network states: ridge regression, logistic regression, FORCE.

The network is fixed (a reservoir, or any recorded `bs.run`); only a linear map from its states
(filtered spikes, rates, membrane potentials) to the targets is learned, on device:

- `ridge_readout`: closed-form ridge regression, one linear solve.
- `fit_logistic`: multinomial logistic regression by Adam (optax), a fixed number of steps.
- `rls_update` / `force_train`: recursive least squares, the online learning rule of FORCE
  (Sussillo & Abbott 2009), one state at a time by `jax.lax.scan`.

??? cite "Reference"
    ```bibtex
    @article{sussillo2009generating,
      author = {Sussillo, David and Abbott, L. F.},
      title = {Generating coherent patterns of activity from chaotic neural networks},
      journal = {Neuron}, volume = {63}, number = {4}, pages = {544--557}, year = {2009},
      doi = {10.1016/j.neuron.2009.07.018}}
    ```
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Float, Int

from .losses import _check_labels


class LinearReadout(eqx.Module):
    """A linear map of states to outputs, `states @ weights + bias`.

    **Fields:**
    - `weights`: `(d, k)`.
    - `bias`: `(k,)`.

    Called on `(..., d)` states it returns `(..., k)` outputs.
    """

    weights: Float[Array, "d k"]
    bias: Float[Array, " k"]

    def __call__(self, states: Float[Array, "*batch d"]) -> Float[Array, "*batch k"]:
        out = states @ self.weights
        return out + jnp.reshape(self.bias, (1,) * (out.ndim - 1) + self.bias.shape)


class LogisticReadout(eqx.Module):
    """A multinomial logistic-regression readout: logits `states @ weights + bias`.

    **Fields:**
    - `weights`: `(d, k)` for `k` classes.
    - `bias`: `(k,)`.

    Called on `(..., d)` states it returns `(..., k)` logits; `predict` returns the classes.
    """

    weights: Float[Array, "d k"]
    bias: Float[Array, " k"]

    def __call__(self, states: Float[Array, "*batch d"]) -> Float[Array, "*batch k"]:
        out = states @ self.weights
        return out + jnp.reshape(self.bias, (1,) * (out.ndim - 1) + self.bias.shape)

    def predict(self, states: Float[Array, "*batch d"]) -> Int[Array, "*batch"]:
        """The most likely class of each state."""
        return jnp.argmax(self(states), axis=-1)


def _check_design(states: Array, n_targets: int, target_name: str) -> None:
    if states.ndim != 2:
        raise ValueError(f"`states` must be 2-D (N, d); got shape {states.shape}.")
    if states.shape[0] == 0:
        raise ValueError("`states` is empty (N = 0): pass at least one sample.")
    if n_targets != states.shape[0]:
        raise ValueError(f"`states` has {states.shape[0]} samples but `{target_name}` has {n_targets}.")


def ridge_readout(
    states: Float[Array, "N d"],
    targets: Float[Array, "N k"],
    alpha: float | Float[ArrayLike, ""],
    *,
    fit_bias: bool = True,
) -> LinearReadout:
    r"""Closed-form ridge regression from states to targets, one linear solve on device.

    With centred states $\tilde X = X - \bar x$ and targets $\tilde Y = Y - \bar y$ (the bias is
    not penalised),

    $$W = (\tilde X^\top \tilde X + \alpha I)^{-1} \tilde X^\top \tilde Y, \qquad b = \bar y - \bar x W,$$

    which minimises $\lVert X W + b - Y\rVert_F^2 + \alpha \lVert W\rVert_F^2$. Solved by
    `jnp.linalg.solve` on the `(d, d)` normal equations: $O(N d^2 + d^3)$. Differentiable in
    `states`, `targets` and `alpha`.

    **Arguments:**
    - `states`: `(N, d)` one state per row (e.g. filtered spikes of `d` neurons at `N` times).
    - `targets`: `(N, k)`.
    - `alpha`: the ridge penalty, >= 0 (in the squared units of `states`); with `alpha = 0` the
      normal equations must be nonsingular (N > d, states not collinear).
    - `fit_bias`: fit `bias` (default); otherwise `bias = 0` and nothing is centred.

    **Returns:** a `LinearReadout` with `weights (d, k)`, `bias (k,)`.
    """
    _check_design(states, targets.shape[0] if targets.ndim == 2 else -1, "targets")
    if targets.ndim != 2:
        raise ValueError(f"`targets` must be 2-D (N, k); got shape {targets.shape}.")
    try:
        bad = float(alpha) < 0
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        bad = False
    if bad:
        raise ValueError(f"`alpha` must be >= 0; got {alpha!r}.")
    dtype = jnp.result_type(states.dtype, targets.dtype)
    states, targets = states.astype(dtype), targets.astype(dtype)
    if fit_bias:
        x_mean, y_mean = jnp.mean(states, axis=0), jnp.mean(targets, axis=0)
        x, y = states - x_mean[None, :], targets - y_mean[None, :]
    else:
        x, y = states, targets
    d = states.shape[1]
    gram = x.T @ x + jnp.asarray(alpha, dtype) * jnp.eye(d, dtype=dtype)
    weights = jnp.linalg.solve(gram, x.T @ y)
    bias = y_mean - x_mean @ weights if fit_bias else jnp.zeros(targets.shape[1], dtype)
    return LinearReadout(weights, bias)


def fit_logistic(
    states: Float[Array, "N d"],
    labels: Int[ArrayLike, " N"],
    *,
    n_classes: int,
    steps: int = 300,
    learning_rate: float = 0.1,
    l2: float = 0.0,
) -> LogisticReadout:
    r"""Multinomial logistic regression by full-batch Adam (optax), from zero weights.

    Minimises the mean softmax cross-entropy plus $\tfrac{\lambda}{2}\lVert W\rVert_F^2$; the
    problem is convex, so starting from zero needs no key. `steps` updates run in one
    `jax.lax.scan`. Standardise the states (zero mean, unit variance) for a fast fit.

    **Arguments:**
    - `states`: `(N, d)` one state per row.
    - `labels`: `(N,)` integer classes in `[0, n_classes)`.
    - `n_classes`: the number of classes `k`, >= 2.
    - `steps`: Adam steps, >= 1; `learning_rate` > 0; `l2` ($\lambda$) >= 0.

    **Returns:** a `LogisticReadout` with `weights (d, k)`, `bias (k,)`.
    """
    if n_classes < 2:
        raise ValueError(f"`n_classes` must be >= 2; got {n_classes!r}.")
    if steps < 1:
        raise ValueError(f"`steps` must be >= 1; got {steps!r}.")
    if not learning_rate > 0:
        raise ValueError(f"`learning_rate` must be > 0; got {learning_rate!r}.")
    if not l2 >= 0:
        raise ValueError(f"`l2` must be >= 0; got {l2!r}.")
    labels = jnp.asarray(labels)
    _check_design(states, labels.shape[0] if labels.ndim == 1 else -1, "labels")
    labels = _check_labels(labels, n_classes, states.shape[0])
    dtype = states.dtype
    params = LogisticReadout(jnp.zeros((states.shape[1], n_classes), dtype), jnp.zeros(n_classes, dtype))
    l2 = jnp.asarray(l2, dtype)

    def loss(readout: LogisticReadout) -> Array:
        log_p = jax.nn.log_softmax(readout(states), axis=1)
        nll = -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=1))
        return nll + 0.5 * l2 * jnp.sum(readout.weights**2)

    optimizer = optax.adam(learning_rate)

    def body(carry, _):
        readout, opt_state = carry
        grads = jax.grad(loss)(readout)
        updates, opt_state = optimizer.update(grads, opt_state, readout)
        return (optax.apply_updates(readout, updates), opt_state), None

    # optax mixes its int32 step count with floats: standard promotion for it, whatever the
    # caller's `jax_numpy_dtype_promotion`
    with jax.numpy_dtype_promotion("standard"):
        (params, _), _ = jax.lax.scan(body, (params, optimizer.init(params)), None, length=steps)
    return params


def rls_update(
    p: Float[Array, "d d"],
    weights: Float[Array, "d k"],
    state: Float[Array, " d"],
    error: Float[Array, " k"],
) -> tuple[Float[Array, "d d"], Float[Array, "d k"]]:
    r"""One recursive-least-squares step (FORCE's update, Sussillo & Abbott 2009, eqs. 4-5).

    $$P \leftarrow P - \frac{P r r^\top P}{1 + r^\top P r}, \qquad W \leftarrow W - (P r)\, e^\top,$$

    with the new $P$ in the weight update, and $e = W^\top r - f$ the error of the output
    *before* this update (output minus target).

    **Arguments:**
    - `p`: `(d, d)` running estimate of the inverse state correlation, symmetric positive
      definite (start at $I/\alpha$).
    - `weights`: `(d, k)` readout weights.
    - `state`: `(d,)` the state $r$.
    - `error`: `(k,)` the error $e$.

    **Returns:** the updated `(p, weights)`.
    """
    pr = p @ state
    p = p - jnp.outer(pr, pr) / (1.0 + state @ pr)  # P symmetric: P r r^T P = (P r)(P r)^T
    return p, weights - jnp.outer(p @ state, error)


def force_train(
    states: Float[Array, "T d"],
    targets: Float[Array, "T k"],
    *,
    alpha: float = 1.0,
    weights: Float[Array, "d k"] | None = None,
) -> tuple[Float[Array, "d k"], Float[Array, "d d"], Float[Array, "T k"]]:
    r"""Recursive least squares over a sequence of states: FORCE learning of a readout.

    At each step $t$: output $z_t = W^\top r_t$, error $e_t = z_t - f_t$, then `rls_update`.
    $P$ starts at $I/\alpha$ and $W$ at `weights` (zeros by default). This is FORCE with the
    reservoir's states given (no output feedback into the reservoir); to feed $z_t$ back, call
    `rls_update` inside your own `scan` over network steps.

    **Arguments:**
    - `states`: `(T, d)` the reservoir state at each update (e.g. rates, Hz, or filtered spikes).
    - `targets`: `(T, k)` the target outputs $f_t$.
    - `alpha`: the regulariser / inverse learning rate, > 0 (in the squared units of `states`).
    - `weights`: `(d, k)` initial readout weights.

    **Returns:** `(weights (d, k), p (d, d), outputs (T, k))`: the final weights and $P$, and
    $z_t$ before each update (the error the rule saw is `outputs - targets`).
    """
    if states.ndim != 2 or targets.ndim != 2 or states.shape[0] != targets.shape[0]:
        raise ValueError(
            f"`states` (T, d) and `targets` (T, k) must be 2-D with equal T; got {states.shape} "
            f"and {targets.shape}."
        )
    if states.shape[0] == 0:
        raise ValueError("`states` is empty (T = 0): pass at least one step.")
    if not alpha > 0:
        raise ValueError(f"`alpha` must be > 0; got {alpha!r}.")
    dtype = jnp.result_type(states.dtype, targets.dtype)
    d, k = states.shape[1], targets.shape[1]
    w0 = jnp.zeros((d, k), dtype) if weights is None else weights.astype(dtype)
    p0 = jnp.eye(d, dtype=dtype) / jnp.asarray(alpha, dtype)

    def body(carry, inputs):
        p, w = carry
        r, f = inputs
        z = r @ w
        p, w = rls_update(p, w, r, z - f)
        return (p, w), z

    (p, w), outputs = jax.lax.scan(body, (p0, w0), (states.astype(dtype), targets.astype(dtype)))
    return w, p, outputs
