"""Part of phase 5: a projection's plasticity rule moves the weights of the synapses whose
neurons spiked, event-driven (`brainsim.ops.synapse_update`), in the order of
`brainsim.dynamics.plasticity.base`: decay, presynaptic arrivals, postsynaptic spikes."""

import jax.numpy as jnp
from jaxtyping import Array, Float

from ..ops.synapse_update import update_columns, update_rows


def apply_plasticity(
    proj,
    traces,
    weights: Float[Array, "*stored"],
    arrived: Float[Array, " n_pre"],
    post: Float[Array, " n_post"],
    dt,
    learning_rate: Float[Array, "..."] | None = None,
):
    """`(traces, weights)` after one step in which `arrived` presynaptic spikes reached the
    projection and its postsynaptic population emitted `post`; `learning_rate` (a scalar or
    one factor per postsynaptic neuron, from `ScaleLearningRate`) multiplies every change."""
    rule, conn = proj.plasticity, proj.connectivity
    if learning_rate is None:
        scale = lambda j: 1.0
    elif jnp.ndim(learning_rate) == 0:
        scale = lambda j: learning_rate
    else:
        scale = lambda j: learning_rate[j]
    traces = rule.decay(traces, dt)
    weights = update_rows(
        conn,
        weights,
        arrived,
        lambda w, i, j, s: s * scale(j) * rule.on_pre(traces, w, i, j),
        rule.w_min,
        rule.w_max,
    )
    traces = rule.count_pre(traces, arrived)
    weights = update_columns(
        proj.column_index,
        conn,
        weights,
        post,
        lambda w, i, j, s: s * scale(j) * rule.on_post(traces, w, i, j),
        rule.w_min,
        rule.w_max,
    )
    return rule.count_post(traces, post), weights
