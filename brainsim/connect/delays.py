"""Per-synapse transmission delays (integer time steps), drawn for a built connectivity.

A delay rule's `draw(conn, *, key)` returns an int32 array shaped like the format's synapses
(`(nnz,)` for `CSR`, `(n_pre, k)` for `ELL`); `Projection(..., delay=rule)` stores it and the
network buffers contributions per postsynaptic neuron (`brainsim.ops.event_scatter_delayed`).
"""

import abc

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._validation import require_positive, require_positive_int
from ..ops.delayed import synapse_endpoints
from ..ops.formats import AbstractConnectivity


class AbstractDelayRule(eqx.Module):
    """Draws one delay (steps, >= 1) per synapse of a connectivity."""

    @abc.abstractmethod
    def draw(self, conn: AbstractConnectivity, *, key: PRNGKeyArray) -> Int[Array, "..."]:
        """Delays in steps, int32, shaped like `conn`'s stored synapses."""


class ConstantDelay(AbstractDelayRule):
    """Every synapse delays by `steps` (>= 1) time steps."""

    steps: int = eqx.field(static=True)

    def __check_init__(self):
        require_positive_int("steps", self.steps)

    def draw(self, conn, *, key):
        pre, _ = synapse_endpoints(conn)
        return jnp.full(pre.shape, self.steps, jnp.int32)


class UniformDelay(AbstractDelayRule):
    """Delays uniform over the integers `low..high` steps (inclusive; 1 <= `low` <= `high`)."""

    low: int = eqx.field(static=True)
    high: int = eqx.field(static=True)

    def __check_init__(self):
        require_positive_int("low", self.low)
        require_positive_int("high", self.high)
        if self.high < self.low:
            raise ValueError(f"`high` must be >= `low`; got low={self.low}, high={self.high}.")

    def draw(self, conn, *, key):
        pre, _ = synapse_endpoints(conn)
        return jr.randint(key, pre.shape, self.low, self.high + 1, dtype=jnp.int32)


class DistanceDelay(AbstractDelayRule):
    r"""Delay growing with distance: $d_{ij} = \max(d_\mathrm{min},\ \lceil
    \lVert x_i - y_j \rVert / (v\,\Delta t) \rceil)$ steps.

    **Fields:**
    - `pre_positions`, `post_positions`: neuron positions, shapes `(n_pre, dim)`, `(n_post, dim)`
      (e.g. µm).
    - `distance_per_step`: conduction velocity times the time step, $v\,\Delta t$, in the
      positions' unit per step (e.g. 0.5 m/s x 0.1 ms = 50 µm per step); > 0.
    - `minimum`: smallest delay, steps (>= 1).
    """

    pre_positions: Float[Array, "n_pre dim"] = eqx.field(converter=jnp.asarray)
    post_positions: Float[Array, "n_post dim"] = eqx.field(converter=jnp.asarray)
    distance_per_step: float
    minimum: int = eqx.field(static=True, default=1)

    def __check_init__(self):
        require_positive("distance_per_step", self.distance_per_step)
        require_positive_int("minimum", self.minimum)
        for name in ("pre_positions", "post_positions"):
            if np.ndim(getattr(self, name)) != 2:
                raise ValueError(f"`{name}` must have shape (n, dim); got {np.shape(getattr(self, name))}.")

    def draw(self, conn, *, key):
        for name, expected in (("pre_positions", conn.n_pre), ("post_positions", conn.n_post)):
            if np.shape(getattr(self, name))[0] != expected:
                raise ValueError(
                    f"`{name}` must have {expected} rows to match the connectivity; got "
                    f"{np.shape(getattr(self, name))[0]}."
                )
        pre, post = synapse_endpoints(conn)
        post_positions = jnp.concatenate(  # ELL padding (post == n_post) gets a dummy position
            [jnp.asarray(self.post_positions), jnp.zeros((1, self.post_positions.shape[1]))]
        )
        distance = jnp.linalg.norm(jnp.asarray(self.pre_positions)[pre] - post_positions[post], axis=-1)
        steps = jnp.ceil(distance / self.distance_per_step).astype(jnp.int32)
        return jnp.maximum(steps, self.minimum)
