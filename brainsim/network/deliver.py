"""Phase 2: deliver what arrived through each projection's connectivity into its synapse, and
each event input's events into its own synapse.

Spikes take the event-driven path (`event_matvec`, O(active rows x fan-out), with an overflow
flag when more rows are active than the buffer holds); values (rates, levels) are dense
activity and take the same operator without an overflow report, since every row is active
by design. Plastic projections read their weights from the state; with short-term plasticity
each arriving spike acts with its efficacy (`AbstractShortTermPlasticity.release`), times the
factor of any release modulation (`brainsim.network.modulation`).
"""

import jax.numpy as jnp
import jax.random as jr

from ..dynamics import AbstractEventInput
from ..ops import active_count_exceeds_buffer, event_matvec
from .plastic import with_weights
from .state import InputState, NetworkState, ProjectionState


def connectivity_in_use(proj, projection_state: ProjectionState):
    """The projection's connectivity with the weights that act now (the state's, if plastic)."""
    if proj.plastic:
        return with_weights(proj.connectivity, projection_state.weights)
    return proj.connectivity


def deliver(network, state: NetworkState, arrived, release, emitted_kind, t, dt, step_key):
    """`(projections, inputs, overflow)`: states after delivery, and per projection with a
    homogeneous delay whether the event buffer overflowed. `release` holds the factors of
    release modulations (`ScaleRelease`) per projection."""
    projections, overflow = {}, {}
    for proj in network.projections:
        current = state.projections[proj.name]
        short_term = current.short_term
        if proj.synapse_delays is None:
            conn = connectivity_in_use(proj, current)
            released = arrived[proj.name]
            if proj.short_term is not None:
                short_term, released = proj.short_term.release(short_term, released, dt)
            if proj.name in release:
                released = released * release[proj.name]
            delivered = event_matvec(conn, released)
            if emitted_kind[proj.pre] == "spikes":
                overflow[proj.name] = active_count_exceeds_buffer(conn, arrived[proj.name])
            else:
                overflow[proj.name] = jnp.array(False)
            pending = current.pending
        else:
            slot = state.step % current.pending.shape[0]
            delivered = current.pending[slot]
            pending = current.pending.at[slot].set(0.0)
        synapse = proj.synapse.on_events(current.synapse, delivered)
        projections[proj.name] = ProjectionState(
            synapse, current.weights, pending, current.plasticity, short_term
        )
    inputs = []
    for k, inp in enumerate(network.inputs):
        if isinstance(inp, AbstractEventInput):
            n = network.population(inp.target).n
            delivered = inp.delivered(t, dt, n, jr.fold_in(step_key, k))
            inputs.append(InputState(inp.synapse.on_events(state.inputs[k].synapse, delivered)))
        else:
            inputs.append(state.inputs[k])
    return projections, tuple(inputs), overflow
