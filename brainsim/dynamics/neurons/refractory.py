"""The refractory countdown shared by integrate-and-fire models (`LIF`, `ALIF`, `AdEx`).

A refractory variable holds the time left in the refractory period (ms). It decreases at rate 1
while positive and is set to `t_ref` at a spike, by `reset` after the step in which the spike was
detected. Each later step starts by asking `is_free`: with `t_ref = N dt` the next `N` steps are
held and the `N + 1`-th integrates (NEST's convention; Brian2 holds `N - 1`, see `LIF`'s
docstring, and `t_ref - dt` reproduces it). This count is exact for one-stage steppers
(`ExponentialEuler`, `diffrax.Euler()`). A multi-stage diffrax solver evaluates its last stages at
the end of the step, where the countdown of the last held step has reached 0 and the neuron is
free, so that step is partly integrated (`diffrax.Heun()`: half a free step): `v` leaves `v_reset`
up to one step early. The vector field cannot tell that stage from the start of the next step.

Repeatedly subtracting `dt` in float32 leaves a residue of a few 1e-7 ms where 0 is meant, so
"over" means "at most `REFRACTORY_TOLERANCE`".
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
