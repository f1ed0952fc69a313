r"""Spike nonlinearity with surrogate gradients.

The forward pass is the Heaviside step $H(x)$ of the distance to threshold $x = v - V_\theta$
(0/1 in floating point); the backward pass replaces $H'(x) = \delta(x)$ by a smooth surrogate
$\sigma'(x)$ (Neftci, Mostafa & Zenke 2019). The surrogate is a field of each spiking model, so
it is chosen per model: `LIF(surrogate=NormalizedSuperSpike(threshold_distance=10.0))`.

**What is differentiable.** `brainsim.run` (the pure function to use under `jax.grad`) returns
`outputs[name]`: dense float 0/1 spikes whose gradients are surrogate gradients, with
`spike_counts` and `rates` their sums (so a loss on `result.rates["E"]` trains), and `traces`
(monitors), exact derivatives of the discretised dynamics between spikes. Spike *times* and
`simulate`'s compact records are integers and carry no gradient. The network's step resets
with `jax.lax.stop_gradient` on the spike, and a reset `v <- V_r` written with
`jnp.where(spiked > 0, ...)` (as `LIF` does) passes none either: the reset is "detached", as in
SuperSpike (Zenke & Ganguli 2018) and snnTorch's `detach_reset`.

**How to choose a surrogate.** The surrogate sets the gain of the backward pass. In a recurrent
network, a spike's surrogate derivative is applied at *every* time step while $v$ is near
threshold and feeds, through the synapses, every postsynaptic neuron: the adjoint of the
recurrent loop grows roughly like $(\gamma\,\bar\sigma' \cdot \text{fan-in} \cdot
\text{PSP size})^{t/\tau_\mathrm{syn}}$, so a surrogate that is too tall or too wide makes
gradients of 50-200 ms windows explode (1e10-1e23, random sign, then Inf/NaN) although each
step is well behaved. Rules of thumb, measured on a 200 E / 50 I LIF network at `dt` = 0.1 ms:

- Use `NormalizedSuperSpike` (the recommended choice for recurrent networks): SuperSpike on
  the distance in units of the threshold distance $\Delta = V_\theta - V_r$, so its peak
  ($\gamma/\Delta$ per mV) and width ($\Delta/\beta$ mV) scale with the neuron. Set
  `threshold_distance` to the model's $V_\theta - V_r$ (10 mV for the default `LIF`).
- Smaller `dt` applies the surrogate more often per ms: if gradients grow with the window
  length, lower `dampening` (Bellec et al. 2018 use 0.3 at 1 ms) or raise `slope`; the
  gradient then shrinks but keeps its sign. A narrow surrogate (e.g. `SuperSpike(slope=100)`)
  is also stable, but it reaches only neurons within ~0.01 mV of threshold.
- Wide surrogates (a triangle of half-width $\Delta$, `Sigmoid(slope <= 5)`,
  `SuperSpike(slope <= 1)`) give every subthreshold neuron a derivative and explode first.
- Check a new setup once: compare `jax.grad` of the loss with a central finite difference of
  the loss averaged over several keys (the loss of one key is piecewise constant in the
  parameters), at the longest window you train on; the signs must agree.
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


class NormalizedSuperSpike(AbstractSurrogate):
    r"""SuperSpike on the distance to threshold in units of the threshold distance $\Delta$:

    $$\sigma'(x) = \frac{\gamma}{\Delta}\,\frac{1}{(1 + \beta\,|x| / \Delta)^2},$$

    the derivative of a fast sigmoid of $x / \Delta$ (Zenke & Ganguli 2018; scale relative to
    the threshold distance as in Bellec et al. 2018 and Zenke & Vogels 2021), times the
    dampening factor $\gamma$. Its integral over $x$ is $2\gamma / \beta$ whatever $\Delta$.

    **Fields:**
    - `threshold_distance` $\Delta$: mV, > 0; set it to the model's $V_\theta - V_r$
      (default 10 mV, `LIF`'s -50 - (-60)).
    - `slope` $\beta$: dimensionless, > 0 (default 100: half height at $\Delta / 240$).
    - `dampening` $\gamma$: > 0 (default 1; lower it if gradients grow with the window).

    With the defaults it equals `SuperSpike(slope=10)` divided by 10: peak 0.1 per mV.
    """

    threshold_distance: float = 10.0
    slope: float = 100.0
    dampening: float = 1.0

    def __check_init__(self):
        require_positive("threshold_distance", self.threshold_distance, "mV")
        require_positive("slope", self.slope)
        require_positive("dampening", self.dampening)

    def derivative(self, x):
        scaled = self.slope * jnp.abs(x) / self.threshold_distance
        return (self.dampening / self.threshold_distance) / (1.0 + scaled) ** 2


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
    derivative = surrogate.derivative(x)
    # where sigma'(x) = 0, the tangent is 0 even if dx is Inf (no 0 * Inf = NaN)
    tangent = jnp.where(derivative == 0, jnp.zeros_like(derivative), derivative * dx)
    return spike_fn(x, surrogate), tangent
