"""Populations, projections and inputs composed into one steppable, pure `Network`.

A projection is the pipeline `pre -> delay (integer steps) -> connectivity (event operator) ->
synapse (state per postsynaptic neuron) -> output (CUBA or COBA) -> post`. The network holds
parameters only; its state is a `NetworkState` pytree, and one time step is

    state, record = network.step(state, dt, key)

so `jit`, `grad`, `vmap` and `lax.scan` apply to a whole network unchanged.
"""

import dataclasses
from typing import Any

import diffrax
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from ._custom_types import Spikes
from ._validation import require_positive_int
from .connect import AbstractConnectivityRule, AbstractDelayRule
from .connect._keys import fold_in, zero_key
from .dynamics import (
    AbstractCurrentInput,
    AbstractEventInput,
    AbstractLinearInState,
    AbstractOutput,
    AbstractSpikingNeuron,
    AbstractSynapse,
    SpikeTimes,
)
from .dynamics.synaptic_input import no_input
from .graph import ProjectionGraph, SynapseGraph
from .integrate import AbstractStepper, ExponentialEuler, as_stepper
from .ops import (
    AbstractConnectivity,
    active_count_exceeds_buffer,
    event_matvec,
    event_scatter_delayed,
    to_coo,
)
from .ops.delayed import synapse_endpoints


class Population(eqx.Module):
    """`n` neurons of one model, integrated by one solver.

    **Fields:**
    - `name`: unique name in the network.
    - `n`: number of neurons, >= 1.
    - `neuron`: a spiking neuron model; array parameters must have shape `(n,)`.
    - `solver`: a brainsim stepper or any diffrax solver; default `ExponentialEuler()` for models
      linear in their state, `diffrax.Heun()` otherwise.
    - `initial_state`: the neuron state at t = 0, or `None` for `neuron.init_state(n, key=...)`.
    """

    name: str = eqx.field(static=True)
    n: int = eqx.field(static=True)
    neuron: AbstractSpikingNeuron
    solver: AbstractStepper
    initial_state: Any

    def __init__(self, name: str, n: int, neuron, *, solver=None, initial_state=None):
        if not isinstance(name, str) or not name:
            raise TypeError(f"`name` must be a non-empty string; got {name!r}.")
        self.name = name
        self.n = require_positive_int("n", n)
        if not isinstance(neuron, AbstractSpikingNeuron):
            raise TypeError(
                f"`neuron` of population `{name}` must be a spiking neuron model (a subclass "
                f"of `AbstractSpikingNeuron`); got {type(neuron).__name__}."
            )
        for field_name, value in _array_fields(neuron):
            if np.ndim(value) > 0 and np.shape(value) not in ((n,), (1,)):
                raise ValueError(
                    f"`{field_name}` of population `{name}` must be a scalar or have shape "
                    f"({n},); got shape {np.shape(value)}."
                )
        if solver is None:
            linear = isinstance(neuron, AbstractLinearInState)
            solver = ExponentialEuler() if linear else diffrax.Heun()
        self.neuron = neuron
        self.solver = as_stepper(solver)
        self.solver.check_model(neuron)
        self.initial_state = initial_state


class Projection(eqx.Module):
    """Synapses from population `pre` to population `post`.

    **Fields:**
    - `pre`, `post`: population names.
    - `connectivity`: a format (`CSR`, `ELL`, `Dense`, ...) or a rule (`FixedProbability`, ...)
      that the `Network` builds with its key. Weights are in the synapse's unit: nS for `COBA`
      outputs, pA for `CUBA`.
    - `synapse`: the synapse model (state per postsynaptic neuron).
    - `output`: `COBA(e_rev)` or `CUBA()`.
    - `delay`: transmission delay in time steps, >= 1 (1 = a spike at step t acts at t + 1): an
      int for all synapses, or per synapse a delay rule (`ConstantDelay`, `UniformDelay`,
      `DistanceDelay`, drawn by the `Network`) or an int array shaped like the format's synapses.
      Per-synapse delays wait in a ring buffer of `max_delay` rows per postsynaptic neuron.
    - `max_delay`: ring-buffer length for per-synapse delays, steps; default the longest delay
      drawn. Longer delays are rejected.
    - `name`: unique name; default `"pre->post"`.
    - `initial_state`: the synapse state at t = 0, or `None` for the synapse at rest.
    """

    pre: str = eqx.field(static=True)
    post: str = eqx.field(static=True)
    connectivity: Any
    synapse: AbstractSynapse
    output: AbstractOutput
    delay: int = eqx.field(static=True)
    synapse_delays: Any
    name: str = eqx.field(static=True)
    initial_state: Any

    def __init__(
        self,
        pre,
        post,
        connectivity,
        synapse,
        output,
        *,
        delay=1,
        max_delay=None,
        name=None,
        initial_state=None,
    ):
        self.pre, self.post = pre, post
        if not isinstance(connectivity, AbstractConnectivity | AbstractConnectivityRule):
            raise TypeError(
                "`connectivity` must be a connectivity format (e.g. `bs.CSR`) or rule (e.g. "
                f"`bs.FixedProbability(0.02, weight=6.0)`); got {type(connectivity).__name__}."
            )
        if not isinstance(synapse, AbstractSynapse):
            raise TypeError(f"`synapse` must be a synapse model; got {type(synapse).__name__}.")
        if not isinstance(output, AbstractOutput):
            raise TypeError(f"`output` must be `bs.COBA(...)` or `bs.CUBA()`; got {output!r}.")
        self.connectivity, self.synapse, self.output = connectivity, synapse, output
        if isinstance(delay, AbstractDelayRule) or eqx.is_array(delay) or isinstance(delay, np.ndarray):
            self.synapse_delays = delay if isinstance(delay, AbstractDelayRule) else jnp.asarray(delay)
            self.delay = 0 if max_delay is None else require_positive_int("max_delay", max_delay)
        else:
            self.synapse_delays = None
            self.delay = require_positive_int("delay", delay)
        self.name = f"{pre}->{post}" if name is None else name
        self.initial_state = initial_state


class NetworkState(eqx.Module):
    """Everything that changes during a run; a pytree of arrays.

    **Fields:** `step` (int32 scalar, steps taken); `neurons`, `solvers` (per population);
    `synapses` (per projection name, and `"input:<k>"` for event inputs); `history` (per
    population with outgoing projections: the last `max delay` spike vectors, a ring buffer);
    `pending` (per projection with per-synapse delays: contributions waiting to arrive, a ring
    buffer of shape `(max_delay, n_post)`).
    """

    step: Int[Array, ""]
    neurons: dict[str, Any]
    solvers: dict[str, Any]
    synapses: dict[str, Any]
    history: dict[str, Float[Array, "delay n"]]
    pending: dict[str, Float[Array, "delay n_post"]]


class StepRecord(eqx.Module):
    """What one step reports: `spikes` per population, `overflow` per projection (more active
    rows than the event buffer: the exact slow path ran), `finite` per population."""

    spikes: dict[str, Spikes]
    overflow: dict[str, Bool[Array, ""]]
    finite: dict[str, Bool[Array, ""]]


class Network(eqx.Module):
    """Named populations, projections between them, and external inputs.

    **Arguments:**
    - `populations`: sequence of `Population` with unique names.
    - `projections`: sequence of `Projection`; rules are built here with `key`.
    - `inputs`: sequence of inputs (`ConstantCurrent`, `CurrentFunction`, `PoissonInput`,
      `SpikeTimes`), each naming its `target` population.
    - `key`: needed when any projection's connectivity is a random rule (or has a delay rule);
      projection `i` is built with `jax.random.fold_in(key, i)`.
    """

    populations: tuple[Population, ...]
    projections: tuple[Projection, ...]
    inputs: tuple[Any, ...]

    def __init__(self, populations, projections=(), inputs=(), *, key: PRNGKeyArray | None = None):
        populations, projections, inputs = tuple(populations), tuple(projections), tuple(inputs)
        if not populations:
            raise ValueError("`populations` must contain at least one `Population`.")
        for p in populations:
            if not isinstance(p, Population):
                raise TypeError(f"`populations` must hold `Population`s; got {type(p).__name__}.")
        sizes = {p.name: p.n for p in populations}
        _require_unique("population", [p.name for p in populations])
        _require_unique("projection", [p.name for p in projections])
        built = []
        for index, proj in enumerate(projections):
            if not isinstance(proj, Projection):
                raise TypeError(f"`projections` must hold `Projection`s; got {type(proj).__name__}.")
            for role, name in (("pre", proj.pre), ("post", proj.post)):
                if name not in sizes:
                    raise ValueError(
                        f"projection `{proj.name}`: unknown {role} population `{name}`; "
                        f"known: {sorted(sizes)}."
                    )
            conn = proj.connectivity
            if isinstance(conn, AbstractConnectivityRule):
                if key is None and conn.random:
                    raise ValueError(
                        f"projection `{proj.name}` has a random connectivity rule; pass `key=` "
                        "to `Network` so it can be built."
                    )
                # Keys derived on the host (bit-identical to `jr.fold_in`): no eager compilation.
                rule_key = zero_key() if key is None else fold_in(key, index)  # unused if not random
                conn = conn.build(sizes[proj.pre], sizes[proj.post], key=rule_key)
            if (conn.n_pre, conn.n_post) != (sizes[proj.pre], sizes[proj.post]):
                raise ValueError(
                    f"projection `{proj.name}`: connectivity is {conn.n_pre} x {conn.n_post} but "
                    f"the populations have {sizes[proj.pre]} and {sizes[proj.post]} neurons."
                )
            proj = eqx.tree_at(lambda p: p.connectivity, proj, conn)
            if proj.synapse_delays is not None:
                proj = _with_drawn_delays(proj, key, index)
            built.append(proj)
        for inp in inputs:
            if not isinstance(inp, AbstractCurrentInput | AbstractEventInput):
                raise TypeError(f"`inputs` must hold brainsim inputs; got {type(inp).__name__}.")
            if inp.target not in sizes:
                raise ValueError(
                    f"input {type(inp).__name__}: unknown target population `{inp.target}`; "
                    f"known: {sorted(sizes)}."
                )
            if isinstance(inp, SpikeTimes) and inp.indices.size:
                if int(np.max(np.asarray(inp.indices))) >= sizes[inp.target]:
                    raise ValueError(
                        f"`indices` of `SpikeTimes` must be < {sizes[inp.target]} (the size of "
                        f"`{inp.target}`); got max {int(np.max(np.asarray(inp.indices)))}."
                    )
        self.populations, self.projections, self.inputs = populations, tuple(built), inputs

    # -- structure -----------------------------------------------------------------------------
    def population(self, name: str) -> Population:
        """The population called `name`."""
        for p in self.populations:
            if p.name == name:
                return p
        raise ValueError(f"unknown population `{name}`; known: {[p.name for p in self.populations]}.")

    @property
    def population_sizes(self) -> dict[str, int]:
        return {p.name: p.n for p in self.populations}

    def history_lengths(self) -> dict[str, int]:
        """Spike-history length per population: the longest homogeneous delay of its outgoing
        projections (per-synapse delays are buffered on the postsynaptic side instead)."""
        lengths: dict[str, int] = {}
        for proj in self.projections:
            if proj.synapse_delays is None:
                lengths[proj.pre] = max(lengths.get(proj.pre, 0), proj.delay)
        return lengths

    def synapse_graph(self) -> SynapseGraph:
        """Populations and per-projection (pre, post, weight, delay) arrays, for analysis code
        and the hardware mapper."""
        graphs = []
        for proj in self.projections:
            pre, post, weight = to_coo(proj.connectivity)
            if proj.synapse_delays is None:
                delay = np.full(np.shape(pre), proj.delay, np.int64)
            else:
                delay = np.asarray(proj.synapse_delays).ravel()
                _, stored_post = synapse_endpoints(proj.connectivity)
                delay = delay[np.asarray(stored_post).ravel() < proj.connectivity.n_post]
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
            population_names=tuple(p.name for p in self.populations),
            population_sizes=tuple(p.n for p in self.populations),
            projections=tuple(graphs),
        )

    # -- dynamics ------------------------------------------------------------------------------
    def init_state(self, *, key: PRNGKeyArray, dt: float = 0.1) -> NetworkState:
        """State at t = 0: population `i` is initialised with `fold_in(key, i)` unless it has an
        `initial_state`; synapses at rest; no spikes in flight."""
        neurons, solvers = {}, {}
        for index, pop in enumerate(self.populations):
            y = pop.initial_state
            if y is None:
                y = pop.neuron.init_state(pop.n, key=jr.fold_in(key, index))
            neurons[pop.name] = y
            solvers[pop.name] = pop.solver.init(pop.neuron, 0.0, dt, y, no_input(pop.n))
        synapses = {
            p.name: p.synapse.init_state(p.connectivity.n_post)
            if p.initial_state is None
            else p.initial_state
            for p in self.projections
        }
        for k, inp in self._event_inputs():
            synapses[k] = inp.synapse.init_state(self.population(inp.target).n)
        sizes = self.population_sizes
        history = {
            name: jnp.zeros((length, sizes[name]), jnp.float32)
            for name, length in self.history_lengths().items()
        }
        pending = {
            p.name: jnp.zeros((p.delay, p.connectivity.n_post), jnp.float32)
            for p in self.projections
            if p.synapse_delays is not None
        }
        return NetworkState(jnp.zeros((), jnp.int32), neurons, solvers, synapses, history, pending)

    def step(self, state: NetworkState, dt: float, key: PRNGKeyArray) -> tuple[NetworkState, StepRecord]:
        """Advance by one step of `dt` (ms).

        Order within a step: (1) spikes emitted `delay` steps ago are delivered through each
        projection's event operator into its synapse; event inputs deliver likewise; (2) each
        population's input $I(v) = I_0 - G v$ is assembled from synapse outputs and currents;
        (3) neurons are integrated over `[t, t + dt)`, then spike and reset; (4) synapses decay
        exactly over the step; (5) the new spikes enter the delay ring buffer.
        `key` is folded with the step index, so results do not depend on how a run is chunked.
        """
        t = state.step * dt
        step_key = jr.fold_in(key, state.step)
        synapses, pending = dict(state.synapses), dict(state.pending)
        overflow = {}
        for proj in self.projections:
            if proj.synapse_delays is None:
                length = state.history[proj.pre].shape[0]
                arrived = state.history[proj.pre][(state.step - proj.delay) % length]
                delivered = event_matvec(proj.connectivity, arrived)
                overflow[proj.name] = active_count_exceeds_buffer(proj.connectivity, arrived)
            else:
                slot = state.step % proj.delay
                delivered = pending[proj.name][slot]
                pending[proj.name] = pending[proj.name].at[slot].set(0.0)
            synapses[proj.name] = proj.synapse.on_events(synapses[proj.name], delivered)
        for k, inp in self._event_inputs():
            n = self.population(inp.target).n
            delivered = inp.delivered(t, dt, n, jr.fold_in(step_key, int(k.split(":")[1])))
            synapses[k] = inp.synapse.on_events(synapses[k], delivered)

        drives = {p.name: no_input(p.n) for p in self.populations}
        for proj in self.projections:
            value = proj.synapse.value(synapses[proj.name])
            drives[proj.post] = proj.output.apply(drives[proj.post], value)
        for k, inp in self._event_inputs():
            drives[inp.target] = inp.output.apply(drives[inp.target], inp.synapse.value(synapses[k]))
        for inp in self.inputs:
            if isinstance(inp, AbstractCurrentInput):
                n = self.population(inp.target).n
                drives[inp.target] = drives[inp.target].add_current(inp.current(t, n))

        neurons, solvers, spikes, finite = {}, {}, {}, {}
        for pop in self.populations:
            y, solver_state = pop.solver.step(
                pop.neuron,
                t,
                dt,
                state.neurons[pop.name],
                drives[pop.name],
                state.solvers[pop.name],
            )
            fired = pop.neuron.spike(y)
            neurons[pop.name] = pop.neuron.reset(y, fired)
            solvers[pop.name] = solver_state
            spikes[pop.name] = fired
            finite[pop.name] = _all_finite(neurons[pop.name])

        decay = ExponentialEuler()
        for proj in self.projections:
            synapses[proj.name], _ = decay.step(proj.synapse, t, dt, synapses[proj.name], None, None)
        for k, inp in self._event_inputs():
            synapses[k], _ = decay.step(inp.synapse, t, dt, synapses[k], None, None)

        history = {
            name: buffer.at[state.step % buffer.shape[0]].set(spikes[name].astype(buffer.dtype))
            for name, buffer in state.history.items()
        }
        for proj in self.projections:
            if proj.synapse_delays is not None:
                emitted = spikes[proj.pre]
                overflow[proj.name] = active_count_exceeds_buffer(proj.connectivity, emitted)
                pending[proj.name] = event_scatter_delayed(
                    proj.connectivity, emitted, proj.synapse_delays, pending[proj.name], state.step
                )
        new_state = NetworkState(state.step + 1, neurons, solvers, synapses, history, pending)
        return new_state, StepRecord(spikes, overflow, finite)

    def _event_inputs(self) -> list[tuple[str, Any]]:
        return [
            (f"input:{i}", inp) for i, inp in enumerate(self.inputs) if isinstance(inp, AbstractEventInput)
        ]


def _with_drawn_delays(proj: Projection, key, index: int) -> Projection:
    """Draw a delay rule (or check a given array) against the built connectivity, and set the
    ring-buffer length; delays outside [1, max_delay] are rejected."""
    conn, delays = proj.connectivity, proj.synapse_delays
    if isinstance(delays, AbstractDelayRule):
        if key is None:
            raise ValueError(
                f"projection `{proj.name}` has a delay rule; pass `key=` to `Network` so it can be drawn."
            )
        delays = delays.draw(conn, key=fold_in(fold_in(key, index), 1))
    stored_pre, stored_post = synapse_endpoints(conn)
    if delays.shape != stored_pre.shape:
        raise ValueError(
            f"projection `{proj.name}`: per-synapse delays must have the connectivity's synapse "
            f"shape {stored_pre.shape}; got {delays.shape}."
        )
    real = np.asarray(stored_post) < conn.n_post
    concrete = np.asarray(delays)[real]
    longest = int(concrete.max(initial=1))
    ring = proj.delay or longest
    if concrete.size and (concrete.min() < 1 or longest > ring):
        raise ValueError(
            f"projection `{proj.name}`: delays must be in [1, {ring}] steps (`max_delay`, the "
            f"ring-buffer length); got {int(concrete.min())}..{longest}. Raise `max_delay` or "
            "shorten the delays."
        )
    return Projection(
        proj.pre,
        proj.post,
        conn,
        proj.synapse,
        proj.output,
        delay=jnp.asarray(delays, jnp.int32),
        max_delay=ring,
        name=proj.name,
        initial_state=proj.initial_state,
    )


def _all_finite(tree) -> Bool[Array, ""]:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jtu.tree_leaves(tree) if eqx.is_inexact_array(x)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def _array_fields(module) -> list[tuple[str, Any]]:
    values = [(f.name, getattr(module, f.name)) for f in dataclasses.fields(module)]
    return [(name, v) for name, v in values if eqx.is_array_like(v) and not isinstance(v, bool)]


def _require_unique(kind: str, names: list[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{kind} names must be unique; `{name}` appears twice.")
        seen.add(name)
