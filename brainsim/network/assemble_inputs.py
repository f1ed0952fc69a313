"""Phase 3: each population's input, in the type its model declares (`zero_input`), from the
synapse outputs of its projections and event inputs, current inputs and streamed currents."""

import jax.numpy as jnp

from ..dynamics import AbstractCurrentInput, AbstractEventInput
from ..dynamics.streams import StreamedCurrent


def assemble_inputs(network, projections, inputs, data, t) -> dict:
    """Per population (data sources excluded), its input for the step starting at `t` (ms)."""
    dtype = jnp.result_type(float)
    drives = {p.name: p.neuron.zero_input(p.n, dtype) for p in network.populations if p.solver is not None}
    for proj in network.projections:
        value = proj.synapse.value(projections[proj.name].synapse)
        drives[proj.post] = proj.output.apply(drives[proj.post], value)
    for k, inp in enumerate(network.inputs):
        target = inp.target
        if isinstance(inp, AbstractEventInput):
            drives[target] = inp.output.apply(drives[target], inp.synapse.value(inputs[k].synapse))
        elif isinstance(inp, AbstractCurrentInput):
            n = network.population(target).n
            drives[target] = drives[target].add_current(inp.current_at(t, n))
        elif isinstance(inp, StreamedCurrent):
            drives[target] = drives[target].add_current(data[inp.stream])
    return drives
