"""Weights that live in the state: per-synapse arrays in the layout of the connectivity format."""

import functools as ft

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..ops import CSR, ELL, AbstractConnectivity, Dense


@ft.singledispatch
def initial_weights(conn: AbstractConnectivity) -> Float[Array, "..."]:
    """One weight per stored synapse, in the format's layout (homogeneous weights broadcast)."""
    raise TypeError(
        f"`{type(conn).__name__}` connectivity cannot hold per-synapse weights in the state, so it "
        "cannot be `plastic=True`; use `CSR`, `ELL` or `Dense`."
    )


@initial_weights.register
def _(conn: CSR):
    return jnp.broadcast_to(conn.weights, conn.indices.shape)


@initial_weights.register
def _(conn: ELL):
    return jnp.broadcast_to(conn.weights, conn.targets.shape)


@initial_weights.register
def _(conn: Dense):
    return conn.weights


def with_weights(conn: AbstractConnectivity, weights: Float[Array, "..."]) -> AbstractConnectivity:
    """`conn` with its weights replaced by `weights` (same layout as `initial_weights(conn)`)."""
    return eqx.tree_at(lambda c: c.weights, conn, weights)
