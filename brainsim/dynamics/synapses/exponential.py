"""Single-exponential synapse."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, TimeLike
from ..._validation import require_parameters, require_positive
from .base import AbstractLinearSynapse


class ExponentialSynapseState(eqx.Module):
    """`g`: synaptic variable per postsynaptic neuron (nS or pA), shape `(n,)`."""

    g: Float[Array, " n"]


class ExponentialSynapse(AbstractLinearSynapse[ExponentialSynapseState]):
    r"""Instantaneous rise, exponential decay: $\tau \frac{dg}{dt} = -g$, $g \leftarrow g + w$
    for each arriving spike of weight $w$.

    **Fields:** `tau`: decay time constant, ms; > 0.
    """

    tau: Parameter = 5.0

    def __check_init__(self):
        require_parameters(
            self,
            {
                "tau": "ms",
            },
        )
        require_positive("tau", self.tau, "ms")

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> ExponentialSynapseState:
        return ExponentialSynapseState(g=jnp.zeros(n))

    def linear_coefficients(self, t: TimeLike, y, args=None):
        a = ExponentialSynapseState(
            g=jnp.broadcast_to(-1.0 / jnp.asarray(self.tau, y.g.dtype), y.g.shape)
        )
        return a, ExponentialSynapseState(g=jnp.zeros_like(y.g))

    def on_events(self, y, delivered):
        return ExponentialSynapseState(g=y.g + delivered)

    def value(self, y):
        return y.g
