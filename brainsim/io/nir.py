r"""Export to and import from the Neuromorphic Intermediate Representation (NIR, `nir` package).

    graph = brainsim.io.nir.to_nir(network, dt=0.1)      # Network -> nir.NIRGraph
    network = brainsim.io.nir.from_nir(graph, dt=0.1)    # nir.NIRGraph -> Network
    graph = brainsim.io.nir.to_nir(layers, dt=1.0)       # brainsim.train layer stack -> nir.NIRGraph
    layers = brainsim.io.nir.layers_from_nir(graph, dt=1.0)  # chain nir.NIRGraph -> Sequential

**Semantics.** NIR declares continuous-time dynamics; a spike is a Dirac pulse of area 1. A
`Linear`/`Affine`/`Scale` chain between two neuron (or `Input`) nodes is one `Projection`; its
weight matrix $W$ (NIR's `(out, in)`) becomes the connectivity (brainsim's `(pre, post)`:
$W^\top$), `Dense`, or `CSR` when under half of the entries are non-zero or delays differ per
synapse. `Delay` nodes become `delay_steps` $= 1 + \tau_d / \Delta t$: a spike is time-stamped at
the end of the step that crossed threshold and a projection with `delay_steps = 1` acts from the
start of the next step, i.e. at the same instant, so one step is NIR's zero delay.

| NIR node | brainsim |
|---|---|
| `Input` | `Population` of `SpikeSource` (default) or `ValueSource` (`input_kind`) |
| `LIF` | `LIF(c_m=1000 tau/R, g_leak=1/R, e_leak=v_leak, t_ref=0)`, `InstantaneousSynapse` inputs |
| `CubaLIF` | the same `LIF`, `ExponentialSynapse(tau=1000 tau_syn)` inputs |
| `IF`: $\dot v = R I$ | `IntegrateAndFire(c_m = 1000 / R)` |
| `Threshold`: $z = H(x - \theta)$ | `ThresholdUnit(threshold = theta)` |
| `Linear`, `Affine`, `Scale` | the connectivity's weights; an `Affine` bias becomes a `ConstantCurrent` |
| `Delay` | `delay_steps` (homogeneous) or per-synapse delays |
| `Output` | nothing: read the population it names (`result.outputs[key]`) |

NIR's LIF is $\tau \dot v = (v_\mathrm{leak} - v) + R I$, a spike when $v > v_\mathrm{threshold}$,
then $v \leftarrow v_\mathrm{reset}$; a CubaLIF filters its input first,
$\tau_\mathrm{syn} \dot I = -I + w_\mathrm{in} S$; an IF is $\dot v = R I$ with the same threshold
and reset; an `Affine` node is $W x + b$, summed over all edges into a node.

Population and projection names are the NIR node keys. Every other node (`Conv1d`, `Conv2d`,
`Flatten`, `SumPool2d`, `AvgPool2d`, `LI`, `I`, `CubaLI`, subgraphs) raises a `TypeError` naming
its key and type (an `LI` readout converts to a layer stack's `LeakyReadout`, below).

**Units.** NIR times are seconds; brainsim's are ms (`x 1000`). NIR leaves voltage, current and
resistance in one unspecified consistent system, which brainsim reads as mV, pA and G$\Omega$
(= mV/pA = 1/nS), so those numbers are kept as they are. A weight on a spike is then a charge of
$w$ pA s = $1000 w$ pA ms. Into an `LIF` it moves $v$ by $R w / \tau$ at once; brainsim delivers
it as a current held over one step, $I = f\,1000 w / \Delta t$ with $f = x / (e^x - 1)$,
$x = \Delta t / \tau_m$, so that $v$ at every step end equals the exact jump followed by the
exact decay. Into a `CubaLIF` it moves $I$ by $w_\mathrm{in} w / \tau_\mathrm{syn}$ (the
`ExponentialSynapse` weight); the membrane then sees $I$ at the start of each step, an
$O(\Delta t / \tau_\mathrm{syn})$ approximation. Values from a `ValueSource` are currents (pA)
held over the step (exact for `LIF`).

**Initial state.** NIR specifies none; imported neurons start at $v = 0$ and $I = 0$ (as NIR's
reference simulations do), so an Affine bias into a CubaLIF rises as
$w_\mathrm{in} b (1 - e^{-t/\tau_\mathrm{syn}})$: a `ConstantCurrent` $w_\mathrm{in} b$ plus the
first incoming projection's synapse starting at $-w_\mathrm{in} b$.

**Export** (`to_nir`) inverts every rule above; it needs `t_ref = 0`, `CUBA` outputs, one synapse
type per population (all `ExponentialSynapse`s into a population with the same `tau`: a
CubaLIF), `ConstantCurrent` as the only external input, and per-synapse delays that are uniform
per presynaptic or per postsynaptic neuron. A `ConstantCurrent` becomes the bias of the first
projection into its population (or a shift of `v_leak` when there is none, or when it does not
pass through a CubaLIF's synapse). Initial states, solvers and surrogates are not part of NIR.

**Layer stacks** (`brainsim.train`). A `RecurrentSpikingLayer` is a population fed by one
projection (and a recurrent one) and converts through the same LIF/CubaLIF rules, its weights
as the projection's; a `LeakyReadout` $\tau \dot u = -u + x W + b$ is NIR's
`LI` $\tau \dot v = (v_\mathrm{leak} - v) + R I$ with $R = 1$, $v_\mathrm{leak} = 0$ and an
`Affine` bias $b$: its output $u$ is in the units of the LI's $v$. Timing: row $t$ of a layer's
input acts in step $t$, so it is a Dirac at $t\,\Delta t$ (the start of the step), and a layer's
weight $W$ on a spike is the NIR weight $W \Delta t / (1000 f)$, $f$ as above with $\tau$ the
layer's membrane (LIF) or readout time constant (over $R$ for LI), or $W \tau_\mathrm{syn}/1000$
into a CubaLIF. A spike emitted in step $t$ (at $(t+1)\Delta t$) reaches the next layer in the
same step $t$ (one step earlier than NIR's zero delay: each layer of a stack runs one step ahead
of the `Network` imported from the same graph, `from_nir`), and its own recurrent input in step
$t+1$ (as a `Network`). Layers start at rest ($v = v_\mathrm{leak}$, $u = 0$). A chain with a
`Delay`, a branch, a bias into a spiking layer, an `IF`, `Threshold`, convolution or other node
raises an error naming it; `ALIF`, `COBA` and other synapses do not export.
"""

import pathlib
from collections.abc import Sequence

import nir

from ..network import Network
from ._nir_export import to_nir_graph
from ._nir_import import InputKind, from_nir_graph
from ._nir_units import MS_PER_SECOND as MS_PER_SECOND


def to_nir(model, *, dt: float, outputs: Sequence[str] | None = None) -> nir.NIRGraph:
    """A NIR graph with the same dynamics as `model` (a `Network` or a layer stack) stepped at `dt`.

    **Arguments:**
    - `model`: a `bs.Network` of `LIF` (`t_ref = 0`), `IntegrateAndFire`, `ThresholdUnit`,
      `SpikeSource` and `ValueSource` populations, `CUBA` projections through
      `InstantaneousSynapse` or `ExponentialSynapse`, and `ConstantCurrent` inputs; or a
      `brainsim.train` layer stack: a `Sequential` (or a single layer) of `RecurrentSpikingLayer`s
      (`LIF` with `t_ref = 0`, `CUBA`, either synapse) and optionally a final `LeakyReadout`
      (see "Layer stacks" in the module docstring).
    - `dt`: the step (ms, > 0) the model is meant to run at: spike weights are scaled with it
      (see the module docstring) and delays are `(delay_steps - 1) * dt`; a layer's own `dt`
      must equal it.
    - `outputs`: population names to expose as `Output` nodes; default the spiking populations
      that project to no other population (`Network`s only; a layer stack's Output is its last
      layer).

    **Returns:** a `nir.NIRGraph`: one node per population (its name as key), one `Linear` (or
    `Affine`) node per projection (its name), `Delay` nodes named `"<projection>:delay"`. It is
    built with `type_check=False`, so a network without data sources needs no invented `Input`.
    A layer stack gives `input -> layer0_weights -> layer0 (-> layer0_recurrent -> layer0) ->
    ... -> output`.

    **Raises:** `TypeError`/`ValueError` naming the population, projection, input or layer that
    NIR cannot express.
    """
    if isinstance(model, Network):
        return to_nir_graph(model, dt=dt, outputs=outputs)
    from ..train.layers import AbstractLayer  # lazily: brainsim.train is a lazy subpackage

    if isinstance(model, AbstractLayer):
        if outputs is not None:
            raise ValueError("`outputs` applies to `Network`s; a layer stack's Output is its last layer.")
        from ._nir_layers import layers_to_nir_graph

        return layers_to_nir_graph(model, dt=dt)
    raise TypeError(
        f"`model` must be a `bs.Network` or a `brainsim.train` layer stack; got {type(model).__name__}."
    )


def from_nir(
    graph: nir.NIRGraph,
    *,
    dt: float,
    input_kind: InputKind | dict[str, InputKind] = "spikes",
    as_layers: bool = False,
):
    """A `bs.Network` simulating `graph` at step `dt` (or, with `as_layers=True`, the layer stack
    `layers_from_nir(graph, dt=dt)`).

    **Arguments:**
    - `graph`: a flat `nir.NIRGraph` of the supported nodes (see the module docstring).
    - `dt`: the step (ms, > 0) the network will run at; every `Delay` must be a whole number of
      steps (checked here, before anything compiles).
    - `input_kind`: what each `Input` carries: `"spikes"` (0/1 per step, row `k` a spike at
      $(k + 1)\\Delta t$) or `"values"` (a current held over a step); one kind for all, or a
      dict per Input key (unnamed Inputs take `"spikes"`).

    **Returns:** a `Network` whose populations and projections are named by the graph's node
    keys; feed `run(..., inputs={input_key: array (n_steps, n)})`.

    **Raises:** `TypeError` naming the key and type of a node brainsim cannot represent;
    `ValueError` naming the node for parameters out of range, mismatched shapes, or a delay that
    is not a whole number of steps, and naming `dt` for a bad step.
    """
    if as_layers:
        if input_kind != "spikes":
            raise ValueError("`input_kind` applies to `Network`s; a layer stack's Input carries spikes.")
        return layers_from_nir(graph, dt=dt)
    return from_nir_graph(graph, dt=dt, input_kind=input_kind)


def layers_from_nir(graph: nir.NIRGraph, *, dt: float):
    """A `brainsim.train.Sequential` simulating the chain `graph` at step `dt` (see "Layer stacks"
    in the module docstring).

    **Arguments:**
    - `graph`: a chain `Input -> (Linear/Affine/Scale -> LIF or CubaLIF, each optionally with a
      recurrent `Linear` self-loop) ... -> (Linear/Affine/Scale -> LI) -> Output`.
    - `dt`: the step (ms, > 0) every layer gets.

    **Returns:** `Sequential` of `RecurrentSpikingLayer`s (`bs.LIF`, `InstantaneousSynapse` for
    LIF, `ExponentialSynapse` for CubaLIF, `CUBA`) and, for an `LI` node, a final `LeakyReadout`;
    call it on `(T, batch, n_in)` spikes.

    **Raises:** `TypeError` naming a node a layer cannot represent (`Conv2d`, `IF`, ...);
    `ValueError` naming a `Delay`, a branch or merge, a bias into a spiking layer, or an LI
    whose `tau` differs per neuron.
    """
    from ._nir_layers import layers_from_nir_graph  # lazily: it imports brainsim.train

    return layers_from_nir_graph(graph, dt=dt)


def write(
    network: Network, path: str | pathlib.Path, *, dt: float, outputs: Sequence[str] | None = None
) -> None:
    """`to_nir(network, dt=dt, outputs=outputs)` written to `path` (HDF5, `nir.write`)."""
    nir.write(path, to_nir(network, dt=dt, outputs=outputs))


def read(
    path: str | pathlib.Path, *, dt: float, input_kind: InputKind | dict[str, InputKind] = "spikes"
) -> Network:
    """`from_nir` of the graph in `path` (`nir.read` without its type inference, which would add
    `Input` nodes in front of neurons that have no input)."""
    return from_nir(nir.read(path, type_check=False), dt=dt, input_kind=input_kind)
