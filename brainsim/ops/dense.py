"""`Dense`: a full weight matrix; `event_matvec` is a plain matrix product."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import require_floating
from ._base import (
    AbstractConnectivity,
    _scale_weights_field,
    n_synapses,
    scale_weights,
    stored_synapses,
    stored_weights,
    to_dense,
)


class Dense(AbstractConnectivity):
    """A full weight matrix; `event_matvec` is a plain matrix product. Entries exactly 0 are not
    synapses (`to_coo`, `n_synapses`).

    **Fields:**
    - `weights`: shape `(n_pre, n_post)`, in the receiving synapse's unit (nS or pA).
    """

    weights: Float[Array, "n_pre n_post"] = eqx.field(converter=jnp.asarray)

    def __check_init__(self):
        if self.weights.ndim != 2:
            raise ValueError(
                f"`weights` of `Dense` must be 2-dimensional (n_pre, n_post); got shape "
                f"{self.weights.shape}."
            )
        require_floating("weights", self.weights)

    @property
    def n_pre(self) -> int:
        return self.weights.shape[0]

    @property
    def n_post(self) -> int:
        return self.weights.shape[1]


@stored_synapses.register(Dense)
def _(conn: Dense):
    shape = (conn.n_pre, conn.n_post)
    pre = np.broadcast_to(np.arange(conn.n_pre, dtype=np.int32)[:, None], shape)
    post = np.broadcast_to(np.arange(conn.n_post, dtype=np.int32)[None, :], shape)
    return pre, post, np.asarray(conn.weights) != 0


@stored_weights.register(Dense)
def _(conn: Dense):
    return conn.weights


@to_dense.register(Dense)
def _(conn: Dense):
    return conn.weights


@n_synapses.register(Dense)
def _(conn: Dense):
    return int(np.count_nonzero(np.asarray(conn.weights)))


scale_weights.register(Dense, _scale_weights_field)
