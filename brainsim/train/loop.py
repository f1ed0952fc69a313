"""`fit`: minibatch training with optax, one jitted step, a progress bar and early stopping.

The loop is made of pieces a user can reuse to write their own (docs/training.md shows both):
`make_step(loss_fn, optimizer)` returns the jitted step, `minibatches` the shuffled batches.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import PRNGKeyArray


def _with_aux(loss_fn: Callable) -> Callable:
    """`loss_fn` returning a scalar or `(scalar, {name: scalar})`, as one returning the pair."""

    def wrapped(model, x, y):
        out = loss_fn(model, x, y)
        if isinstance(out, tuple):
            loss, aux = out
            if not isinstance(aux, dict):
                raise TypeError("`loss_fn` must return a scalar or `(loss, {name: scalar})`.")
            return loss, aux
        return out, {}

    return wrapped


def make_step(loss_fn: Callable, optimizer: optax.GradientTransformation) -> Callable:
    """The jitted training step `step(model, opt_state, x, y) -> (model, opt_state, loss, aux)`.

    `loss_fn(model, x, y)` returns a scalar loss, or `(loss, {name: scalar})` for metrics
    (accuracy, ...) computed in the same forward pass. Gradients are taken with respect to the
    floating-point arrays of `model` (`eqx.is_inexact_array`: weights, not Python-float
    parameters of the neuron models). Initialise with
    `opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))`.
    """
    value_and_grad = eqx.filter_value_and_grad(_with_aux(loss_fn), has_aux=True)

    @eqx.filter_jit
    def step(model, opt_state, x, y):
        (loss, aux), grads = value_and_grad(model, x, y)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 count with floats
            updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_inexact_array))
            model = eqx.apply_updates(model, updates)
        return model, opt_state, loss, aux

    return step


def make_eval(loss_fn: Callable) -> Callable:
    """The jitted `evaluate(model, x, y) -> (loss, aux)` (no gradient)."""
    return eqx.filter_jit(_with_aux(loss_fn))


def minibatches(data: tuple, batch_size: int, *, key: PRNGKeyArray | None) -> Iterable[tuple]:
    """Shuffled (with `key`; in order when `key` is `None`) minibatches of `batch_size` samples
    of the arrays in `data` (leading sample axis); the last partial batch is dropped, so every
    batch has one shape and the step compiles once."""
    n = len(data[0])
    order = np.arange(n) if key is None else np.asarray(jr.permutation(key, n))
    for start in range(0, n - batch_size + 1, batch_size):
        idx = order[start : start + batch_size]
        yield tuple(jnp.asarray(a)[idx] for a in data)


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when `monitor` (a history key: `"loss"`, `"eval_loss"`, `"eval_accuracy"`, ...) has
    not improved by more than `min_delta` for `patience` epochs; `mode` is `"min"` or `"max"`.
    With `restore_best`, `fit` returns the model of the best epoch."""

    patience: int = 5
    monitor: str = "eval_loss"
    min_delta: float = 0.0
    mode: str = "min"
    restore_best: bool = True

    def __post_init__(self):
        if self.mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max'; got {self.mode!r}.")
        if self.patience < 1:
            raise ValueError(f"`patience` must be >= 1 epoch; got {self.patience}.")


def _check_arrays(data, batch_size: int | None, name: str) -> tuple:
    if len(data) != 2:
        raise ValueError(f"`{name}` must be `(inputs, targets)`; got {len(data)} arrays.")
    n = len(data[0])
    if len(data[1]) != n:
        raise ValueError(f"`{name}`: {n} inputs but {len(data[1])} targets.")
    if n == 0:
        raise ValueError(f"`{name}` is empty (0 samples).")
    if batch_size is not None and batch_size > n:
        raise ValueError(f"`batch_size` ({batch_size}) exceeds the {n} samples of `{name}`.")
    return tuple(data)


def fit(
    model: Any,
    loss_fn: Callable,
    optimizer: optax.GradientTransformation,
    data: tuple | Iterable | Callable[[int], Iterable],
    *,
    epochs: int = 1,
    batch_size: int | None = None,
    key: PRNGKeyArray | None = None,
    eval_data: tuple | None = None,
    early_stopping: EarlyStopping | None = None,
    progress: bool = True,
) -> tuple[Any, dict[str, list[float]]]:
    """Train `model` with `optimizer` on `loss_fn` for `epochs` epochs.

    **Arguments:**
    - `model`: any equinox module (e.g. a `Sequential` of spiking layers, or a function of a
      `Network`'s weights wrapped in a module); its floating arrays are trained.
    - `loss_fn(model, x, y)`: a scalar loss, or `(loss, {name: scalar})` whose metrics are
      averaged per epoch into the history and shown on the bar.
    - `optimizer`: an optax `GradientTransformation` (`optax.adam(1e-3)`).
    - `data`: `(inputs, targets)` arrays with a leading sample axis (shuffled each epoch with
      `key` into minibatches of `batch_size`, last partial batch dropped), or an iterable of
      `(x, y)` batches re-iterated each epoch (a list), or a function `epoch -> iterable`.
    - `eval_data`: `(inputs, targets)` evaluated after each epoch (one batch, or batches of
      `batch_size`); its results enter the history as `eval_<name>`.
    - `early_stopping`: an `EarlyStopping`, or `None`.
    - `progress`: show a tqdm bar with the running loss and metrics.

    **Returns:** `(model, history)`, `history[name]` a list with one float per epoch (`loss`,
    the metrics, `eval_loss`, `eval_<metric>`).
    """
    if epochs < 1:
        raise ValueError(f"`epochs` must be >= 1; got {epochs}.")
    if isinstance(data, tuple):
        data = _check_arrays(data, batch_size, "data")
        if batch_size is None:
            raise ValueError("`fit` needs `batch_size` when `data` is `(inputs, targets)` arrays.")
        if key is None:
            raise ValueError("`fit` needs `key` to shuffle `(inputs, targets)` arrays.")
    if eval_data is not None:
        eval_data = _check_arrays(eval_data, None, "eval_data")
    step = make_step(loss_fn, optimizer)
    evaluate = make_eval(loss_fn)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    history: dict[str, list[float]] = {}
    best, best_model, waited = None, model, 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, unit="epoch")
    try:
        for epoch in range(epochs):
            if isinstance(data, tuple):
                batches = minibatches(data, batch_size, key=jr.fold_in(key, epoch))
            elif callable(data):
                batches = data(epoch)
            else:
                batches = data
            sums: dict[str, float] = {}
            count = 0
            for x, y in batches:
                model, opt_state, loss, aux = step(model, opt_state, x, y)
                for name, value in {"loss": loss, **aux}.items():
                    sums[name] = sums.get(name, 0.0) + float(value)
                count += 1
                if bar is not None:
                    bar.set_postfix({k: f"{v / count:.4g}" for k, v in sums.items()})
            if count == 0:
                raise ValueError(f"`data` gave no batches in epoch {epoch} (an exhausted iterator?).")
            record = {k: v / count for k, v in sums.items()}
            if eval_data is not None:
                record.update(_evaluate(evaluate, model, eval_data, batch_size))
            for name, value in record.items():
                history.setdefault(name, []).append(value)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4g}" for k, v in record.items()})
                bar.update(1)
            if early_stopping is not None:
                if early_stopping.monitor not in record:
                    raise ValueError(
                        f"`EarlyStopping.monitor` = {early_stopping.monitor!r} is not in the history; "
                        f"known: {sorted(record)}."
                    )
                value = record[early_stopping.monitor]
                sign = 1.0 if early_stopping.mode == "min" else -1.0
                if best is None or sign * (best - value) > early_stopping.min_delta:
                    best, best_model, waited = value, model, 0
                else:
                    waited += 1
                    if waited >= early_stopping.patience:
                        break
    finally:
        if bar is not None:
            bar.close()
    if early_stopping is not None and early_stopping.restore_best:
        model = best_model
    return model, history


def _evaluate(evaluate, model, eval_data, batch_size) -> dict[str, float]:
    batches = [eval_data] if batch_size is None else list(minibatches(eval_data, batch_size, key=None))
    if not batches:
        batches = [eval_data]
    sums: dict[str, float] = {}
    for x, y in batches:
        loss, aux = evaluate(model, jnp.asarray(x), jnp.asarray(y))
        for name, value in {"loss": loss, **aux}.items():
            sums["eval_" + name] = sums.get("eval_" + name, 0.0) + float(value)
    return {k: v / len(batches) for k, v in sums.items()}
