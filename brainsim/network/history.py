"""Phases 1 and 6: read what each projection's presynaptic population emitted `delay_steps`
ago, and write this step's outputs into the ring buffers."""

from jaxtyping import Array

from .state import NetworkState


def history_lengths(network) -> dict[str, int]:
    """Ring length per population: the longest homogeneous delay of its outgoing projections
    (per-synapse delays are buffered on the postsynaptic side instead), at least 1 for the
    source of a modulation (which reads the previous step's output)."""
    lengths: dict[str, int] = {}
    for proj in network.projections:
        if proj.synapse_delays is None:
            lengths[proj.pre] = max(lengths.get(proj.pre, 0), proj.delay_steps)
    for modulation in network.modulations:
        lengths[modulation.source] = max(lengths.get(modulation.source, 0), 1)
    return lengths


def read_history(network, state: NetworkState) -> dict[str, Array]:
    """Per projection with a homogeneous delay, the presynaptic output of step `step - delay`."""
    arrived = {}
    for proj in network.projections:
        if proj.synapse_delays is None:
            ring = state.history[proj.pre]
            arrived[proj.name] = ring[(state.step - proj.delay_steps) % ring.shape[0]]
    return arrived


def previous_output(state: NetworkState, population: str) -> Array:
    """What `population` emitted in the previous step (zeros before the first step)."""
    ring = state.history[population]
    return ring[(state.step - 1) % ring.shape[0]]


def write_history(state: NetworkState, outputs: dict[str, Array]) -> dict[str, Array]:
    """The rings with this step's outputs in slot `step % length`."""
    return {
        name: ring.at[state.step % ring.shape[0]].set(outputs[name].astype(ring.dtype))
        for name, ring in state.history.items()
    }
