"""Part of phase 5: a projection's plasticity rule moves the synapses whose neurons spiked,
event-driven (`brainsim.ops.synapse_update`), then runs its clock if it has one, in the order
of `brainsim.dynamics.plasticity.base`: decay, presynaptic arrivals, postsynaptic spikes, clock."""

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..ops.synapse_update import all_slots, update_columns, update_rows


def apply_plasticity(
    proj,
    state,
    weights: Float[Array, "*stored"],
    arrived: Float[Array, " n_pre"],
    post: Float[Array, " n_post"],
    dt,
    step: Int[Array, ""],
    learning_rate: Float[Array, "..."] | None = None,
):
    """`(state, weights)` after one step in which `arrived` presynaptic spikes reached the
    projection and its postsynaptic population emitted `post`. `learning_rate` (a scalar or one
    factor per postsynaptic neuron, from `ScaleLearningRate`) multiplies every weight change:
    the events' when they move the weights, the clock's otherwise."""
    rule = proj.plasticity
    state = rule.decay(state, dt)
    if rule.event_driven:
        state, weights = _events(proj, state, weights, arrived, post, learning_rate)
    else:
        state = rule.count_post(rule.count_pre(state, arrived), post)
    period = rule.clock_steps()
    if period:
        state, weights = jax.lax.cond(
            step % period == 0,
            lambda: _clock(proj, state, weights, learning_rate, period * dt),
            lambda: (state, weights),
        )
    return state, weights


def _events(proj, state, weights, arrived, post, learning_rate):
    """Rows of arriving presynaptic spikes, then columns of postsynaptic spikes."""
    rule, conn = proj.plasticity, proj.connectivity
    if rule.updates == "weights":
        target, low, high = weights, rule.w_min, rule.w_max
        scale = _per_post(learning_rate)
    else:
        target, low, high = state.eligibility, -jnp.inf, jnp.inf
        scale = _per_post(None)
    target = update_rows(
        conn, target, arrived, lambda w, i, j, s: s * scale(j) * rule.on_pre(state, w, i, j), low, high
    )
    state = rule.count_pre(state, arrived)
    target = update_columns(
        proj.column_index,
        conn,
        target,
        post,
        lambda w, i, j, s: s * scale(j) * rule.on_post(state, w, i, j),
        low,
        high,
    )
    state = rule.count_post(state, post)
    if rule.updates == "weights":
        return state, target
    return dataclasses.replace(state, eligibility=target), weights


def _clock(proj, state, weights, learning_rate, interval):
    """Every synapse at once (`on_clock`), then the bounds."""
    rule = proj.plasticity
    pre, target, valid = all_slots(proj.connectivity)
    factor = _per_post(learning_rate)(target)
    old = weights.reshape(-1)
    state, flat = rule.on_clock(state, old, pre, target, factor, interval)
    flat = jnp.where(valid, jnp.clip(flat, rule.w_min, rule.w_max), old)  # padding stays as it is
    return state, flat.reshape(weights.shape).astype(weights.dtype)


def _per_post(learning_rate):
    """The factor of postsynaptic neuron `j`: 1, one scalar, or an entry per neuron."""
    if learning_rate is None:
        return lambda j: 1.0
    if jnp.ndim(learning_rate) == 0:
        return lambda j: learning_rate
    return lambda j: learning_rate[j]
