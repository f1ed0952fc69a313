"""`ELL`: fixed out-degree connectivity, a `(n_pre, k)` table of targets."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from ._base import (
    AbstractConnectivity,
    _as_index_array,
    _as_size,
    _as_weights,
    _check_max_active,
    _check_targets,
    _scale_weights_field,
    default_max_active,
    scale_weights,
    stored_synapses,
    stored_weights,
    to_dense,
)


class ELL(AbstractConnectivity):
    r"""Fixed out-degree: presynaptic `i` projects to `targets[i]` with `weights[i]`.

    A target equal to `n_post` is padding ("no synapse") and contributes nothing, so rows with
    fewer than `k` synapses fit too.

    **Fields:**
    - `targets`: postsynaptic neurons, int32, shape `(n_pre, k)`, in `[0, n_post]`.
    - `weights`: shape `()` (homogeneous) or `(n_pre, k)`, in the receiving synapse's unit (nS
      or pA). A Python number becomes a scalar of the default float dtype (float32; float64
      under x64).
    - `n_post`: number of postsynaptic neurons (static).
    - `max_active`: rows in `event_matvec`'s active-row buffer (static), in `[0, n_pre]`.
      Default `default_max_active(n_pre)`.
    """

    targets: Int[Array, "n_pre k"]
    weights: Float[Array, ""] | Float[Array, "n_pre k"]
    n_post: int = eqx.field(static=True)
    max_active: int = eqx.field(static=True)

    def __init__(
        self,
        targets: ArrayLike,
        weights: ArrayLike,
        n_post: int,
        *,
        max_active: int | None = None,
    ):
        self.targets = _as_index_array("targets", targets)
        self.weights = _as_weights(weights)
        self.n_post = _as_size("n_post", n_post)
        n_pre = self.targets.shape[0] if self.targets.ndim else 0
        self.max_active = default_max_active(n_pre) if max_active is None else max_active

    def __check_init__(self):
        if self.targets.ndim != 2:
            raise ValueError(
                f"`targets` must have shape (n_pre, k); got shape {self.targets.shape}."
            )
        if self.weights.shape not in ((), self.targets.shape):
            raise ValueError(
                f"`weights` must have shape () or {self.targets.shape} to match `targets`; got "
                f"shape {self.weights.shape}."
            )
        _check_max_active(self.max_active, self.n_pre)
        _check_targets("targets", self.targets, self.n_post, padding=True)

    @property
    def n_pre(self) -> int:
        return self.targets.shape[0]


@stored_synapses.register(ELL)
def _(conn: ELL):
    targets = np.asarray(conn.targets)
    pre = np.broadcast_to(np.arange(conn.n_pre, dtype=np.int32)[:, None], targets.shape)
    return pre, targets, targets < conn.n_post


@stored_weights.register(ELL)
def _(conn: ELL):
    return conn.weights


@to_dense.register(ELL)
def _(conn: ELL):
    pre = jnp.broadcast_to(jnp.arange(conn.n_pre)[:, None], conn.targets.shape)
    weights = jnp.broadcast_to(conn.weights, conn.targets.shape)
    dense = jnp.zeros((conn.n_pre, conn.n_post), conn.weights.dtype)
    return dense.at[pre, conn.targets].add(weights, mode="drop")  # padding column dropped


scale_weights.register(ELL, _scale_weights_field)
