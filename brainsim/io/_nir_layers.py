r"""`brainsim.train` layer stacks <-> NIR chains (see `brainsim.io.nir` for the conventions).

The spiking part of a stack goes through the `Network` converters (`_nir_export`,
`_nir_import`): a `RecurrentSpikingLayer` is exactly a population fed by one projection (and a
recurrent one), so its LIF/CubaLIF parameters, weights and units are converted by the same code
as a `Network`'s. Only the `LeakyReadout` <-> NIR `LI` mapping is new here.
"""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import nir
import numpy as np

from ..dynamics import LIF, ExponentialSynapse, InstantaneousSynapse
from ..dynamics.streams import SpikeSource
from ..dynamics.synapses.base import CUBA
from ..network import Network, Population, Projection
from ..ops import Dense, to_dense
from ..train.layers import LeakyReadout, RecurrentSpikingLayer, Sequential, rest_state
from ._nir_export import _host, to_nir_graph
from ._nir_import import _vector, check_dt, from_nir_graph
from ._nir_units import MS_PER_SECOND, dirac_step_factor

_SPIKING = nir.LIF | nir.CubaLIF
_WEIGHTS = nir.Linear | nir.Affine | nir.Scale
_LAYER_NODES = "Input, Linear, Affine, Scale, LIF, CubaLIF (with a recurrent Linear self-edge), LI, Output"


def _flatten(model) -> list:
    if isinstance(model, Sequential):
        return [layer for inner in model.layers for layer in _flatten(inner)]
    return [model]


def _readout_scale(dt: float, tau_ms: float) -> float:
    r"""NIR weight per layer weight of a `LeakyReadout`: a spike row held over a step moves $u$ by
    $W (1 - e^{-x})$ at the step end; a Dirac of area $w$ at the step start by
    $(R w / \tau) e^{-x}$; equal for $R = 1$ when $w = W \Delta t / (1000 f)$ (s)."""
    return dt / (MS_PER_SECOND * float(dirac_step_factor(dt, np.array([tau_ms]))[0]))


def layers_to_nir_graph(model, *, dt) -> nir.NIRGraph:
    """See `brainsim.io.nir.to_nir` (layer stacks)."""
    dt = check_dt(dt)
    layers = _flatten(model)
    for k, layer in enumerate(layers):
        where = f"layer {k} ({type(layer).__name__})"
        if not isinstance(layer, RecurrentSpikingLayer | LeakyReadout):
            raise TypeError(
                f"{where} has no NIR counterpart; export supports `RecurrentSpikingLayer` and a final "
                "`LeakyReadout`."
            )
        if isinstance(layer, LeakyReadout) and k != len(layers) - 1:
            raise ValueError(
                f"{where}: a `LeakyReadout` must be the last layer to export (its output is not spikes)."
            )
        if float(layer.dt) != dt:
            raise ValueError(
                f"{where} steps at dt = {layer.dt} ms but `dt` = {dt} ms; export at the layer's step."
            )
        if isinstance(layer, RecurrentSpikingLayer):
            if type(layer.neuron) is not LIF:
                raise TypeError(
                    f"{where}: {type(layer.neuron).__name__} has no NIR counterpart; NIR's LIF/CubaLIF is "
                    "`bs.LIF` (t_ref = 0)."
                )
            if not isinstance(layer.output, CUBA):
                raise ValueError(f"{where}: only `CUBA()` outputs export (NIR has no conductance synapse).")
            if not isinstance(layer.synapse, InstantaneousSynapse | ExponentialSynapse):
                raise ValueError(
                    f"{where}: {type(layer.synapse).__name__} has no NIR counterpart; use "
                    "`InstantaneousSynapse` (LIF) or `ExponentialSynapse` (CubaLIF)."
                )

    spiking = [layer for layer in layers if isinstance(layer, RecurrentSpikingLayer)]
    readout = layers[-1] if isinstance(layers[-1], LeakyReadout) else None
    names = [f"layer{k}" for k in range(len(layers))]
    populations = [Population("input", layers[0].n_in, SpikeSource())]
    projections = []
    pre = "input"
    for k, layer in enumerate(spiking):
        populations.append(Population(names[k], layer.n_out, layer.neuron))
        projections.append(
            Projection(pre, names[k], Dense(layer.weights), layer.synapse, CUBA(), name=f"{names[k]}_weights")
        )
        if layer.recurrent_weights is not None:
            projections.append(
                Projection(
                    names[k], names[k], Dense(layer.recurrent_weights), layer.synapse, CUBA(),
                    name=f"{names[k]}_recurrent",
                )
            )  # fmt: skip
        pre = names[k]
    if spiking:
        try:
            graph = to_nir_graph(Network(populations, projections), dt=dt, outputs=[] if readout else [pre])
        except (TypeError, ValueError) as error:  # name the layer, not the internal population
            message = str(error)
            for k in range(len(spiking)):
                message = message.replace(f"`{names[k]}`", f"`{names[k]}` (layer {k})")
            raise type(error)(message) from error
        nodes, edges = dict(graph.nodes), list(graph.edges)
    else:
        nodes, edges = {"input": nir.Input(input_type=np.array([layers[0].n_in]))}, []
    if readout is not None:
        k = len(layers) - 1
        tau = float(readout.tau)
        weight = _host(
            jnp.ravel(readout.weights), readout.n_in * readout.n_out, "`weights` of the LeakyReadout"
        )
        weight = weight.reshape(readout.n_in, readout.n_out).T * _readout_scale(dt, tau)
        nodes[f"{names[k]}_weights"] = nir.Affine(
            weight=weight, bias=_host(readout.bias, readout.n_out, "`bias` of the LeakyReadout")
        )
        nodes[names[k]] = nir.LI(
            tau=np.full(readout.n_out, tau / MS_PER_SECOND),
            r=np.ones(readout.n_out),
            v_leak=np.zeros(readout.n_out),
        )
        nodes["output"] = nir.Output(output_type=np.array([readout.n_out]))
        edges += [(pre, f"{names[k]}_weights"), (f"{names[k]}_weights", names[k]), (names[k], "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _refuse(key, node, why: str, error=ValueError):
    raise error(f"NIR node `{key}` ({type(node).__name__}): {why}")


def _chain(graph: nir.NIRGraph):
    """`(order, recurrent)`: the node keys from Input to Output, and per spiking node the keys of
    its recurrent transform loop; errors name the node a layer stack cannot represent."""
    nodes = graph.nodes
    for key, node in nodes.items():
        if isinstance(node, nir.Delay):
            _refuse(
                key, node,
                "a layer stack has no delays (feed-forward spikes act in the step they are emitted, "
                "recurrent ones one step later); import the graph as a `Network` (`from_nir`) instead.",
            )  # fmt: skip
        if not isinstance(node, nir.Input | nir.Output | nir.LI | _SPIKING | _WEIGHTS):
            _refuse(
                key, node, f"has no layer counterpart; a layer stack is a chain of {_LAYER_NODES}.", TypeError
            )
    succ = {key: [] for key in nodes}
    pred = {key: [] for key in nodes}
    for src, dst in graph.edges:
        for end in (src, dst):
            if end not in nodes:
                raise ValueError(f"NIR edge ({src!r}, {dst!r}) names an unknown node `{end}`.")
        succ[src].append(dst)
        pred[dst].append(src)
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"a layer stack has one Input node; the graph has {inputs}.")

    def loop(neuron: str, start: str) -> list[str] | None:
        keys, at = [], start
        while isinstance(nodes[at], _WEIGHTS) and len(succ[at]) == 1 and at not in keys:
            keys.append(at)
            at = succ[at][0]
        return keys if at == neuron and keys else None

    order, recurrent, at = [inputs[0]], {}, inputs[0]
    while not isinstance(nodes[at], nir.Output):
        forward = list(succ[at])
        if isinstance(nodes[at], _SPIKING):
            for s in list(forward):
                keys = loop(at, s)
                if keys is not None:
                    if at in recurrent:
                        _refuse(
                            at,
                            nodes[at],
                            "has more than one recurrent loop; a layer has one recurrent matrix.",
                        )
                    recurrent[at] = keys
                    forward.remove(s)
        if len(forward) != 1:
            what = "ends without reaching an Output" if not forward else f"branches into {forward}"
            _refuse(at, nodes[at], f"{what}; a layer stack is a single chain ({_LAYER_NODES}).")
        nxt = forward[0]
        looping = (
            {k for s in succ[nxt] for k in (loop(nxt, s) or [])}
            if isinstance(nodes[nxt], _SPIKING)
            else set()
        )
        others = [p for p in pred[nxt] if p != at and p not in looping]
        if others or nxt in order:
            _refuse(
                nxt, nodes[nxt], f"receives from {sorted(set(pred[nxt]))}; a layer stack is a single chain."
            )
        if isinstance(nodes[at], nir.LI) and not isinstance(nodes[nxt], nir.Output):
            _refuse(at, nodes[at], "an LI (the `LeakyReadout`) must feed the Output directly.")
        if isinstance(nodes[nxt], nir.Output) and isinstance(nodes[at], _WEIGHTS):
            _refuse(
                nxt,
                nodes[nxt],
                f"reads `{at}`, a weight node; an Output must read a LIF, CubaLIF or LI node.",
            )
        order.append(nxt)
        at = nxt
    looped = {k for keys in recurrent.values() for k in keys}
    stray = sorted(set(nodes) - set(order) - looped)
    if stray:
        _refuse(stray[0], nodes[stray[0]], "is not on the chain from the Input to the Output.")
    return order, recurrent


def _readout(graph, key: str, chain: list[str], n_in: int, dt: float) -> LeakyReadout:
    """The `LeakyReadout` of NIR LI `key` fed through the weight nodes `chain` (inverts
    `layers_to_nir_graph`): $W = 1000 f R\\,W_\\mathrm{NIR} / \\Delta t$,
    $b = R b_\\mathrm{NIR} + v_\\mathrm{leak}$."""
    node = graph.nodes[key]
    tau = _vector(key, node, "tau")
    if tau.size == 0 or np.any(tau <= 0) or np.any(tau != tau[0]):
        _refuse(
            key,
            node,
            f"`tau` must be > 0 and the same for every neuron (a `LeakyReadout` has one); got {tau}.",
        )
    n = tau.size
    r = np.broadcast_to(_vector(key, node, "r"), (n,))
    if np.any(r <= 0):
        _refuse(key, node, "`r` must be > 0.")
    v_leak = np.broadcast_to(_vector(key, node, "v_leak"), (n,))
    weight, bias = np.eye(n_in), np.zeros(n_in)
    for k in chain:
        t = graph.nodes[k]
        if isinstance(t, nir.Scale):
            scale = np.broadcast_to(_vector(k, t, "scale"), (weight.shape[0],))
            weight, bias = scale[:, None] * weight, scale * bias
        else:
            matrix = np.asarray(t.weight, dtype=np.float64)
            if matrix.ndim != 2 or matrix.shape[1] != weight.shape[0]:
                _refuse(
                    k, t, f"weight of shape {matrix.shape} cannot take a signal of size {weight.shape[0]}."
                )
            weight, bias = matrix @ weight, matrix @ bias
            if isinstance(t, nir.Affine):
                bias = bias + _vector(k, t, "bias")
    if weight.shape[0] != n:
        _refuse(key, node, f"has {n} neurons but receives a signal of size {weight.shape[0]}.")
    tau_ms = float(tau[0]) * MS_PER_SECOND
    dtype = jnp.result_type(float)
    layer = LeakyReadout(n_in, n, key=jr.key(0), tau=tau_ms, dt=dt, dtype=dtype)
    w = (weight * r[:, None]).T / _readout_scale(dt, tau_ms)  # (n_in, n_out)
    return eqx.tree_at(
        lambda m: (m.weights, m.bias), layer, (jnp.asarray(w, dtype), jnp.asarray(r * bias + v_leak, dtype))
    )


def layers_from_nir_graph(graph, *, dt) -> Sequential:
    """See `brainsim.io.nir.layers_from_nir`."""
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"`graph` must be a `nir.NIRGraph`; got {type(graph).__name__}.")
    dt = check_dt(dt)
    order, recurrent = _chain(graph)
    neurons = [k for k in order if isinstance(graph.nodes[k], _SPIKING | nir.LI)]
    if not neurons:
        raise ValueError("the chain has no LIF, CubaLIF or LI node; a layer stack needs at least one layer.")
    spiking = [k for k in neurons if isinstance(graph.nodes[k], _SPIKING)]
    layers = []
    n_in = int(np.asarray(graph.nodes[order[0]].input_type["input"]).reshape(-1)[0])
    if spiking:
        last = order.index(spiking[-1])
        keep = set(order[: last + 1]) | {k for s in spiking for k in recurrent.get(s, [])}
        sub = nir.NIRGraph(
            nodes={k: graph.nodes[k] for k in keep},
            edges=[(a, b) for a, b in graph.edges if a in keep and b in keep],
            type_check=False,
        )
        network = from_nir_graph(sub, dt=dt, input_kind="spikes")
        if network.inputs:
            key = network.inputs[0].target
            affine = [k for k in order[: order.index(key)] if isinstance(graph.nodes[k], nir.Affine)]
            where = f"`{affine[-1]}` (Affine) into " if affine else ""
            _refuse(
                key, graph.nodes[key],
                f"receives a non-zero bias from {where}it; a `RecurrentSpikingLayer` has no bias: fold it "
                "into `v_leak` (LIF) or import the graph as a `Network`.",
            )  # fmt: skip
        pre = order[0]
        for key in spiking:
            into = [p for p in network.projections if p.post == key and p.pre == pre]
            loop = [p for p in network.projections if p.post == key and p.pre == key]
            model = network.population(key).neuron
            layer = RecurrentSpikingLayer(
                to_dense(into[0].connectivity),
                to_dense(loop[0].connectivity) if loop else None,
                model,
                into[0].synapse,
                CUBA(),
                dt,
            )
            rest_state(model, layer.n_out, jnp.result_type(float))  # a model layers can start
            layers.append(layer)
            pre = key
        n_in = layers[-1].n_out
    if isinstance(graph.nodes[neurons[-1]], nir.LI):
        key = neurons[-1]
        start = order.index(spiking[-1]) + 1 if spiking else 1
        layers.append(_readout(graph, key, order[start : order.index(key)], n_in, dt))
    return Sequential(layers)
