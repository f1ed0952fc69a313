r"""The fused CPU engine: a whole LIF network advanced by one native call per chunk of steps.

`simulate(..., engine="auto")` uses it when `fused_plan` accepts the network, and the generic
engine (`Network.step` in a `lax.scan`: a JAX neuron update per population and one event
operator per projection) otherwise. Both compute the same step (see `Network.step`):

1. spikes emitted `delay` steps ago arrive through each projection:
   $g_p \leftarrow g_p + \sum_{i\,\mathrm{active}} s_i w_{ij}$ (rows in order);
2. per population $I_0 = \sum_p g_p E_p$ (COBA) or $\sum_p g_p$ (CUBA) plus the constant
   current, $G = \sum_{p\,\mathrm{COBA}} g_p$;
3. LIF by exponential Euler for free neurons (refractory countdown <= 1e-4 ms):
   $a = -(g_L + G)/C_m$, $b = (g_L E_L + I_0)/C_m$,
   $v \leftarrow v e^{a\Delta t} + b (e^{a\Delta t} - 1)/a$; refractory neurons keep $v$ and
   count down by $\Delta t$; $v > V_\theta$ spikes, resets to $V_r$ and starts $t_\mathrm{ref}$;
4. $g_p \leftarrow g_p e^{-\Delta t/\tau_p}$; 5. the new spikes enter the delay ring buffer.

The native kernel (`brainsim/ops/_native/network_kernels.cc`) does all of it in C++ with the
floating-point operations of the XLA-compiled generic step (XLA's exp polynomial, its fused
multiply-adds where the CPU has them), so the two engines give the same spikes; the state
buffers are aliased in place and the connectivity is an argument (compile time does not grow
with the network).

It applies when (`fused_plan` says which condition failed otherwise): every population is a
`LIF` integrated by `ExponentialEuler`; every projection is an `ExponentialSynapse` with a
`COBA` (scalar `e_rev`) or `CUBA` output, one `delay_steps`, fixed weights (or pair STDP, below) and
`CSR` or `ELL` connectivity (homogeneous or per-synapse float32 weights) or homogeneous
`Procedural` connectivity (rows regenerated in the kernel, bit for bit as `Procedural`
specifies); weights are fixed, or moved by a `PairSTDP` rule with hard bounds (`CSR`/`ELL`; the
kernel's `pair_stdp.h` does what `apply_plasticity` does, with the same float32 operations, so
both engines give the same weights); inputs are at most one `ConstantCurrent` per population;
no monitors; no data channel; float32 state; not under `jit`/`grad`/`vmap`; the CPU backend
with the native library built.

It fails closed. Every component is first checked to be exactly a type the kernel knows, with
exactly the fields it knows (`_UNDERSTOOD_FIELDS`), then by its type's `functools.singledispatch`
rule on its values (`_values_refusal`): a new kind of component, a subclass,
or a new field on `Projection` or `LIF` (a plasticity rule, a modulation) makes the plan
refuse, naming the component and the field, instead of running without it.

Large networks run on several threads (`thread_count`); each thread owns a slice of every
population and sums its neurons' inputs in row order, so results do not depend on the count.
"""

import dataclasses
import functools as ft
import os
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np

from .dynamics import COBA, CUBA, LIF, ConstantCurrent, ExponentialSynapse
from .dynamics.neurons.lif import LIFState
from .dynamics.plasticity import PairSTDP
from .dynamics.plasticity.stdp import PairTraces
from .dynamics.synapses.exponential import ExponentialSynapseState
from .integrate import ExponentialEuler
from .network import Network, NetworkState, Population, PopulationState, Projection, ProjectionState
from .ops import CSR, ELL, Procedural, _native
from .ops._native import available_cpus
from .ops.synapse_update import ColumnIndex

__all__ = ["FusedPlan", "fused_plan", "run_fused_chunk"]

_TARGET = "brainsim_lif_network_steps_f32"
MIN_NEURONS_PER_THREAD = 50_000
"""Neurons per thread below which the fused kernel uses fewer threads (see `thread_count`)."""
_KINDS = {CSR: 0, ELL: 1, Procedural: 2}  # the kernel's connectivity kinds
_PAIRINGS = {"all": 1, "nearest": 2}  # the kernel's PlasticityKind of a PairSTDP (0: fixed)
_LIF_PARAMS = ("c_m", "g_leak", "e_leak", "v_threshold", "v_reset", "t_ref")


@dataclasses.dataclass(frozen=True)
class FusedPlan:
    """Static description of a network the fused kernel can run (hashable: a jit static arg).

    `population_meta` and `projection_meta` are the kernel's integer metadata, one named row
    per population and projection (flattened in field order for the kernel);
    `record` says whether the kernel returns the spike raster; `threads` how many CPU threads
    it uses (`thread_count`).
    """

    populations: tuple[str, ...]
    sizes: tuple[int, ...]
    history_lengths: tuple[int, ...]
    projections: tuple[str, ...]
    population_meta: tuple["_PopulationMeta", ...]
    projection_meta: tuple["_ProjectionMeta", ...]
    record: bool
    threads: int = 1


class _PopulationMeta(NamedTuple):
    """One population's row of the kernel's integer metadata (`network_metadata.h`)."""

    size: int
    history_length: int
    parameter_length: int  # 1 (scalar parameters) or `size`
    static_c_m: int  # 1: XLA multiplies by 1/C_m, computed in float32
    has_current: int
    offset: int  # index of its first neuron in the concatenated state


class _ProjectionMeta(NamedTuple):
    """One projection's row of the kernel's integer metadata (`network_metadata.h`)."""

    pre: int
    post: int
    delay_steps: int
    kind: int  # 0 CSR, 1 ELL, 2 Procedural
    conductance_based: int
    homogeneous: int
    tau_length: int  # 1 or n_post
    max_active: int
    shares_history_with: int  # the first projection with the same (pre, delay)
    plasticity: int  # 0 fixed weights, 1 pair STDP all-to-all, 2 pair STDP nearest


def fused_plan(
    network: Network, monitors=(), record_spikes=(), *, initial_state=None, key=None, inputs=None
) -> tuple[FusedPlan | None, str | None]:
    """Whether the fused engine can run `network`: `(plan, None)`, or `(None, reason)`.

    **Arguments:** the `Network`; `monitors` (none allowed); `record_spikes` (population
    names, or a bool); `initial_state` and `key` (checked for tracers and dtypes); `inputs`
    (the data channel: none allowed).
    """
    reason = _refusal(network, monitors, initial_state, key, inputs)
    if reason is not None:
        return None, reason
    names = tuple(p.name for p in network.populations)
    index = {name: q for q, name in enumerate(names)}
    lengths = network.history_lengths()
    pop_meta: list[_PopulationMeta] = []
    offset = 0
    for pop in network.populations:
        currents = [i for i in network.inputs if i.target == pop.name]
        pop_meta.append(
            _PopulationMeta(
                size=pop.n,
                history_length=lengths.get(pop.name, 0),
                parameter_length=1 if _scalar_params(pop.neuron, currents) else pop.n,
                static_c_m=0 if eqx.is_array(pop.neuron.c_m) else 1,
                has_current=1 if currents else 0,
                offset=offset,
            )
        )
        offset += pop.n
    proj_meta: list[_ProjectionMeta] = []
    seen: dict[tuple[str, int], int] = {}
    for k, proj in enumerate(network.projections):
        conn = proj.connectivity
        proj_meta.append(
            _ProjectionMeta(
                pre=index[proj.pre],
                post=index[proj.post],
                delay_steps=proj.delay_steps,
                kind=_KINDS[type(conn)],
                conductance_based=1 if isinstance(proj.output, COBA) else 0,
                homogeneous=1 if proj.plasticity is None and _homogeneous(conn) else 0,
                tau_length=1 if np.ndim(proj.synapse.tau) == 0 else conn.n_post,
                max_active=conn.max_active,
                shares_history_with=seen.setdefault((proj.pre, proj.delay_steps), k),
                plasticity=0 if proj.plasticity is None else _PAIRINGS[proj.plasticity.pairing],
            )
        )
    if record_spikes is True:
        record = True
    elif record_spikes is False:
        record = False
    else:
        record = len(tuple(record_spikes)) > 0
    plan = FusedPlan(
        populations=names,
        sizes=tuple(p.n for p in network.populations),
        history_lengths=tuple(lengths.get(n, 0) for n in names),
        projections=tuple(p.name for p in network.projections),
        population_meta=tuple(pop_meta),
        projection_meta=tuple(proj_meta),
        record=record,
        threads=thread_count(sum(p.n for p in network.populations)),
    )
    return plan, None


def thread_count(n_neurons: int) -> int:
    """Threads of the fused kernel for a network of `n_neurons`: the CPUs this process may use
    (or `BRAINSIM_NATIVE_THREADS`), at most one per `MIN_NEURONS_PER_THREAD` neurons (below
    that a step lasts microseconds and a barrier per step costs more than it saves). Results do
    not depend on it: each neuron's inputs are summed in the same order whatever the count."""
    setting = os.environ.get("BRAINSIM_NATIVE_THREADS", "")
    if setting:
        if not setting.isdigit() or int(setting) < 1:
            raise ValueError(f"`BRAINSIM_NATIVE_THREADS` must be an integer >= 1; got {setting!r}.")
        wanted = int(setting)
    else:
        wanted = available_cpus()
    return max(1, min(wanted, n_neurons // MIN_NEURONS_PER_THREAD))


# Every field of every component the kernel understands. A component of another type, or with
# a field not listed here (a new `plasticity` on `Projection`, say), is refused: the fused
# engine fails closed instead of running without what it does not know.
_UNDERSTOOD_FIELDS = {
    Population: ("name", "n", "neuron", "solver", "initial_state", "every"),
    Projection: (
        "pre", "post", "connectivity", "synapse", "output", "delay_steps", "synapse_delays",
        "max_delay_steps", "plastic", "name", "initial_state", "plasticity", "short_term", "column_index",
    ),
    LIF: _LIF_PARAMS + ("surrogate",),
    ExponentialEuler: (),
    ExponentialSynapse: ("tau",),
    COBA: ("e_rev",),
    CUBA: (),
    CSR: ("indptr", "indices", "weights", "n_post", "max_active", "max_row_length"),
    ELL: ("targets", "weights", "n_post", "max_active"),
    Procedural: (
        "key_words", "counts", "weight", "weight_std", "n_pre", "n_post", "degree", "probability",
        "max_row_length", "max_active",
    ),
    ConstantCurrent: ("target", "current"),
    PairSTDP: ("a_plus", "a_minus", "tau_plus", "tau_minus", "w_min", "w_max", "pairing", "bound"),
    ColumnIndex: ("colptr", "slots", "max_column_length", "max_active"),
}


def _unknown(component, where: str) -> str | None:
    """Why `component` is not exactly a type with exactly the fields the kernel understands."""
    known = _UNDERSTOOD_FIELDS.get(type(component))
    if known is None:
        return f"{where}: {type(component).__name__} is not a component the fused engine knows"
    extra = sorted({f.name for f in dataclasses.fields(component)} - set(known))
    if extra:
        return f"{where}: {type(component).__name__} has field(s) {extra} the fused engine does not know"
    return None


def _refuse(component, where: str, context) -> str | None:
    """The reason the kernel cannot run `component` (found at `where`; `context` is what holds
    it), or `None`: first its exact type and fields, then its type's own rule."""
    return _unknown(component, where) or _values_refusal(component, where, context)


@ft.singledispatch
def _values_refusal(component, where: str, context) -> str | None:
    """What a known component's values rule out (shapes, dtypes, flags); types of the allow-list
    without a rule here have nothing to check beyond their type and fields."""
    return None


@_values_refusal.register
def _(pop: Population, where, network):
    if pop.every != 1:
        return f"{where} steps on a slow clock (every {pop.every} steps)"
    return _refuse(pop.neuron, where, pop) or _refuse(pop.solver, f"{where} solver", pop)


@_values_refusal.register
def _(neuron: LIF, where, pop):
    for field in _LIF_PARAMS:
        value = getattr(neuron, field)
        if np.shape(value) not in ((), (1,), (pop.n,)):
            return f"{where}: `{field}` has shape {np.shape(value)}"
        if eqx.is_array(value) and jnp.result_type(value) not in (jnp.float32, jnp.int32):
            return f"{where}: `{field}` is {jnp.result_type(value)}, not float32"
    return None


@_values_refusal.register
def _(proj: Projection, where, network):
    if proj.plasticity is not None:
        for component, part in ((proj.plasticity, "plasticity"), (proj.column_index, "column index")):
            if reason := _refuse(component, f"{where} {part}", proj):
                return reason
    elif proj.plastic:
        return f"{where} is plastic (weights in the state) without a rule the fused engine runs"
    if proj.short_term is not None:
        return f"{where} has short-term plasticity ({type(proj.short_term).__name__})"
    if proj.synapse_delays is not None:
        return f"{where} has per-synapse delays"
    if network.emissions()[proj.pre] != "spikes":
        return f"{where}: population `{proj.pre}` does not emit spikes"
    conn = proj.connectivity
    for component, part in ((conn, "connectivity"), (proj.synapse, "synapse"), (proj.output, "output")):
        if reason := _refuse(component, f"{where} {part}", proj):
            return reason
    if np.shape(proj.synapse.tau) not in ((), (conn.n_post,)):
        return f"{where}: synapse `tau` has shape {np.shape(proj.synapse.tau)}"
    return None


@_values_refusal.register
def _(rule: PairSTDP, where, proj):
    if rule.bound != "hard":
        return f"{where}: `PairSTDP(bound={rule.bound!r})` runs on the generic engine only (fused: 'hard')"
    for field in ("a_plus", "a_minus", "tau_plus", "tau_minus", "w_min", "w_max"):
        value = getattr(rule, field)
        if eqx.is_array(value) and jnp.result_type(value) != jnp.float32:
            return f"{where}: `{field}` is {jnp.result_type(value)}, not float32"
    return None


@_values_refusal.register
def _(output: COBA, where, proj):
    return None if np.ndim(output.e_rev) == 0 else f"{where}: `COBA.e_rev` is not a scalar"


@_values_refusal.register(CSR)
@_values_refusal.register(ELL)
def _(conn, where, proj):
    if conn.weights.dtype != jnp.float32:
        return f"{where}: weights are {conn.weights.dtype}, not float32"
    index_array = conn.indices if isinstance(conn, CSR) else conn.targets
    if index_array.dtype != jnp.int32:
        return f"{where}: indices are {index_array.dtype}, not int32"
    return None


@_values_refusal.register
def _(conn: Procedural, where, proj):
    if not conn.homogeneous:
        return f"{where}: `Procedural` weights are not homogeneous"
    if conn.weight.dtype != jnp.float32:
        return f"{where}: weight is {conn.weight.dtype}, not float32"
    return None


@_values_refusal.register
def _(inp: ConstantCurrent, where, network):
    n = network.population(inp.target).n
    if np.shape(inp.current) not in ((), (1,), (n,)):
        return f"{where}: current has shape {np.shape(inp.current)}"
    return None


def _refusal(network, monitors, initial_state, key, inputs) -> str | None:
    """The first reason the fused engine does not apply, or `None`."""
    if type(network) is not Network:
        return "not a `Network`"
    if reason := _unknown_network_fields(network):
        return reason
    leaves = jtu.tree_leaves((network, key, initial_state, inputs))
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return "traced (under jit/grad/vmap): the fused kernel has no transformation rules"
    if monitors:
        return "monitors are recorded by the generic engine only"
    if inputs:
        return "the data channel (`inputs=`) is streamed by the generic engine only"
    for pop in network.populations:
        if reason := _refuse(pop, f"population `{pop.name}`", network):
            return reason
    for proj in network.projections:
        if reason := _refuse(proj, f"projection `{proj.name}`", network):
            return reason
    counted: set[str] = set()
    for k, inp in enumerate(network.inputs):
        if reason := _refuse(inp, f"input {k} ({type(inp).__name__})", network):
            return reason
        if inp.target in counted:
            return f"population `{inp.target}` has more than one `ConstantCurrent`"
        counted.add(inp.target)
    if initial_state is None:
        # `init_state` makes float32 states from float32 parameters unless x64 is on (or an
        # initial state given to a component says otherwise): no need to trace it per call
        if jnp.result_type(float) != jnp.float32:
            return "x64 is on: the state would be float64, the fused kernel is float32"
        frozen = [c.initial_state for c in network.populations + network.projections if c.initial_state]
        if any(x.dtype != np.float32 for f in frozen for x in jtu.tree_leaves(f.tree)):
            return "an `initial_state` given to a population or projection is not float32"
    elif reason := _state_refusal(network, initial_state):
        return reason
    if jax.default_backend() != "cpu":
        return f"backend is {jax.default_backend()}, the fused kernel is CPU only"
    if not _native.available(_native.NETWORK_KERNELS):
        return f"native library unavailable ({_native.unavailable_reason(_native.NETWORK_KERNELS)})"
    return None


def _state_refusal(network, state) -> str | None:
    """Why the kernel cannot start from `state`, or `None`."""
    if not isinstance(state, NetworkState):
        return "`initial_state` is not a `NetworkState`"
    for pop in network.populations:
        y = state.populations[pop.name].neuron
        if not isinstance(y, LIFState) or y.v.dtype != jnp.float32 or y.refractory.dtype != jnp.float32:
            return f"population `{pop.name}`: state is not float32 `LIFState` (jax_enable_x64?)"
    for proj in network.projections:
        y = state.projections[proj.name].synapse
        if not isinstance(y, ExponentialSynapseState) or y.g.dtype != jnp.float32:
            return f"projection `{proj.name}`: synapse state is not float32"
        if proj.plasticity is not None:
            plastic = state.projections[proj.name]
            arrays = (plastic.weights, *jtu.tree_leaves(plastic.plasticity))
            if not isinstance(plastic.plasticity, PairTraces) or any(x.dtype != jnp.float32 for x in arrays):
                return f"projection `{proj.name}`: plastic weights or traces are not float32"
    for name, length in network.history_lengths().items():
        h = state.history.get(name)
        if h is None or h.shape != (length, network.population(name).n) or h.dtype != jnp.float32:
            return f"population `{name}`: spike history is not float32 of shape ({length}, n)"
    return None


def _unknown_network_fields(network) -> str | None:
    known = {"populations", "projections", "inputs", "modulations"}
    extra = sorted({f.name for f in dataclasses.fields(network)} - known)
    if extra:
        return f"`Network` has field(s) {extra} the fused engine does not know"
    if network.modulations:
        return f"modulations ({type(network.modulations[0]).__name__}) run on the generic engine only"
    return None


def _scalar_params(neuron, currents) -> bool:
    values = [getattr(neuron, f) for f in _LIF_PARAMS] + [c.current for c in currents]
    return all(np.size(v) == 1 for v in values)


def _neuron_params(pop, currents, plen: int) -> jax.Array:
    """The kernel's 7 x plen parameter block, computed with the expressions of the generic step
    (`LIF.linear_coefficients`, `LIF.spike`, `LIF.reset`) so the float32 values are identical."""
    neuron = pop.neuron
    if eqx.is_array(neuron.c_m):
        c_m = jnp.asarray(neuron.c_m, jnp.float32)
    else:  # XLA rewrites x / constant as x * (1 / constant), computed in float32
        c_m = np.float32(1.0) / np.float32(neuron.c_m)
    g_leak_e_leak = neuron.g_leak * neuron.e_leak  # Python floats: a float64 product, as there
    current = currents[0].current if currents else 0.0
    rows = [
        c_m,
        neuron.g_leak,
        g_leak_e_leak,
        neuron.v_threshold,
        neuron.v_reset,
        neuron.t_ref,
        current,
    ]
    rows = [jnp.broadcast_to(jnp.asarray(r, jnp.float32).reshape(-1), (plen,)) for r in rows]
    return jnp.concatenate(rows)


def _projection_floats(proj, dt: float) -> jax.Array:
    """`[E_rev, decay...]`: the decay computed by the generic step's own synapse update on ones."""
    e_rev = proj.output.e_rev if isinstance(proj.output, COBA) else 0.0
    m = 1 if np.ndim(proj.synapse.tau) == 0 else proj.connectivity.n_post
    ones = ExponentialSynapseState(g=jnp.ones(m, jnp.float32))
    decayed = proj.synapse.advance(ones, 0.0, dt)
    return jnp.concatenate([jnp.asarray(e_rev, jnp.float32).reshape(1), decayed.g])


def _homogeneous(conn) -> bool:
    return conn.homogeneous if isinstance(conn, Procedural) else conn.weights.ndim == 0


_ALIASES = {1: 0, 2: 1, 3: 2, 4: 3, 7: 4}  # operand -> result: v, refractory, g, history, plastic


def _native_steps(operands, shapes, attributes):
    """The kernel's call. Under `vmap` (a sweep's batch of points) it is one call for the whole
    batch: every operand gets a leading axis, of the batch size where the operand varies (and for
    the state, which the kernel updates in place) or of 1 where the points share it (connectivity
    that is not swept is not copied); the kernel runs the points on `batch_threads` threads."""

    @jax.custom_batching.custom_vmap
    def call(*operands):
        return jax.ffi.ffi_call(_TARGET, shapes, input_output_aliases=_ALIASES)(*operands, **attributes)

    @call.def_vmap
    def _(axis_size, in_batched, *operands):
        leading = []
        for k, (x, batched) in enumerate(zip(operands, in_batched, strict=True)):
            if batched:
                leading.append(x)
            elif k in _ALIASES:
                leading.append(jnp.broadcast_to(x, (axis_size, *x.shape)))
            else:
                leading.append(x[None])
        batched_shapes = tuple(jax.ShapeDtypeStruct((axis_size, *s.shape), s.dtype) for s in shapes)
        outputs = jax.ffi.ffi_call(
            _TARGET, batched_shapes, input_output_aliases=_ALIASES, vmap_method="sequential"
        )(*leading, **attributes)
        return outputs, jax.tree.map(lambda _: True, outputs)

    return call(*operands)


def _connectivity_operands(proj) -> list[jax.Array]:
    """The kernel's operands of `proj`'s connectivity; a plastic projection's weights are in the
    plastic state instead, and its column index follows."""
    conn = proj.connectivity
    if isinstance(conn, Procedural):
        return [conn.key_words, conn.counts_operand(), conn.weight.reshape(1)]
    geometry = [conn.indptr, conn.indices] if isinstance(conn, CSR) else [conn.targets]
    if proj.plasticity is None:
        return [*geometry, conn.weights.reshape(-1)]
    return [*geometry, proj.column_index.colptr, proj.column_index.slots]


def _plastic_operands(network, state, dt: float) -> tuple[jax.Array, jax.Array]:
    """`(plastic state, plastic floats)`: per plastic projection its weights, presynaptic and
    postsynaptic traces; and `[d_+, d_-, A_+, -A_-, w_min, w_max]` (`pair_stdp.h`), the decay
    factors computed by the rule's own `decay` on ones, so the float32 values are the generic
    step's."""
    arrays, floats = [], []
    for proj in network.projections:
        rule = proj.plasticity
        if rule is None:
            continue
        current = state.projections[proj.name]
        arrays += [current.weights.reshape(-1), current.plasticity.pre, current.plasticity.post]
        ones = jnp.ones(1, jnp.float32)
        decayed = rule.decay(PairTraces(ones, ones), dt)
        values = (decayed.pre, decayed.post, rule.a_plus, -rule.a_minus, rule.w_min, rule.w_max)
        floats += [jnp.asarray(x, jnp.float32).reshape(1) for x in values]

    def flat(parts):
        return jnp.concatenate(parts) if parts else jnp.zeros(0, jnp.float32)
    return flat(arrays), flat(floats)


def run_fused_chunk(network: Network, state: NetworkState, plan: FusedPlan, dt: float, length: int):
    """`length` steps through the native kernel (traceable; call it under `jit`).

    **Returns:** `(state, spikes, counts, overflow, finite)`: the new `NetworkState`; per
    population the bool raster `(length, n)` (recorded populations only, `{}` when
    `plan.record` is false); the int32 spike counts per step; per projection the number of
    steps whose arriving spikes exceeded the event buffer (`max_active`); per population a bool
    per step, `True` while the state is finite.
    """
    pops = network.populations
    n_total = sum(plan.sizes)
    v = jnp.concatenate([state.populations[p.name].neuron.v for p in pops])
    ref = jnp.concatenate([state.populations[p.name].neuron.refractory for p in pops])
    g_parts = [state.projections[p.name].synapse.g for p in network.projections]
    g = jnp.concatenate(g_parts) if g_parts else jnp.zeros(0, jnp.float32)
    hist_parts = [state.history[p.name].reshape(-1) for q, p in enumerate(pops) if plan.history_lengths[q]]
    hist = jnp.concatenate(hist_parts) if hist_parts else jnp.zeros(0, jnp.float32)
    params = []
    for q, pop in enumerate(pops):
        currents = [i for i in network.inputs if i.target == pop.name]
        params.append(_neuron_params(pop, currents, plan.population_meta[q].parameter_length))
    params = jnp.concatenate(params)
    proj_f = [_projection_floats(p, dt) for p in network.projections]
    proj_f = jnp.concatenate(proj_f) if proj_f else jnp.zeros(0, jnp.float32)
    plastic, plastic_f = _plastic_operands(network, state, dt)
    conn = [x for p in network.projections for x in _connectivity_operands(p)]
    n_pops, n_proj = len(pops), len(network.projections)
    f32 = jnp.float32
    shapes = (
        jax.ShapeDtypeStruct(v.shape, f32),
        jax.ShapeDtypeStruct(ref.shape, f32),
        jax.ShapeDtypeStruct(g.shape, f32),
        jax.ShapeDtypeStruct(hist.shape, f32),
        jax.ShapeDtypeStruct(plastic.shape, f32),
        jax.ShapeDtypeStruct((length, n_total if plan.record else 0), jnp.uint8),
        jax.ShapeDtypeStruct((length, n_pops), jnp.int32),
        jax.ShapeDtypeStruct((length, n_pops), jnp.uint8),
        jax.ShapeDtypeStruct((n_proj,), jnp.int32),
    )
    step = jnp.asarray(state.step, jnp.int32)
    operands = (step, v, ref, g, hist, params, proj_f, plastic, plastic_f, *conn)
    attributes = dict(
        pop_meta=np.asarray([x for row in plan.population_meta for x in row], np.int64),
        proj_meta=np.asarray([x for row in plan.projection_meta for x in row], np.int64),
        dt=np.float32(dt),
        threads=np.int64(plan.threads),
        batch_threads=np.int64(available_cpus()),
    )
    v, ref, g, hist, plastic, raster, counts, finite, overflow = _native_steps(operands, shapes, attributes)
    populations, spikes, count, ok, history = {}, {}, {}, {}, {}
    offset, h_offset = 0, 0
    for q, pop in enumerate(pops):
        sl = slice(offset, offset + pop.n)
        neuron = LIFState(v=v[sl], refractory=ref[sl])
        populations[pop.name] = PopulationState(neuron, state.populations[pop.name].solver)
        if plan.record:
            spikes[pop.name] = raster[:, sl] != 0
        count[pop.name] = counts[:, q]
        ok[pop.name] = finite[:, q] != 0
        length_h = plan.history_lengths[q]
        if length_h:
            size = length_h * pop.n
            history[pop.name] = hist[h_offset : h_offset + size].reshape(length_h, pop.n)
            h_offset += size
        offset += pop.n
    projections, g_offset, p_offset = {}, 0, 0
    for proj in network.projections:
        n_post = proj.connectivity.n_post
        synapse = ExponentialSynapseState(g=g[g_offset : g_offset + n_post])
        g_offset += n_post
        if proj.plasticity is None:
            projections[proj.name] = ProjectionState(synapse)
            continue
        old = state.projections[proj.name]
        sizes = (old.weights.size, old.plasticity.pre.size, old.plasticity.post.size)
        weights, pre, post = jnp.split(plastic[p_offset : p_offset + sum(sizes)], np.cumsum(sizes[:2]))
        p_offset += sum(sizes)
        projections[proj.name] = ProjectionState(
            synapse, weights.reshape(old.weights.shape), plasticity=PairTraces(pre, post)
        )
    overflow = {name: overflow[k] for k, name in enumerate(plan.projections)}
    new_state = NetworkState(state.step + length, populations, projections, state.inputs, history)
    return new_state, spikes, count, overflow, ok
