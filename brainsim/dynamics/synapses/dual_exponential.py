"""Dual-exponential (difference of exponentials) synapse."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, TimeLike
from ..._validation import require_less, require_parameters, require_positive
from .base import AbstractLinearSynapse


class DualExponentialSynapseState(eqx.Module):
    """`decay`, `rise`: the two exponential components, `g = decay - rise`; each `(n,)`."""

    decay: Float[Array, " n"]
    rise: Float[Array, " n"]


class DualExponentialSynapse(AbstractLinearSynapse[DualExponentialSynapseState]):
    r"""Difference of exponentials, peak-normalised: one spike of weight $w$ gives
    $g(t) = w\,f\,(e^{-t/\tau_d} - e^{-t/\tau_r})$ with $f$ chosen so that $\max_t g = w$,

    $$t_\mathrm{peak} = \frac{\tau_d \tau_r}{\tau_d - \tau_r} \ln\frac{\tau_d}{\tau_r}, \qquad
    f = \left(e^{-t_\mathrm{peak}/\tau_d} - e^{-t_\mathrm{peak}/\tau_r}\right)^{-1}.$$

    Each component decays independently ($\tau_d\,\dot d = -d$, $\tau_r\,\dot r = -r$) and
    jumps by $w f$ at a spike, so exponential Euler is exact.

    **Fields:** `tau_rise` (ms; > 0, < `tau_decay`), `tau_decay` (ms; > 0).
    """

    tau_rise: Parameter = 1.0
    tau_decay: Parameter = 5.0

    def __check_init__(self):
        require_parameters(
            self,
            {
                "tau_rise": "ms",
                "tau_decay": "ms",
            },
        )
        require_positive("tau_rise", self.tau_rise, "ms")
        require_positive("tau_decay", self.tau_decay, "ms")
        require_less("tau_rise", self.tau_rise, "tau_decay", self.tau_decay, "ms")

    @property
    def peak_normalisation(self) -> Float[Array, "..."]:
        """$f$, dimensionless."""
        tau_r, tau_d = jnp.asarray(self.tau_rise), jnp.asarray(self.tau_decay)
        t_peak = tau_d * tau_r / (tau_d - tau_r) * jnp.log(tau_d / tau_r)
        return 1.0 / (jnp.exp(-t_peak / tau_d) - jnp.exp(-t_peak / tau_r))

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None):
        return DualExponentialSynapseState(decay=jnp.zeros(n), rise=jnp.zeros(n))

    def linear_coefficients(self, t: TimeLike, y, args=None):
        a = DualExponentialSynapseState(
            decay=jnp.broadcast_to(
                -1.0 / jnp.asarray(self.tau_decay, y.decay.dtype), y.decay.shape
            ),
            rise=jnp.broadcast_to(-1.0 / jnp.asarray(self.tau_rise, y.rise.dtype), y.rise.shape),
        )
        zero = jnp.zeros_like(y.decay)
        return a, DualExponentialSynapseState(decay=zero, rise=zero)

    def on_events(self, y, delivered):
        jump = delivered * self.peak_normalisation
        return DualExponentialSynapseState(decay=y.decay + jump, rise=y.rise + jump)

    def value(self, y):
        return y.decay - y.rise
