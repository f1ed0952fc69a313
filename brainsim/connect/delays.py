"""Per-synapse transmission delays (integer time steps), drawn for a built connectivity.

A delay rule's `draw(conn, *, key)` returns an int32 NumPy array shaped like the format's
synapses (`(nnz,)` for `CSR`, `(n_pre, k)` for `ELL`: `brainsim.ops.stored_synapses`); a
`Projection` stores it and the network buffers contributions per postsynaptic neuron
(`brainsim.ops.event_scatter_delayed`). Drawing runs on the host in NumPy, O(synapses), and
compiles nothing (an eager `jax.random` draw would compile once per synapse count).
"""

import abc

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._validation import require_positive, require_positive_int
from ..ops import AbstractConnectivity, stored_synapses
from .builders import _numpy_rng


class AbstractDelayRule(eqx.Module):
    """Draws one delay (steps, >= 1) per synapse of a connectivity."""

    @abc.abstractmethod
    def draw(self, conn: AbstractConnectivity, *, key: PRNGKeyArray) -> Int[np.ndarray, "..."]:
        """Delays in steps, int32, shaped like `conn`'s stored synapses (`stored_synapses`);
        the same key always gives identical delays."""


class ConstantDelay(AbstractDelayRule):
    """Every synapse delays by `steps` (>= 1) time steps."""

    steps: int = eqx.field(static=True)

    def __check_init__(self):
        require_positive_int("steps", self.steps)

    def draw(self, conn, *, key):
        _, _, valid = stored_synapses(conn)
        return np.full(valid.shape, self.steps, np.int32)


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
        _, _, valid = stored_synapses(conn)
        return _numpy_rng(key).integers(self.low, self.high, size=valid.shape, dtype=np.int32, endpoint=True)


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
        pre, post, valid = stored_synapses(conn)
        pre_positions, post_positions = np.asarray(self.pre_positions), np.asarray(self.post_positions)
        post = np.where(valid, post, 0)  # padding slots: any position, the delay is unused
        distance = np.linalg.norm(pre_positions[pre] - post_positions[post], axis=-1)
        steps = np.ceil(distance / self.distance_per_step).astype(np.int32)
        return np.maximum(steps, np.int32(self.minimum))
