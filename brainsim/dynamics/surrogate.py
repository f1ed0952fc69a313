r"""Spike nonlinearity with surrogate gradients.

The forward pass is the Heaviside step $H(x)$ of the distance to threshold $x = v - V_\theta$
(0/1 in floating point); the backward pass replaces $H'(x) = \delta(x)$ by a smooth surrogate
$\sigma'(x)$ (Neftci, Mostafa & Zenke 2019). The surrogate is a field of each spiking model, so
it is chosen per model: `LIF(surrogate=Arctan(alpha=2.0))`.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._validation import require_positive


class AbstractSurrogate(eqx.Module):
    """A pseudo-derivative $\\sigma'(x)$ used for $\\partial H(x) / \\partial x$."""

    @abc.abstractmethod
    def derivative(self, x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """$\\sigma'(x)$, evaluated elementwise at the distance to threshold `x` (mV)."""


class Sigmoid(AbstractSurrogate):
    r"""Logistic surrogate: $\sigma'(x) = s\,\mathrm{sig}(s x)\,(1 - \mathrm{sig}(s x))$.

    **Fields:** `slope` $s$ (1/mV; > 0).
    """

    slope: float = 5.0

    def __check_init__(self):
        require_positive("slope", self.slope, "1/mV")

    def derivative(self, x):
        # sig(-sx) rather than 1 - sig(sx): no cancellation for x > 0 (symmetric in float32)
        return self.slope * jax.nn.sigmoid(self.slope * x) * jax.nn.sigmoid(-self.slope * x)


class SuperSpike(AbstractSurrogate):
    r"""Fast-sigmoid surrogate of SuperSpike (Zenke & Ganguli 2018): $\sigma'(x) = 1/(1 + s|x|)^2$.

    **Fields:** `slope` $s$ (1/mV; > 0).
    """

    slope: float = 10.0

    def __check_init__(self):
        require_positive("slope", self.slope, "1/mV")

    def derivative(self, x):
        return 1.0 / (1.0 + self.slope * jnp.abs(x)) ** 2


FastSigmoid = SuperSpike
"""Alias: the fast sigmoid of snnTorch is SuperSpike's surrogate."""


class Arctan(AbstractSurrogate):
    r"""Arctangent surrogate (Fang et al. 2021): $\sigma'(x) = \alpha / (2 (1 + (\pi \alpha x / 2)^2))$.

    **Fields:** `alpha` (1/mV; > 0), the width parameter.
    """

    alpha: float = 2.0

    def __check_init__(self):
        require_positive("alpha", self.alpha, "1/mV")

    def derivative(self, x):
        return self.alpha / (2.0 * (1.0 + (jnp.pi * self.alpha * x / 2.0) ** 2))


@jax.custom_jvp
def spike_fn(x: Float[Array, "*shape"], surrogate: AbstractSurrogate) -> Float[Array, "*shape"]:
    r"""$H(x)$ forward (1.0 where `x` > 0, else 0.0); `surrogate.derivative(x)` backward."""
    return (x > 0).astype(jnp.result_type(x))


@spike_fn.defjvp
def _spike_fn_jvp(primals, tangents):
    x, surrogate = primals
    dx, _ = tangents
    return spike_fn(x, surrogate), surrogate.derivative(x) * dx
