"""A network's synapse graph as plain NumPy arrays, for analysis and hardware mapping.

`synapse_graph(network, state)` (also `Network.synapse_graph(state)`) returns a `SynapseGraph`;
code that reads it (the hardware mapper, partitioners, analysis) never touches simulation
internals.
"""

from dataclasses import dataclass

import numpy as np

from .network.plastic import with_weights
from .ops import stored_synapses, to_coo


@dataclass(frozen=True)
class ProjectionGraph:
    """The synapses of one projection, indices local to their populations.

    **Fields:**
    - `name`: projection name.
    - `pre_population`, `post_population`: population names.
    - `pre`, `post`: int64 arrays `(n_synapses,)`, presynaptic and postsynaptic neuron indices.
    - `weight`: float arrays `(n_synapses,)`, in the receiving synapse's unit (nS or pA).
    - `delay`: int arrays `(n_synapses,)`, transmission delay in time steps (>= 1).
    """

    name: str
    pre_population: str
    post_population: str
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray

    @property
    def n_synapses(self) -> int:
        return int(self.pre.shape[0])

    def __repr__(self) -> str:
        """A one-line summary: names, synapse count, weight and delay ranges (no arrays)."""
        return (
            f"ProjectionGraph({self.name!r}: {self.pre_population} -> {self.post_population}, "
            f"{self.n_synapses:,} synapses, weight {_range(self.weight)}, delay {_range(self.delay)} steps)"
        )


def _range(values: np.ndarray) -> str:
    """`"min..max (mean m)"` of an array, or `"-"` when it is empty."""
    if values.size == 0:
        return "-"
    low, high = np.min(values), np.max(values)
    if low == high:
        return f"{low:g}"
    return f"{low:g}..{high:g} (mean {np.mean(values):.3g})"


@dataclass(frozen=True)
class SynapseGraph:
    """All populations and projections of a network.

    **Fields:**
    - `population_names`: tuple of names, in the network's order.
    - `population_sizes`: tuple of sizes, same order.
    - `projections`: tuple of `ProjectionGraph`.

    Neurons are also numbered globally: population `k` occupies
    `offsets[k] : offsets[k] + population_sizes[k]`.
    """

    population_names: tuple[str, ...]
    population_sizes: tuple[int, ...]
    projections: tuple[ProjectionGraph, ...]

    @property
    def n_neurons(self) -> int:
        return int(sum(self.population_sizes))

    def __repr__(self) -> str:
        """A one-line summary: populations with sizes, projection and synapse counts (no arrays)."""
        populations = ", ".join(
            f"{n}: {k:,}" for n, k in zip(self.population_names, self.population_sizes, strict=True)
        )
        return (
            f"SynapseGraph({self.n_neurons:,} neurons in {len(self.population_names)} populations "
            f"({populations}), {len(self.projections)} projections, {self.n_synapses:,} synapses)"
        )

    def __str__(self) -> str:
        """The summary, then one line per projection."""
        return "\n".join([repr(self), *(f"  {p!r}" for p in self.projections)])

    @property
    def n_synapses(self) -> int:
        return int(sum(p.n_synapses for p in self.projections))

    @property
    def offsets(self) -> dict[str, int]:
        """Global index of each population's first neuron."""
        starts = np.concatenate([[0], np.cumsum(self.population_sizes)[:-1]]).astype(int)
        return dict(zip(self.population_names, starts.tolist(), strict=True))

    def population_of(self) -> np.ndarray:
        """int array `(n_neurons,)`: the population index of each global neuron."""
        return np.repeat(np.arange(len(self.population_sizes)), self.population_sizes)

    def global_edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """`(pre, post, weight, delay)` over all projections, with global neuron indices."""
        offsets = self.offsets
        if not self.projections:
            empty = np.zeros(0, np.int64)
            return empty, empty, np.zeros(0), empty
        pre = np.concatenate([p.pre + offsets[p.pre_population] for p in self.projections])
        post = np.concatenate([p.post + offsets[p.post_population] for p in self.projections])
        weight = np.concatenate([p.weight for p in self.projections])
        delay = np.concatenate([p.delay for p in self.projections])
        return pre.astype(np.int64), post.astype(np.int64), weight, delay.astype(np.int64)


def synapse_graph(network, state=None) -> SynapseGraph:
    """The `SynapseGraph` of a `brainsim.Network`: per projection the stored synapses'
    (pre, post, weight, delay in steps). Plastic projections report the weights in `state`
    (a `NetworkState`, e.g. `result.final_state`) when given, else their initial weights."""
    graphs = []
    for proj in network.projections:
        conn = proj.connectivity  # a plastic projection's initial weights
        if proj.plastic and state is not None:
            conn = with_weights(conn, state.projections[proj.name].weights)
        pre, post, weight = to_coo(conn)
        if proj.synapse_delays is None:
            delay = np.full(np.shape(pre), proj.delay_steps, np.int64)
        else:
            delay = np.asarray(proj.synapse_delays)[stored_synapses(conn)[2]]
        graphs.append(
            ProjectionGraph(
                name=proj.name,
                pre_population=proj.pre,
                post_population=proj.post,
                pre=np.asarray(pre, np.int64),
                post=np.asarray(post, np.int64),
                weight=np.asarray(weight),
                delay=delay.astype(np.int64),
            )
        )
    return SynapseGraph(
        population_names=tuple(p.name for p in network.populations),
        population_sizes=tuple(p.n for p in network.populations),
        projections=tuple(graphs),
    )
