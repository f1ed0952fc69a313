"""brainsim `Network` -> NIR graph (see `brainsim.io.nir` for the mapping and the units)."""

import dataclasses
from collections.abc import Sequence

import jax
import nir
import numpy as np

from ..dynamics import LIF, ConstantCurrent, ExponentialSynapse, InstantaneousSynapse
from ..dynamics.neurons import IntegrateAndFire, ThresholdUnit
from ..dynamics.streams import SpikeSource, ValueSource
from ..dynamics.synapses.base import CUBA
from ..network import Network, Projection
from ..network.emission import emits
from ..ops import stored_synapses, to_dense
from ._nir_import import check_dt
from ._nir_units import MS_PER_SECOND, dirac_step_factor

# Fields the exporter translates; any other field that is set (a newer option of a component)
# makes export refuse, naming it, instead of writing a graph without it (fail closed).
_UNDERSTOOD = {
    Network: {"populations", "projections", "inputs"},
    Projection: {
        "pre", "post", "connectivity", "synapse", "output", "delay_steps", "synapse_delays",
        "max_delay_steps", "plastic", "name", "initial_state",
    },
    LIF: {"c_m", "g_leak", "e_leak", "v_threshold", "v_reset", "t_ref", "surrogate"},
    IntegrateAndFire: {"c_m", "v_threshold", "v_reset", "surrogate"},
    ThresholdUnit: {"threshold", "surrogate"},
    InstantaneousSynapse: set(),
    ExponentialSynapse: {"tau"},
    CUBA: set(),
}  # fmt: skip


def _require_understood(component, where: str) -> None:
    """`ValueError` naming `where` and the field if `component` sets a field NIR export ignores
    (`None`, `False` and an empty tuple are unset)."""
    understood = _UNDERSTOOD[type(component)]
    for field in dataclasses.fields(component):
        value = getattr(component, field.name)
        inert = value is None or value is False or (isinstance(value, tuple) and not value)
        if field.name not in understood and not inert:
            raise ValueError(
                f"{where}: `{field.name}` of {type(component).__name__} has no NIR counterpart; "
                "export it without that option."
            )


def _host(value, n: int, what: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError) as error:
        raise TypeError(f"{what} is traced; export a network with concrete parameters.") from error
    return np.broadcast_to(array, (n,)).copy()


def _synapse_time_constant(name: str, incoming: list[Projection], n: int) -> np.ndarray | None:
    """`None` if every incoming synapse is instantaneous, the shared `tau` (ms, `(n,)`) if every
    one is a single exponential with the same `tau`; otherwise a `ValueError` naming `name`."""
    for proj in incoming:
        if not isinstance(proj.output, CUBA):
            raise ValueError(
                f"projection `{proj.name}` has a {type(proj.output).__name__} output; NIR has no "
                "conductance-based synapse, so only `CUBA()` outputs can be exported."
            )
        if not isinstance(proj.synapse, InstantaneousSynapse | ExponentialSynapse):
            raise ValueError(
                f"projection `{proj.name}` has a {type(proj.synapse).__name__}; NIR represents "
                "`InstantaneousSynapse` (into LIF, IF, Threshold) and `ExponentialSynapse` (CubaLIF) only."
            )
    exponential = [p for p in incoming if isinstance(p.synapse, ExponentialSynapse)]
    if not exponential:
        return None
    if len(exponential) != len(incoming):
        raise ValueError(
            f"population `{name}` receives both instantaneous and exponential synapses; a NIR CubaLIF "
            "filters all its input through one synapse. Use one synapse type per population."
        )
    taus = [_host(p.synapse.tau, n, f"`tau` of projection `{p.name}`") for p in exponential]
    if any(not np.array_equal(t, taus[0]) for t in taus[1:]):
        raise ValueError(
            f"population `{name}` receives exponential synapses with different `tau`; a NIR CubaLIF "
            "has one synaptic time constant per neuron."
        )
    return taus[0]


def _neuron_node(pop, tau_syn, dt: float):
    """`(node, membrane time constant in ms or inf)` for a neuron population."""
    n, model, where = pop.n, pop.neuron, f"population `{pop.name}`"
    if pop.every != 1:
        raise ValueError(f"{where}: a slow clock (`every={pop.every}`) has no NIR counterpart.")
    if type(model) in _UNDERSTOOD:
        _require_understood(model, where)
    if isinstance(model, LIF):
        if np.any(_host(model.t_ref, n, f"`t_ref` of {where}") != 0):
            raise ValueError(
                f"{where}: `t_ref` must be 0 ms to export (NIR's LIF has no refractory period); "
                f"got {model.t_ref}."
            )
        c_m = _host(model.c_m, n, f"`c_m` of {where}")
        g_leak = _host(model.g_leak, n, f"`g_leak` of {where}")
        tau = c_m / g_leak  # ms
        common = dict(
            r=1.0 / g_leak,
            v_leak=_host(model.e_leak, n, f"`e_leak` of {where}"),
            v_threshold=_host(model.v_threshold, n, f"`v_threshold` of {where}"),
            v_reset=_host(model.v_reset, n, f"`v_reset` of {where}"),
        )
        if tau_syn is None:
            return nir.LIF(tau=tau / MS_PER_SECOND, **common), tau
        return (
            nir.CubaLIF(
                tau_syn=tau_syn / MS_PER_SECOND, tau_mem=tau / MS_PER_SECOND, w_in=np.ones(n), **common
            ),
            tau,
        )
    if tau_syn is not None:
        raise ValueError(
            f"{where} ({type(model).__name__}) receives exponential synapses; NIR filters input through a "
            "synapse only in CubaLIF. Use `InstantaneousSynapse` projections into it."
        )
    if isinstance(model, IntegrateAndFire):
        node = nir.IF(
            r=MS_PER_SECOND / _host(model.c_m, n, f"`c_m` of {where}"),
            v_threshold=_host(model.v_threshold, n, f"`v_threshold` of {where}"),
            v_reset=_host(model.v_reset, n, f"`v_reset` of {where}"),
        )
        return node, np.full(n, np.inf)
    if isinstance(model, ThresholdUnit):
        return nir.Threshold(threshold=_host(model.threshold, n, f"`threshold` of {where}")), np.full(
            n, np.inf
        )
    raise TypeError(
        f"{where}: {type(model).__name__} has no NIR counterpart; NIR export supports `LIF` (t_ref = 0), "
        "`IntegrateAndFire`, `ThresholdUnit`, `SpikeSource` and `ValueSource` populations."
    )


def _delay_matrix(proj: Projection) -> np.ndarray:
    """Delay in steps per (pre, post) pair with a synapse (0 elsewhere), shape `(n_pre, n_post)`."""
    conn = proj.connectivity
    if proj.synapse_delays is None:
        return np.full((conn.n_pre, conn.n_post), proj.delay_steps)
    pre, post, valid = stored_synapses(conn)
    delays = np.zeros((conn.n_pre, conn.n_post), np.int64)
    seen = np.zeros_like(delays, dtype=bool)
    for i, j, d in zip(pre[valid], post[valid], np.asarray(proj.synapse_delays)[valid], strict=True):
        if seen[i, j] and delays[i, j] != d:
            raise ValueError(
                f"projection `{proj.name}`: synapses {i} -> {j} are duplicated with different delays; "
                "NIR has one delay per edge element."
            )
        delays[i, j], seen[i, j] = d, True
    return delays


def _split_delays(proj: Projection, weights: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Extra delay steps (beyond 1) before the weights, per pre neuron, or after, per post neuron."""
    delays = _delay_matrix(proj) - 1
    synapse = weights != 0
    if not synapse.any() or np.all(delays[synapse] == 0):
        return None, None
    rows = np.where(synapse, delays, -1).max(axis=1)
    if np.all((delays == rows[:, None]) | ~synapse):
        return np.maximum(rows, 0), None
    cols = np.where(synapse, delays, -1).max(axis=0)
    if np.all((delays == cols[None, :]) | ~synapse):
        return None, np.maximum(cols, 0)
    raise ValueError(
        f"projection `{proj.name}` has delays that differ per synapse, not per presynaptic or per "
        "postsynaptic neuron; a NIR Delay delays each element of a signal, so it cannot express them."
    )


def _bias(network: Network, name: str, n: int) -> np.ndarray | None:
    total = None
    for inp in network.inputs:
        if inp.target != name:
            continue
        if not isinstance(inp, ConstantCurrent):
            raise TypeError(
                f"input {type(inp).__name__} to `{name}` has no NIR counterpart; export supports "
                "`ConstantCurrent` (an Affine bias) and data sources (Input nodes)."
            )
        current = _host(inp.current, n, f"`current` of the ConstantCurrent to `{name}`")
        total = current if total is None else total + current
    return total


def _unique_key(wanted: str, taken: set[str]) -> str:
    key = wanted.replace(".", "_")
    while key in taken:
        key += "_"
    taken.add(key)
    return key


def to_nir_graph(network, *, dt, outputs) -> nir.NIRGraph:
    """See `brainsim.io.nir.to_nir`."""
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a `bs.Network`; got {type(network).__name__}.")
    dt = check_dt(dt)
    _require_understood(network, "`network`")
    nodes, edges, taken = {}, [], set()
    keys, kinds, taus = {}, {}, {}
    incoming = {p.name: [q for q in network.projections if q.post == p.name] for p in network.populations}
    for pop in network.populations:
        keys[pop.name] = _unique_key(pop.name, taken)
        if isinstance(pop.neuron, SpikeSource | ValueSource):
            nodes[keys[pop.name]] = nir.Input(input_type=np.array([pop.n]))
            kinds[pop.name] = "spikes" if isinstance(pop.neuron, SpikeSource) else "values"
            continue
        tau_syn = _synapse_time_constant(pop.name, incoming[pop.name], pop.n)
        nodes[keys[pop.name]], taus[pop.name] = _neuron_node(pop, tau_syn, dt)
        kinds[pop.name] = emits(pop.neuron)

    weight_keys = {}
    for proj in network.projections:
        _require_understood(proj, f"projection `{proj.name}`")
        _require_understood(proj.synapse, f"projection `{proj.name}`")
        post = network.population(proj.post)
        dense = np.asarray(to_dense(proj.connectivity), dtype=np.float64)  # (n_pre, n_post)
        pre_delay, post_delay = _split_delays(proj, dense)
        spikes = kinds[proj.pre] == "spikes"
        if isinstance(proj.synapse, ExponentialSynapse):
            tau_syn = _host(proj.synapse.tau, post.n, f"`tau` of projection `{proj.name}`")
            scale = tau_syn / MS_PER_SECOND if spikes else tau_syn / dt
        elif spikes:
            scale = dt / (MS_PER_SECOND * dirac_step_factor(dt, taus[proj.post]))
        else:
            scale = np.ones(post.n)
        weight = (dense * scale[None, :]).T  # (n_post, n_pre), NIR orientation
        chain = [keys[proj.pre]]
        if pre_delay is not None:
            key = _unique_key(f"{proj.name}:delay", taken)
            nodes[key] = nir.Delay(delay=pre_delay * dt / MS_PER_SECOND)
            chain.append(key)
        weight_keys[proj.name] = _unique_key(proj.name, taken)
        nodes[weight_keys[proj.name]] = nir.Linear(weight=weight)
        chain.append(weight_keys[proj.name])
        if post_delay is not None:
            key = _unique_key(f"{proj.name}:delay", taken)
            nodes[key] = nir.Delay(delay=post_delay * dt / MS_PER_SECOND)
            chain.append(key)
        chain.append(keys[proj.post])
        edges.extend(zip(chain[:-1], chain[1:], strict=True))

    for pop in network.populations:
        bias = _bias(network, pop.name, pop.n)
        if bias is None:
            continue
        node, into = nodes[keys[pop.name]], incoming[pop.name]
        if isinstance(node, nir.CubaLIF):
            # a bias into a CubaLIF is filtered by its synapse: brainsim carries it as the constant
            # plus the transient -bias in the first projection's initial synaptic state (from_nir)
            start = into[0].initial_state if into else None
            carried = start is not None and np.allclose(np.asarray(start.tree.g), -bias, rtol=1e-6, atol=0.0)
        else:
            carried = bool(into) and isinstance(node, nir.LIF | nir.IF | nir.Threshold)
        if carried:
            key = weight_keys[into[0].name]
            nodes[key] = nir.Affine(weight=nodes[key].weight, bias=bias)
        elif isinstance(node, nir.LIF | nir.CubaLIF):  # an unfiltered current shifts the rest
            node.v_leak = node.v_leak + bias * node.r
        elif isinstance(node, nir.Threshold):
            node.threshold = node.threshold - bias
        else:
            raise ValueError(
                f"population `{pop.name}` ({type(pop.neuron).__name__}) has a ConstantCurrent but "
                "no projection whose NIR Affine node could carry it as a bias."
            )

    if outputs is None:
        feeds_other = {p.pre for p in network.projections if p.pre != p.post}
        outputs = [
            p.name for p in network.populations if kinds[p.name] == "spikes" and p.name not in feeds_other
        ]
        outputs = [name for name in outputs if not isinstance(network.population(name).neuron, SpikeSource)]
    elif isinstance(outputs, str) or not isinstance(outputs, Sequence):
        raise TypeError(f"`outputs` must be a sequence of population names; got {outputs!r}.")
    for name in outputs:
        if name not in keys:
            raise ValueError(f"`outputs` names `{name}`, which is not a population; known: {sorted(keys)}.")
        pop = network.population(name)
        key = _unique_key("output" if len(outputs) == 1 else f"{name}_output", taken)
        nodes[key] = nir.Output(output_type=np.array([pop.n]))
        edges.append((keys[name], key))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
