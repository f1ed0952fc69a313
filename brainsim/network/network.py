"""`Network`: populations, projections and inputs composed into one steppable pure function."""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from ..dynamics import COBA, AbstractCurrentInput, AbstractEventInput, ConstantCurrent, SpikeTimes
from ..dynamics.streams import SpikeSource, StreamedCurrent, ValueSource
from ..ops import CSR, ELL, Dense, Procedural
from .emission import emits
from .history import history_lengths
from .modulation import AbstractModulation, ScaleLearningRate, ScaleRelease, check_modulation
from .plastic import initial_weights
from .population import Population, check_per_unit_parameters
from .projection import Projection, build_projection
from .state import InputState, NetworkState, PopulationState, ProjectionState, StepRecord
from .step import step as network_step


class Network(eqx.Module):
    """Named populations, projections between them, and external inputs.

    **Arguments:**
    - `populations`: sequence of `Population` with unique names.
    - `projections`: sequence of `Projection` with unique names; rules are built here with `key`.
    - `inputs`: sequence of inputs (`ConstantCurrent`, `CurrentFunction`, `PoissonInput`,
      `SpikeTimes`, `StreamedCurrent`), each naming its `target` population.
    - `modulations`: couplings through which a population's output scales a projection's
      release (`ScaleRelease`) or its plasticity rule's learning rate (`ScaleLearningRate`).
    - `key`: needed when any projection's connectivity is a random rule (or has a delay rule);
      projection `i` is built with `jax.random.fold_in(key, i)`.

    One step is `state, record = network.step(state, inputs, dt, key)`; see `brainsim.run`
    for whole runs.
    """

    populations: tuple[Population, ...]
    projections: tuple[Projection, ...]
    inputs: tuple[Any, ...]
    modulations: tuple[AbstractModulation, ...]

    def __init__(
        self, populations, projections=(), inputs=(), *, modulations=(), key: PRNGKeyArray | None = None
    ):
        populations, projections, inputs = tuple(populations), tuple(projections), tuple(inputs)
        modulations = tuple(modulations)
        if not populations:
            raise ValueError("`populations` must contain at least one `Population`.")
        for p in populations:
            if not isinstance(p, Population):
                raise TypeError(f"`populations` must hold `Population`s; got {type(p).__name__}.")
        _require_unique("population", [p.name for p in populations], "")
        sizes = {p.name: p.n for p in populations}
        models = {p.name: p.neuron for p in populations}
        for proj in projections:
            if not isinstance(proj, Projection):
                raise TypeError(f"`projections` must hold `Projection`s; got {type(proj).__name__}.")
        _require_unique(
            "projection",
            [p.name for p in projections],
            " (two projections between the same populations need distinct `name=`s)",
        )
        built = []
        for index, proj in enumerate(projections):
            for role, name in (("pre", proj.pre), ("post", proj.post)):
                if name not in sizes:
                    raise ValueError(
                        f"projection `{proj.name}`: unknown {role} population `{name}`; "
                        f"known: {sorted(sizes)}."
                    )
            if isinstance(models[proj.post], SpikeSource | ValueSource):
                raise ValueError(
                    f"projection `{proj.name}`: population `{proj.post}` is a data source; it takes no input."
                )
            proj = build_projection(proj, sizes, key, index)
            for part in ("synapse", "output"):
                where = f"the {part} of projection `{proj.name}` (onto `{proj.post}`)"
                check_per_unit_parameters(getattr(proj, part), sizes[proj.post], where)
            _check_output(proj, models[proj.post])
            if proj.synapse_delays is not None and (proj.plastic or proj.short_term is not None):
                what = "plastic weights" if proj.plastic else "short-term plasticity"
                raise ValueError(
                    f"projection `{proj.name}`: {what} with per-synapse delays are not supported "
                    "yet; use one `delay_steps` for the projection."
                )
            if proj.plastic:
                try:
                    initial_weights(proj.connectivity)  # raises for formats that cannot hold them
                except TypeError as error:
                    raise TypeError(f"projection `{proj.name}`: {error}") from None
            built.append(proj)
        streams = {p.name for p in populations if isinstance(p.neuron, SpikeSource | ValueSource)}
        for inp in inputs:
            if not isinstance(inp, AbstractCurrentInput | AbstractEventInput | StreamedCurrent):
                raise TypeError(f"`inputs` must hold brainsim inputs; got {type(inp).__name__}.")
            if inp.target not in sizes:
                raise ValueError(
                    f"input {type(inp).__name__}: unknown target population `{inp.target}`; "
                    f"known: {sorted(sizes)}."
                )
            if inp.target in streams:
                raise ValueError(f"input {type(inp).__name__}: population `{inp.target}` is a data source.")
            _check_input(inp, sizes[inp.target])
            if isinstance(inp, AbstractEventInput):
                for part in ("synapse", "output"):
                    where = f"the {part} of input {type(inp).__name__} to `{inp.target}`"
                    check_per_unit_parameters(getattr(inp, part), sizes[inp.target], where)
            if isinstance(inp, StreamedCurrent):
                if inp.stream in streams:
                    raise ValueError(
                        f"stream `{inp.stream}` is used twice (streams and data sources share names)."
                    )
                streams.add(inp.stream)
        by_name = {p.name: p for p in built}
        for modulation in modulations:
            _check_modulation(modulation, sizes, by_name)
        self.populations, self.projections, self.inputs = populations, tuple(built), inputs
        self.modulations = modulations

    # -- structure -----------------------------------------------------------------------------
    def population(self, name: str) -> Population:
        """The population called `name`."""
        for p in self.populations:
            if p.name == name:
                return p
        raise ValueError(f"unknown population `{name}`; known: {[p.name for p in self.populations]}.")

    def projection(self, name: str) -> Projection:
        """The projection called `name`."""
        for p in self.projections:
            if p.name == name:
                return p
        raise ValueError(f"unknown projection `{name}`; known: {[p.name for p in self.projections]}.")

    @property
    def population_sizes(self) -> dict[str, int]:
        return {p.name: p.n for p in self.populations}

    def emissions(self) -> dict[str, str]:
        """`"spikes"` or `"values"` per population."""
        return {p.name: emits(p.neuron) for p in self.populations}

    def streams(self) -> dict[str, tuple[int, ...]]:
        """What the data channel must carry: per name, the shape of one step's slice."""
        shapes = {p.name: (p.n,) for p in self.populations if isinstance(p.neuron, SpikeSource | ValueSource)}
        for inp in self.inputs:
            if isinstance(inp, StreamedCurrent):
                shapes[inp.stream] = (self.population(inp.target).n,)
        return shapes

    def history_lengths(self) -> dict[str, int]:
        """Ring length per population (see `brainsim.network.history.history_lengths`)."""
        return history_lengths(self)

    def synapse_graph(self, state: NetworkState | None = None):
        """Populations and per-projection (pre, post, weight, delay) arrays for analysis and the
        hardware mapper; the weights of plastic projections are read from `state` if given."""
        from ..graph import synapse_graph

        return synapse_graph(self, state)

    # -- dynamics ------------------------------------------------------------------------------
    def init_state(self, *, key: PRNGKeyArray, dt: float = 0.1) -> NetworkState:
        """State at t = 0: population `i` is initialised with `fold_in(key, i)` unless it has an
        `initial_state`; synapses, plasticity traces and short-term plasticity at rest; plastic
        weights from the connectivity; nothing in flight."""
        dtype = jnp.result_type(float)
        populations = {}
        for index, pop in enumerate(self.populations):
            if pop.solver is None:  # a data source: no state
                populations[pop.name] = PopulationState(None, None)
                continue
            if pop.initial_state is not None:
                y = pop.initial_state.thaw()
            else:
                y = pop.neuron.init_state(pop.n, key=jr.fold_in(key, index))
            solver = pop.solver.init(pop.neuron, 0.0, dt, y, pop.neuron.zero_input(pop.n, dtype))
            populations[pop.name] = PopulationState(y, solver)
        projections = {}
        for p in self.projections:
            n_post = p.connectivity.n_post
            synapse = p.synapse.init_state(n_post) if p.initial_state is None else p.initial_state.thaw()
            weights = initial_weights(p.connectivity) if p.plastic else None
            pending = None if p.synapse_delays is None else jnp.zeros((p.max_delay_steps, n_post), dtype)
            n_pre = p.connectivity.n_pre
            synapse_shape = None if weights is None else weights.shape
            traces = None if p.plasticity is None else p.plasticity.init_state(n_pre, n_post, synapse_shape)
            short_term = None if p.short_term is None else p.short_term.init_state(n_pre)
            projections[p.name] = ProjectionState(synapse, weights, pending, traces, short_term)
        inputs = tuple(
            InputState(inp.synapse.init_state(self.population(inp.target).n))
            if isinstance(inp, AbstractEventInput)
            else InputState(None)
            for inp in self.inputs
        )
        sizes = self.population_sizes
        history = {
            name: jnp.zeros((length, sizes[name]), dtype) for name, length in self.history_lengths().items()
        }
        return NetworkState(jnp.zeros((), jnp.int32), populations, projections, inputs, history)

    def step(
        self, state: NetworkState, inputs: dict | None, dt: float, key: PRNGKeyArray
    ) -> tuple[NetworkState, StepRecord]:
        """Advance by one step of `dt` (ms); `inputs` is this step's slice of the data channel
        (`None` or `{}` when nothing streams). See `brainsim.network.step` for the phases."""
        return network_step(self, state, {} if inputs is None else inputs, dt, key)


def _check_output(proj: Projection, post_model) -> None:
    """A conductance-based output needs a membrane potential and non-negative conductances."""
    if not isinstance(proj.output, COBA):
        return
    if emits(post_model) == "values":
        raise ValueError(
            f"projection `{proj.name}`: a `COBA` output needs a membrane potential, and population "
            f"`{proj.post}` ({type(post_model).__name__}) has none; use `CUBA()`."
        )
    conn = proj.connectivity
    weights = conn.weight if isinstance(conn, Procedural) else getattr(conn, "weights", None)
    if isinstance(conn, CSR | ELL | Dense | Procedural) and weights is not None:
        try:
            concrete = np.asarray(weights)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            return
        if concrete.size and np.nanmin(concrete) < 0:
            raise ValueError(
                f"projection `{proj.name}`: a `COBA` output takes conductances >= 0 nS; got a weight "
                f"of {float(np.nanmin(concrete))} nS. Inhibition is a negative reversal potential "
                "(e.g. `COBA(e_rev=-80.0)`), not a negative weight."
            )


def _check_input(inp, n: int) -> None:
    """A constant current broadcasts to its target's `(n,)`; given spikes hit existing neurons:
    checked before compiling."""
    if isinstance(inp, ConstantCurrent) and np.shape(inp.current) not in ((), (1,), (n,)):
        raise ValueError(
            f"input ConstantCurrent to `{inp.target}`: its current must be a scalar or have "
            f"shape ({n},) (the population's size); got shape {np.shape(inp.current)}."
        )
    if isinstance(inp, SpikeTimes) and inp.indices.size:
        largest = int(np.max(np.asarray(inp.indices)))
        if largest >= n:
            raise ValueError(
                f"`indices` of `SpikeTimes` must be < {n} (the size of `{inp.target}`); got max {largest}."
            )


def _check_modulation(modulation, sizes: dict[str, int], projections: dict[str, Projection]) -> None:
    """A coupling names an existing source and projection, and the projection can take it."""
    if not isinstance(modulation, AbstractModulation):
        raise TypeError(
            "`modulations` must hold couplings (`bs.ScaleRelease`, `bs.ScaleLearningRate`); got "
            f"{type(modulation).__name__}."
        )
    kind = type(modulation).__name__
    if modulation.source not in sizes:
        raise ValueError(
            f"{kind}: unknown source population `{modulation.source}`; known: {sorted(sizes)}."
        )
    proj = projections.get(modulation.projection)
    if proj is None:
        raise ValueError(
            f"{kind}: unknown projection `{modulation.projection}`; known: {sorted(projections)}."
        )
    if isinstance(modulation, ScaleLearningRate) and proj.plasticity is None:
        raise ValueError(
            f"{kind}: projection `{proj.name}` has no plasticity rule whose learning rate it could scale."
        )
    if isinstance(modulation, ScaleRelease) and proj.synapse_delays is not None:
        raise ValueError(
            f"{kind}: projection `{proj.name}` has per-synapse delays; release modulation needs one "
            "`delay_steps`."
        )
    check_modulation(modulation, proj, sizes[modulation.source])


def _require_unique(kind: str, names: list[str], hint: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{kind} names must be unique; `{name}` appears twice{hint}.")
        seen.add(name)
