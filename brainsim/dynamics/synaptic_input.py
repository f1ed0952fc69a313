r"""What a neuron receives from its synapses and inputs in one step.

Every synaptic output is affine in the membrane potential $v$: a current-based synapse adds a
current $I$, a conductance-based one adds $g (E - v)$. Their sum is kept in closed form,

$$I_\mathrm{syn}(v) = I_0 - G\,v, \qquad I_0 = \sum I + \sum_k g_k E_k, \quad G = \sum_k g_k,$$

so a neuron that is linear in $v$ stays linear in $v$ and exponential Euler stays exact.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


class SynapticInput(eqx.Module):
    r"""Total input to a population, $I(v) = I_0 - G v$.

    **Fields** (shape `(n,)` or broadcastable):
    - `current_at_zero`: $I_0$, the input current when $v = 0$ mV, pA.
    - `conductance`: $G$, the summed synaptic conductance, nS.
    """

    current_at_zero: Float[Array, "*n"]
    conductance: Float[Array, "*n"]

    def current(self, v: Float[Array, "*n"]) -> Float[Array, "*n"]:
        """The input current at membrane potential `v` (mV), pA."""
        return self.current_at_zero - self.conductance * v

    def add_current(self, current: Float[ArrayLike, "*n"]) -> "SynapticInput":
        """Add a current-based input (pA)."""
        return SynapticInput(self.current_at_zero + current, self.conductance)

    def add_conductance(
        self, conductance: Float[ArrayLike, "*n"], reversal: Float[ArrayLike, "*n"]
    ) -> "SynapticInput":
        """Add a conductance `conductance` (nS) with reversal potential `reversal` (mV)."""
        return SynapticInput(
            self.current_at_zero + conductance * reversal, self.conductance + conductance
        )


def no_input(n: int, dtype=jnp.float32) -> SynapticInput:
    """Zero current and zero conductance for `n` neurons."""
    zeros = jnp.zeros(n, dtype)
    return SynapticInput(zeros, zeros)


def as_synaptic_input(args) -> SynapticInput:
    """Accept a `SynapticInput`, or a plain current (pA, scalar or array), or `None` (no input)."""
    if isinstance(args, SynapticInput):
        return args
    if args is None:
        return SynapticInput(jnp.zeros(()), jnp.zeros(()))
    current = jnp.asarray(args)
    return SynapticInput(current, jnp.zeros_like(current))
