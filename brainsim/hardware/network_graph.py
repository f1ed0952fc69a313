"""`NeuronGraph`: the plain arrays the mapper works on, and adapters from brainsim objects."""

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float, Int

from ..graph import SynapseGraph


@dataclass(frozen=True)
class NeuronGraph:
    """A network reduced to what mapping needs: neurons, synapses, firing rates.

    Neurons are numbered globally (population order, as `SynapseGraph.global_edges`).

    **Fields:**
    - `n_neurons`: number of neurons, >= 1.
    - `pre`, `post`: int64 arrays `(n_synapses,)` of global neuron ids in `[0, n_neurons)`.
    - `rates`: float array `(n_neurons,)`, firing rate of each neuron, Hz, >= 0.
    - `population`: int array `(n_neurons,)`, population index of each neuron.
    - `population_names`: tuple of names, one per population index.
    - `weight`: float array `(n_synapses,)` or `None`, synaptic weights (only used by
      `constrained`).
    """

    n_neurons: int
    pre: np.ndarray
    post: np.ndarray
    rates: np.ndarray
    population: np.ndarray
    population_names: tuple[str, ...] = ("all",)
    weight: np.ndarray | None = None

    def __post_init__(self):
        n = self.n_neurons
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`n_neurons` must be an integer >= 1; got {n!r}.")
        pre = np.asarray(self.pre)
        post = np.asarray(self.post)
        if pre.ndim != 1 or pre.shape != post.shape:
            raise ValueError(
                f"`pre` and `post` must be 1-D of equal length; got shapes {pre.shape} and {post.shape}."
            )
        if not (np.issubdtype(pre.dtype, np.integer) and np.issubdtype(post.dtype, np.integer)):
            raise TypeError("`pre` and `post` must be integer arrays of neuron ids.")
        if pre.size and (min(pre.min(), post.min()) < 0 or max(pre.max(), post.max()) >= n):
            raise ValueError(f"`pre` and `post` must be neuron ids in [0, {n}); got ids outside that range.")
        rates = np.asarray(self.rates, dtype=float)
        if rates.shape != (n,):
            raise ValueError(
                f"`rates` must have shape ({n},), one rate in Hz per neuron; got shape {rates.shape}."
            )
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ValueError("`rates` must be finite and >= 0 Hz.")
        population = np.asarray(self.population)
        if population.shape != (n,):
            raise ValueError(f"`population` must have shape ({n},); got {population.shape}.")
        object.__setattr__(self, "pre", pre.astype(np.int64))
        object.__setattr__(self, "post", post.astype(np.int64))
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "population", population.astype(np.int64))

    @property
    def n_synapses(self) -> int:
        return int(self.pre.shape[0])

    def __repr__(self) -> str:
        """A one-line summary: sizes, rates and whether weights are held (no arrays)."""
        names = self.population_names
        shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
        return (
            f"NeuronGraph({self.n_neurons:,} neurons in {len(names)} populations ({shown}), "
            f"{self.n_synapses:,} synapses, rates {self.rates.min():.3g}..{self.rates.max():.3g} Hz "
            f"(mean {self.rates.mean():.3g} Hz), weights {'held' if self.weight is not None else 'none'})"
        )

    def with_rates(self, rates: Float[np.ndarray, " n"]) -> "NeuronGraph":
        """The same graph with other rates (Hz)."""
        return NeuronGraph(
            self.n_neurons, self.pre, self.post, rates, self.population, self.population_names, self.weight
        )


def from_arrays(
    n_neurons: int,
    pre: Int[np.ndarray, " s"],
    post: Int[np.ndarray, " s"],
    rates: Float[np.ndarray, " n"] | float = 1.0,
    population: Int[np.ndarray, " n"] | None = None,
) -> NeuronGraph:
    """A `NeuronGraph` from plain arrays; a scalar `rates` (Hz) applies to every neuron."""
    rates = np.broadcast_to(np.asarray(rates, float), (n_neurons,)) if np.ndim(rates) == 0 else rates
    pop = np.zeros(n_neurons, np.int64) if population is None else population
    names = tuple(f"pop{k}" for k in range(int(np.max(pop)) + 1))
    return NeuronGraph(n_neurons, np.asarray(pre), np.asarray(post), np.array(rates, float), pop, names)


def from_synapse_graph(
    graph: SynapseGraph, rates: Float[np.ndarray, " n"] | dict | float = 1.0
) -> NeuronGraph:
    """A `NeuronGraph` from a `brainsim.graph.SynapseGraph`.

    **Arguments:**
    - `graph`: the network's synapse graph.
    - `rates`: Hz; a scalar, an array `(n_neurons,)` in global order, or a dict
      `{population name: rate}`.
    """
    pre, post, weight, _ = graph.global_edges()
    n = graph.n_neurons
    if isinstance(rates, dict):
        unknown_pops = set(rates) - set(graph.population_names)
        if unknown_pops:
            raise ValueError(f"`rates` names unknown populations {sorted(unknown_pops)}.")
        per_pop = np.array([float(rates.get(name, 0.0)) for name in graph.population_names])
        rates = per_pop[graph.population_of()]
    elif np.ndim(rates) == 0:
        rates = np.full(n, float(rates))
    return NeuronGraph(
        n, pre, post, np.asarray(rates, float), graph.population_of(), graph.population_names, weight
    )


def from_network(network, rates: Float[np.ndarray, " n"] | dict | float = 1.0) -> NeuronGraph:
    """A `NeuronGraph` from a `brainsim.Network` (calls `network.synapse_graph()`)."""
    return from_synapse_graph(network.synapse_graph(), rates)


def rates_from_spikes(graph: SynapseGraph | NeuronGraph, result) -> Float[np.ndarray, " n"]:
    r"""Per-neuron firing rates (Hz, global order) from a simulation result.

    $r_i = n_i / (T \cdot 10^{-3})$ with $n_i$ the spike count and $T$ = `result.duration` (ms).

    **Arguments:**
    - `graph`: a `SynapseGraph` or `NeuronGraph` giving population names and sizes.
    - `result`: has `.spikes[name].indices` (neuron index local to the population, one entry
      per spike) and `.duration` (ms).

    **Returns:** float array `(n_neurons,)`, Hz.
    """
    if isinstance(graph, NeuronGraph):
        names = graph.population_names
        sizes = np.bincount(graph.population, minlength=len(names)).tolist()
    else:
        names, sizes = graph.population_names, list(graph.population_sizes)
    duration = float(result.duration)
    if not duration > 0:
        raise ValueError(f"`result.duration` must be > 0 ms; got {duration!r}.")
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    counts = np.zeros(int(sum(sizes)))
    for name, off, size in zip(names, offsets, sizes, strict=True):  # loop over populations only
        if name not in result.spikes:
            continue
        idx = np.asarray(result.spikes[name].indices, np.int64)
        counts[off : off + size] += np.bincount(idx, minlength=size)[:size]
    return counts / (duration * 1e-3)
