"""The refractory countdown shared by integrate-and-fire models.

A refractory variable holds the time left in the refractory period (ms). It decreases at rate 1
while positive and is set to `t_ref` at a spike. Repeatedly subtracting `dt` in float32 leaves a
residue of a few 1e-7 ms where 0 is meant, so "over" means "at most `REFRACTORY_TOLERANCE`".
"""

import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

REFRACTORY_TOLERANCE = 1e-4
"""ms: a countdown at or below this counts as over (far below any usable `dt`)."""


def is_free(refractory: Float[Array, " n"]) -> Bool[Array, " n"]:
    """True where the refractory period is over."""
    return refractory <= REFRACTORY_TOLERANCE


def countdown_rate(refractory: Float[Array, " n"]) -> Float[Array, " n"]:
    """d(refractory)/dt: -1 while refractory, 0 afterwards (ms/ms)."""
    return jnp.where(is_free(refractory), 0.0, -1.0).astype(refractory.dtype)
