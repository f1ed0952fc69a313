r"""Tsodyks-Markram short-term plasticity (depression and facilitation), per presynaptic neuron."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._validation import require_in_range, require_positive
from .base import AbstractShortTermPlasticity


class TsodyksMarkramState(eqx.Module):
    """`u`: utilisation (release probability), `x`: available resources; dimensionless, in
    [0, 1], shape `(n_pre,)`."""

    u: Float[Array, " n_pre"]
    x: Float[Array, " n_pre"]


class TsodyksMarkram(AbstractShortTermPlasticity):
    r"""Tsodyks-Markram synapse (Tsodyks & Markram 1997; Markram, Wang & Tsodyks 1998), in the
    form of NEST's `tsodyks2_synapse` and Brian2's short-term plasticity example.

    Between spikes resources recover and utilisation decays (exactly over each step):
    $\tau_d \dot x = 1 - x$, $\tau_f \dot u = -u$. At a spike: $u \leftarrow u + U (1 - u)$,
    the released fraction is $r = u\,x$, then $x \leftarrow x - r$; the spike acts with weight
    $w\,r$. At rest $u = 0$, $x = 1$, so an isolated spike releases $U$. For a regular train
    with interval $T$ the amplitudes follow the recursion
    $u_{n+1}^- = u_n^+ e^{-T/\tau_f}$, $x_{n+1}^- = 1 - (1 - x_n^+) e^{-T/\tau_d}$, with
    $u_n^+ = u_n^- + U(1 - u_n^-)$, $r_n = u_n^+ x_n^-$, $x_n^+ = x_n^- - r_n$. Small $U$ with
    long $\tau_f$ facilitates; large $U$ with long $\tau_d$ depresses.

    **Fields:**
    - `U`: utilisation increment per spike, in (0, 1].
    - `tau_d`: recovery (depression) time constant, ms, > 0.
    - `tau_f`: facilitation time constant, ms, > 0.
    """

    U: Float[Array, ""] | float = 0.5
    tau_d: Float[Array, ""] | float = 200.0
    tau_f: Float[Array, ""] | float = 20.0

    def __check_init__(self):
        require_in_range("U", self.U, 0.0, 1.0)
        require_positive("U", self.U)
        require_positive("tau_d", self.tau_d, "ms")
        require_positive("tau_f", self.tau_f, "ms")

    def init_state(self, n_pre: int) -> TsodyksMarkramState:
        dtype = jnp.result_type(float)
        return TsodyksMarkramState(jnp.zeros(n_pre, dtype), jnp.ones(n_pre, dtype))

    def release(self, state, spikes, dt):
        dtype = state.x.dtype
        x = 1.0 - (1.0 - state.x) * jnp.exp(-dt / jnp.asarray(self.tau_d, dtype))
        u = state.u * jnp.exp(-dt / jnp.asarray(self.tau_f, dtype))
        spiked = spikes != 0
        u = jnp.where(spiked, u + self.U * (1.0 - u), u)
        released = u * x
        x = jnp.where(spiked, x - released, x)
        return TsodyksMarkramState(u, x), spikes * released
