"""NIR graph -> brainsim `Network` (see `brainsim.io.nir` for the mapping and the units)."""

import dataclasses
import math
from typing import Literal

import jax.numpy as jnp
import nir
import numpy as np

from ..dynamics import (
    CUBA,
    LIF,
    ConstantCurrent,
    ExponentialSynapse,
    ExponentialSynapseState,
    InstantaneousSynapse,
    LIFState,
    NormalizedSuperSpike,
)
from ..dynamics.neurons import IntegrateAndFire, IntegrateAndFireState, ThresholdUnit, ThresholdUnitState
from ..dynamics.streams import SpikeSource, ValueSource
from ..network import Network, Population, Projection
from ..ops import CSR, Dense
from ._nir_units import MS_PER_SECOND, delay_in_steps, dirac_step_factor

NEURON_NODES = (nir.LIF, nir.CubaLIF, nir.IF, nir.Threshold)
TRANSFORM_NODES = (nir.Linear, nir.Affine, nir.Scale, nir.Delay)
SUPPORTED = "Input, Output, LIF, CubaLIF, IF, Threshold, Linear, Affine, Scale, Delay"
InputKind = Literal["spikes", "values"]


@dataclasses.dataclass
class _Path:
    """A chain of transform nodes from population `pre` to population `post`, composed."""

    pre: str
    post: str
    keys: list[str]
    weight: np.ndarray  # (n_post, n_pre), NIR orientation
    delay_steps: np.ndarray  # (n_post, n_pre), extra steps beyond the one every projection has


def check_dt(dt) -> float:
    """`dt` as a positive finite Python float (ms), else `ValueError`/`TypeError` naming it."""
    if isinstance(dt, bool) or not isinstance(dt, int | float | np.floating | np.integer):
        raise TypeError(f"`dt` must be a Python number (ms); got {type(dt).__name__}.")
    dt = float(dt)
    if not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"`dt` must be a finite number > 0 ms; got {dt}.")
    return dt


def _vector(node_key: str, node, field: str) -> np.ndarray:
    value = np.asarray(getattr(node, field), dtype=np.float64)
    if value.ndim > 1:
        raise ValueError(
            f"NIR node `{node_key}` ({type(node).__name__}): `{field}` has shape {value.shape}; "
            "brainsim populations are 1-D, so node parameters must be vectors (flatten the layer)."
        )
    if not np.all(np.isfinite(value)):
        raise ValueError(f"NIR node `{node_key}` ({type(node).__name__}): `{field}` must be finite.")
    return value.reshape(-1)


def _positive(node_key: str, node, field: str) -> np.ndarray:
    value = _vector(node_key, node, field)
    if np.any(value <= 0):
        raise ValueError(
            f"NIR node `{node_key}` ({type(node).__name__}): `{field}` must be > 0; got min {value.min()}."
        )
    return value


def _parameter(value: np.ndarray):
    """A Python float where all units share the value (as a hand-written model), else an array."""
    if value.size and np.all(value == value.flat[0]):
        return float(value.flat[0])
    return _float(value)


def _float(value: np.ndarray):
    return jnp.asarray(value, dtype=jnp.result_type(float))


def _zeros(n: int):
    return jnp.zeros(n, dtype=jnp.result_type(float))


def _size(key: str, node) -> int:
    if isinstance(node, nir.Input):
        shape = np.asarray(node.input_type["input"]).reshape(-1)
        if shape.size != 1:
            raise ValueError(
                f"NIR node `{key}` (Input) has shape {tuple(shape)}; brainsim populations are 1-D: "
                "flatten the input."
            )
        return int(shape[0])
    field = {nir.LIF: "v_threshold", nir.CubaLIF: "v_threshold", nir.IF: "v_threshold"}.get(
        type(node), "threshold"
    )
    return _vector(key, node, field).size


def _classify(graph: nir.NIRGraph) -> dict[str, str]:
    kinds = {}
    for key, node in graph.nodes.items():
        if "." in key:
            raise ValueError(f"NIR node key `{key}`: brainsim reads flat graphs; a key may not contain '.'.")
        if isinstance(node, nir.Input):
            kinds[key] = "source"
        elif isinstance(node, nir.Output):
            kinds[key] = "output"
        elif isinstance(node, NEURON_NODES):
            kinds[key] = "neuron"
        elif isinstance(node, TRANSFORM_NODES):
            kinds[key] = "transform"
        else:
            raise TypeError(
                f"NIR node `{key}` ({type(node).__name__}) has no brainsim counterpart; supported "
                f"nodes: {SUPPORTED}."
            )
    for src, dst in graph.edges:
        for end in (src, dst):
            if end not in kinds:
                raise ValueError(f"NIR edge ({src!r}, {dst!r}) names an unknown node `{end}`.")
        if kinds[dst] == "source":
            raise ValueError(f"NIR edge ({src!r}, {dst!r}): Input node `{dst}` cannot receive input.")
        if kinds[src] == "output":
            raise ValueError(f"NIR edge ({src!r}, {dst!r}): Output node `{src}` cannot send output.")
    return kinds


def _successors(graph: nir.NIRGraph) -> dict[str, list[str]]:
    succ: dict[str, list[str]] = {key: [] for key in graph.nodes}
    for src, dst in graph.edges:
        succ[src].append(dst)
    return succ


def _paths(graph, kinds, succ, sizes, dt) -> list[_Path]:
    """Every chain population -> transforms -> population, with weights and delays composed."""
    paths = []

    def walk(pre: str, at: str, keys: list[str], weight, pre_delay, post_delay, between: int):
        for nxt in succ[at]:
            kind = kinds[nxt]
            if kind == "output":
                if keys:
                    raise ValueError(
                        f"NIR Output `{nxt}` reads node `{at}` ({type(graph.nodes[at]).__name__}), a "
                        "transform of spikes; brainsim outputs are populations, so an Output must read a "
                        "neuron or Input node directly."
                    )
                continue
            if kind in ("neuron", "source"):
                n_out = weight.shape[0]
                if sizes[nxt] != n_out:
                    raise ValueError(
                        f"NIR edge ({at!r}, {nxt!r}): a signal of size {n_out} reaches node `{nxt}` "
                        f"of size {sizes[nxt]}."
                    )
                delays = pre_delay[None, :] + post_delay[:, None] + between
                paths.append(_Path(pre, nxt, list(keys), weight, delays))
                continue
            if nxt in keys:
                raise ValueError(
                    f"NIR node `{nxt}` ({type(graph.nodes[nxt]).__name__}) lies on a loop of transform "
                    "nodes with no neuron on it; brainsim cannot represent an instantaneous loop."
                )
            node = graph.nodes[nxt]
            w, pd, qd, b = weight, pre_delay, post_delay, between
            n_in = w.shape[0]
            if isinstance(node, nir.Delay):
                d = _vector(nxt, node, "delay")
                if d.size not in (1, n_in):
                    raise ValueError(
                        f"NIR node `{nxt}` (Delay) has size {d.size}; its input has size {n_in}."
                    )
                steps = delay_in_steps(np.broadcast_to(d, (n_in,)), dt, f"NIR node `{nxt}` (Delay)")
                if not any(isinstance(graph.nodes[k], nir.Linear | nir.Affine | nir.Scale) for k in keys):
                    pd = pd + steps
                else:
                    qd = qd + steps
            else:
                if np.any(qd != qd[0]):
                    raise ValueError(
                        f"NIR node `{nxt}` ({type(node).__name__}) follows a Delay with element-wise delays "
                        "after a weight matrix; brainsim keeps one delay per synapse, so a non-uniform "
                        "Delay must sit next to a neuron or Input node."
                    )
                b = b + (int(qd[0]) if qd.size else 0)
                if isinstance(node, nir.Scale):
                    scale = _vector(nxt, node, "scale")
                    if scale.size not in (1, n_in):
                        raise ValueError(
                            f"NIR node `{nxt}` (Scale) has size {scale.size}; its input has size {n_in}."
                        )
                    w = np.broadcast_to(scale, (n_in,))[:, None] * w
                else:
                    matrix = np.asarray(node.weight, dtype=np.float64)
                    if matrix.ndim != 2 or matrix.shape[1] != n_in:
                        raise ValueError(
                            f"NIR node `{nxt}` ({type(node).__name__}): weight of shape {matrix.shape} "
                            f"cannot take a signal of size {n_in}; brainsim needs 2-D (out, in) weights."
                        )
                    w = matrix @ w
                qd = np.zeros(w.shape[0], dtype=np.int64)
            walk(pre, nxt, keys + [nxt], w, pd, qd, b)

    for key, kind in kinds.items():
        if kind in ("neuron", "source"):
            n = sizes[key]
            walk(key, key, [], np.eye(n), np.zeros(n, np.int64), np.zeros(n, np.int64), 0)
    return paths


def _biases(graph, kinds, succ, sizes) -> dict[str, np.ndarray]:
    """Per population, the constant input (NIR current) that Affine biases deliver to it."""
    constant: dict[str, np.ndarray] = {}

    def push(at: str, value: np.ndarray, seen: tuple[str, ...]):
        for nxt in succ[at]:
            kind = kinds[nxt]
            if kind in ("neuron",):
                constant[nxt] = constant.get(nxt, np.zeros(sizes[nxt])) + value
            elif kind == "transform" and nxt not in seen:
                node = graph.nodes[nxt]
                if isinstance(node, nir.Delay):
                    v = value
                elif isinstance(node, nir.Scale):
                    v = np.asarray(node.scale, dtype=np.float64).reshape(-1) * value
                else:
                    v = np.asarray(node.weight, dtype=np.float64) @ value
                push(nxt, v, seen + (nxt,))

    for key, node in graph.nodes.items():
        if isinstance(node, nir.Affine):
            bias = np.asarray(node.bias, dtype=np.float64).reshape(-1)
            if np.any(bias != 0):
                push(key, bias, (key,))
    return constant


def _model(key: str, node, dt: float):
    """`(model, initial_state, time constant in ms for Dirac inputs, synaptic time constant in
    ms or None, w_in or None)` for neuron node `node`; every state variable starts at 0."""
    try:
        if isinstance(node, nir.LIF | nir.CubaLIF):
            tau = _positive(key, node, "tau" if isinstance(node, nir.LIF) else "tau_mem") * MS_PER_SECOND
            r = _positive(key, node, "r")
            v_threshold, v_reset = _vector(key, node, "v_threshold"), _vector(key, node, "v_reset")
            n = v_threshold.size
            distance = float(np.mean(v_threshold - v_reset))
            model = LIF(
                c_m=_parameter(np.broadcast_to(tau / r, (n,))),
                g_leak=_parameter(np.broadcast_to(1.0 / r, (n,))),
                e_leak=_parameter(np.broadcast_to(_vector(key, node, "v_leak"), (n,))),
                v_threshold=_parameter(v_threshold),
                v_reset=_parameter(np.broadcast_to(v_reset, (n,))),
                t_ref=0.0,
                surrogate=NormalizedSuperSpike(threshold_distance=distance if distance > 0 else 1.0),
            )
            state = LIFState(v=_zeros(n), refractory=_zeros(n))
            if isinstance(node, nir.LIF):
                return model, state, np.broadcast_to(tau, (n,)), None, None
            tau_syn = np.broadcast_to(_positive(key, node, "tau_syn") * MS_PER_SECOND, (n,))
            w_in = np.broadcast_to(_vector(key, node, "w_in"), (n,))
            return model, state, np.broadcast_to(tau, (n,)), tau_syn, w_in
        if isinstance(node, nir.IF):
            r = _positive(key, node, "r")
            v_threshold = _vector(key, node, "v_threshold")
            n = v_threshold.size
            model = IntegrateAndFire(
                c_m=_parameter(np.broadcast_to(MS_PER_SECOND / r, (n,))),
                v_threshold=_parameter(v_threshold),
                v_reset=_parameter(np.broadcast_to(_vector(key, node, "v_reset"), (n,))),
            )
            return model, IntegrateAndFireState(v=_zeros(n)), np.full(n, np.inf), None, None
        threshold = _vector(key, node, "threshold")
        n = threshold.size
        return (
            ThresholdUnit(threshold=_parameter(threshold)),
            ThresholdUnitState(x=_zeros(n)),
            np.full(n, np.inf),
            None,
            None,
        )
    except ValueError as error:
        if str(error).startswith("NIR node"):
            raise
        raise ValueError(f"NIR node `{key}` ({type(node).__name__}): {error}") from error


def _connectivity(weights: np.ndarray, delays: np.ndarray | None):
    """Dense, or CSR when fewer than half the entries are synapses or delays differ per synapse."""
    dtype = jnp.result_type(float)
    nonzero = weights != 0
    if delays is None and (nonzero.size == 0 or nonzero.mean() >= 0.5):
        return Dense(jnp.asarray(weights, dtype=dtype)), None
    rows, cols = np.nonzero(nonzero)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=weights.shape[0]))])
    conn = CSR(indptr, cols, jnp.asarray(weights[rows, cols], dtype=dtype), weights.shape[1])
    return conn, None if delays is None else np.asarray(delays[rows, cols], np.int32)


def from_nir_graph(graph, *, dt, input_kind) -> Network:
    """See `brainsim.io.nir.from_nir`."""
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"`graph` must be a `nir.NIRGraph`; got {type(graph).__name__}.")
    dt = check_dt(dt)
    kinds = _classify(graph)
    source_kind = {}
    for key, kind in kinds.items():
        if kind == "source":
            chosen = input_kind.get(key, "spikes") if isinstance(input_kind, dict) else input_kind
            if chosen not in ("spikes", "values"):
                raise ValueError(
                    f"`input_kind` for Input `{key}` must be 'spikes' or 'values'; got {chosen!r}."
                )
            source_kind[key] = chosen
    if isinstance(input_kind, dict):
        unknown = sorted(set(input_kind) - set(source_kind))
        if unknown:
            raise ValueError(
                f"`input_kind` names {unknown}, which are not Input nodes; Inputs: {sorted(source_kind)}."
            )
    sizes = {key: _size(key, graph.nodes[key]) for key, kind in kinds.items() if kind in ("source", "neuron")}
    succ = _successors(graph)
    paths = _paths(graph, kinds, succ, sizes, dt)
    constant = _biases(graph, kinds, succ, sizes)

    populations, models = [], {}
    for key, kind in kinds.items():
        if kind == "source":
            source = SpikeSource() if source_kind[key] == "spikes" else ValueSource()
            populations.append(Population(key, sizes[key], source))
        elif kind == "neuron":
            models[key] = _model(key, graph.nodes[key], dt)
            model, state = models[key][:2]
            populations.append(Population(key, sizes[key], model, initial_state=state))

    projections, names, carried = [], set(), set()
    for path in paths:
        _, _, tau, tau_syn, w_in = models[path.post]
        spikes = kinds[path.pre] == "neuron" or source_kind.get(path.pre) == "spikes"
        weights = path.weight.T.copy()  # (n_pre, n_post)
        initial_state = None
        if tau_syn is None:
            synapse = InstantaneousSynapse()
            if spikes:  # a Dirac of area w: the charge 1000 w pA ms, as the step current f q / dt
                weights *= (MS_PER_SECOND / dt) * dirac_step_factor(dt, tau)[None, :]
        else:
            synapse = ExponentialSynapse(tau=_parameter(tau_syn))
            # tau_syn dI/dt = -I + w_in S: a Dirac of area w moves I by w_in w / tau_syn (s)
            scale = w_in * MS_PER_SECOND / tau_syn if spikes else w_in * dt / tau_syn
            weights *= scale[None, :]
            if path.post in constant and path.post not in carried:
                # a bias c through the synapse: I = w_in c (1 - exp(-t / tau_syn)) from I(0) = 0,
                # the constant w_in c (below) plus this synapse starting at -w_in c
                initial_state = ExponentialSynapseState(g=_float(-(w_in * constant[path.post])))
                carried.add(path.post)
        delays = path.delay_steps.T + 1
        uniform = bool(np.all(delays == delays.flat[0]))
        conn, synapse_delays = _connectivity(weights, None if uniform else delays)
        named = [k for k in path.keys if isinstance(graph.nodes[k], nir.Linear | nir.Affine | nir.Scale)]
        name = "+".join(named or path.keys) or f"{path.pre}->{path.post}"
        if name in names:
            name = f"{name}->{path.post}"
        while name in names:
            name += "'"
        names.add(name)
        projections.append(
            Projection(
                path.pre,
                path.post,
                conn,
                synapse,
                CUBA(),
                delay_steps=int(delays.flat[0]) if uniform else synapse_delays,
                name=name,
                initial_state=initial_state,
            )
        )

    inputs = []
    for key, value in constant.items():
        w_in = models[key][4]
        if w_in is not None and key not in carried:
            raise ValueError(
                f"NIR node `{key}` (CubaLIF) receives a bias but no projection to carry its synaptic "
                "transient; connect an Input to it."
            )
        current = value if w_in is None else w_in * value
        inputs.append(ConstantCurrent(key, _float(current)))
    return Network(populations, projections, inputs)
