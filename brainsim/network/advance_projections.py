"""Phase 5: each synapse advances its own state over the step (`AbstractSynapse.advance`),
plasticity rules move the weights of the synapses whose neurons spiked, and projections with
per-synapse delays schedule this step's presynaptic output into their rings."""

from ..dynamics import AbstractEventInput
from ..ops import active_count_exceeds_buffer, event_scatter_delayed
from .deliver import connectivity_in_use
from .plasticity import apply_plasticity
from .state import InputState, ProjectionState


def advance_projections(network, projections, inputs, arrived, outputs, learning_rate, step, t, dt):
    """`(projections, inputs, overflow)`: the states at the end of the step, and per projection
    with per-synapse delays whether the event buffer overflowed while scheduling. `arrived` is
    what reached each projection this step (read from the history), `outputs` what each
    population emitted, `learning_rate` the factors of learning-rate modulations per projection."""
    advanced, overflow = {}, {}
    for proj in network.projections:
        current = projections[proj.name]
        synapse = proj.synapse.advance(current.synapse, t, dt)
        pending, traces, weights = current.pending, current.plasticity, current.weights
        if proj.plasticity is not None:
            traces, weights = apply_plasticity(
                proj,
                traces,
                weights,
                arrived[proj.name],
                outputs[proj.post],
                dt,
                step,
                learning_rate.get(proj.name),
            )
        if proj.synapse_delays is not None:
            conn = connectivity_in_use(proj, current)
            emitted = outputs[proj.pre]
            overflow[proj.name] = active_count_exceeds_buffer(conn, emitted)
            pending = event_scatter_delayed(conn, emitted, proj.synapse_delays, pending, step)
        advanced[proj.name] = ProjectionState(synapse, weights, pending, traces, current.short_term)
    new_inputs = tuple(
        InputState(inp.synapse.advance(state.synapse, t, dt))
        if isinstance(inp, AbstractEventInput)
        else state
        for inp, state in zip(network.inputs, inputs, strict=True)
    )
    return advanced, new_inputs, overflow
