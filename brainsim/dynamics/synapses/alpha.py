"""Alpha-function synapse."""

import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, TimeLike
from ..._validation import require_parameters, require_positive
from .base import AbstractLinearSynapse


class AlphaSynapseState(eqx.Module):
    """`g`: synaptic variable (nS or pA); `x`: its auxiliary rise variable; each `(n,)`."""

    g: Float[Array, " n"]
    x: Float[Array, " n"]


class AlphaSynapse(AbstractLinearSynapse[AlphaSynapseState]):
    r"""Alpha-function synapse, peak-normalised: one spike of weight $w$ at $t=0$ gives
    $g(t) = w\,\frac{t}{\tau}\,e^{1 - t/\tau}$ (peak $w$ at $t = \tau$).

    $$\tau \frac{dx}{dt} = -x, \qquad \tau \frac{dg}{dt} = e\,x - g, \qquad x \leftarrow x + w.$$

    Exponential Euler treats $x$ as constant over a step for $g$ (first order in $\Delta t$).

    **Fields:** `tau`: time to peak, ms; > 0.
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

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> AlphaSynapseState:
        return AlphaSynapseState(g=jnp.zeros(n), x=jnp.zeros(n))

    def linear_coefficients(self, t: TimeLike, y, args=None):
        rate = jnp.broadcast_to(-1.0 / jnp.asarray(self.tau, y.g.dtype), y.g.shape)
        a = AlphaSynapseState(g=rate, x=rate)
        b = AlphaSynapseState(g=math.e * y.x / self.tau, x=jnp.zeros_like(y.x))
        return a, b

    def on_events(self, y, delivered):
        return AlphaSynapseState(g=y.g, x=y.x + delivered)

    def value(self, y):
        return y.g
