"""Leaky rate unit (Wilson-Cowan type): a population that emits a firing rate, not spikes."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, TimeLike
from ..._validation import require_parameters, require_positive
from ..synaptic_input import SynapticInput, as_synaptic_input
from .base import AbstractLinearInState, AbstractValueNeuron


class RateState(eqx.Module):
    """State of `RateUnit`: `r`, the firing rate of each unit, Hz, shape `(n,)`."""

    r: Float[Array, " n"]


class RateUnit(AbstractValueNeuron[RateState], AbstractLinearInState[RateState]):
    r"""A leaky rate unit with a sigmoid gain (Wilson & Cowan 1972, without the refractory term):

    $$\tau \frac{dr}{dt} = -r + F(I), \qquad F(I) = \frac{r_\mathrm{max}}{1 + e^{-(I - \theta)/\sigma}},$$

    with $I$ the input current (pA): the sum of `CUBA` synaptic outputs and current inputs.
    Linear in $r$ given $I$ ($a = -1/\tau$, $b = F(I)/\tau$), so exponential Euler is exact
    for an input held over the step. Emits $r$ (Hz): projections from it deliver $W r$, with
    `W` in pA/Hz through an `InstantaneousSynapse` (or nS/Hz into a synapse with dynamics).
    Conductance-based (`COBA`) outputs cannot target it: a rate unit has no membrane potential.

    **Fields** (floats or `(n,)` arrays):
    - `tau`: time constant, ms; > 0.
    - `r_max`: maximal rate, Hz; > 0.
    - `theta`: input at half-maximal rate, pA.
    - `sigma`: width of the sigmoid, pA; > 0.

    ??? cite "Reference"
        ```bibtex
        @article{wilson1972,
          author = {Wilson, Hugh R. and Cowan, Jack D.},
          title = {Excitatory and inhibitory interactions in localized populations of model neurons},
          journal = {Biophys. J.}, volume = {12}, number = {1}, pages = {1--24}, year = {1972}}
        ```
    """

    tau: Parameter = 10.0
    r_max: Parameter = 100.0
    theta: Parameter = 0.0
    sigma: Parameter = 10.0

    def __check_init__(self):
        require_parameters(self, {"tau": "ms", "r_max": "Hz", "theta": "pA", "sigma": "pA"})
        require_positive("tau", self.tau, "ms")
        require_positive("r_max", self.r_max, "Hz")
        require_positive("sigma", self.sigma, "pA")

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> RateState:
        """All units at 0 Hz."""
        return RateState(r=jnp.zeros(n))

    def gain(self, current: Float[Array, "*n"]) -> Float[Array, "*n"]:
        """$F(I)$, Hz, for an input current `current` (pA)."""
        return self.r_max * jax.nn.sigmoid((current - self.theta) / self.sigma)

    def linear_coefficients(self, t: TimeLike, y: RateState, args) -> tuple[RateState, RateState]:
        drive: SynapticInput = as_synaptic_input(args)
        rate = self.gain(drive.current_at_zero)
        a = jnp.broadcast_to(-1.0 / jnp.asarray(self.tau, y.r.dtype), y.r.shape)
        return RateState(r=a), RateState(r=rate / self.tau)

    def value(self, y: RateState) -> Float[Array, " n"]:
        return y.r
