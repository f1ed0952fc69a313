"""Instantaneous synapse: what arrives in a step acts in that step only."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import TimeLike
from .base import AbstractSynapse


class InstantaneousSynapseState(eqx.Module):
    """`s`: what arrived this step per postsynaptic neuron (pA for `CUBA`), shape `(n,)`."""

    s: Float[Array, " n"]


class InstantaneousSynapse(AbstractSynapse[InstantaneousSynapseState]):
    r"""No synaptic dynamics: the delivered sum is the synaptic variable for one step,
    $s(t) = \sum_i w_{ij} x_i(t - d)$, then it is cleared.

    With a rate population as source and a `CUBA` output this is the rate-model coupling
    $I = W r$ (pA, with `W` in pA/Hz and `r` in Hz); with spikes it is a delta-current synapse
    (a charge `w * dt` per spike).
    """

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> InstantaneousSynapseState:
        return InstantaneousSynapseState(s=jnp.zeros(n))

    def on_events(self, y, delivered):
        return InstantaneousSynapseState(s=y.s + delivered)

    def value(self, y):
        return y.s

    def advance(self, y, t: TimeLike, dt: TimeLike):
        return InstantaneousSynapseState(s=jnp.zeros_like(y.s))
