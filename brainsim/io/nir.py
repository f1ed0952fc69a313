r"""Export to and import from the Neuromorphic Intermediate Representation (NIR, `nir` package).

    graph = brainsim.io.nir.to_nir(network, dt=0.1)      # Network -> nir.NIRGraph
    network = brainsim.io.nir.from_nir(graph, dt=0.1)    # nir.NIRGraph -> Network

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
its key and type.

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
The layer API of the training issue does not exist yet; only `Network`s convert.
"""

import pathlib
from collections.abc import Sequence

import nir

from ..network import Network
from ._nir_export import to_nir_graph
from ._nir_import import InputKind, from_nir_graph
from ._nir_units import MS_PER_SECOND as MS_PER_SECOND


def to_nir(network: Network, *, dt: float, outputs: Sequence[str] | None = None) -> nir.NIRGraph:
    """A NIR graph with the same dynamics as `network` stepped at `dt`.

    **Arguments:**
    - `network`: a `bs.Network` of `LIF` (`t_ref = 0`), `IntegrateAndFire`, `ThresholdUnit`,
      `SpikeSource` and `ValueSource` populations, `CUBA` projections through
      `InstantaneousSynapse` or `ExponentialSynapse`, and `ConstantCurrent` inputs.
    - `dt`: the step (ms, > 0) the network is meant to run at: spike weights are scaled with it
      (see the module docstring) and delays are `(delay_steps - 1) * dt`.
    - `outputs`: population names to expose as `Output` nodes; default the spiking populations
      that project to no other population.

    **Returns:** a `nir.NIRGraph`: one node per population (its name as key), one `Linear` (or
    `Affine`) node per projection (its name), `Delay` nodes named `"<projection>:delay"`. It is
    built with `type_check=False`, so a network without data sources needs no invented `Input`.

    **Raises:** `TypeError`/`ValueError` naming the population, projection or input that NIR
    cannot express.
    """
    return to_nir_graph(network, dt=dt, outputs=outputs)


def from_nir(
    graph: nir.NIRGraph, *, dt: float, input_kind: InputKind | dict[str, InputKind] = "spikes"
) -> Network:
    """A `bs.Network` simulating `graph` at step `dt`.

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
    return from_nir_graph(graph, dt=dt, input_kind=input_kind)


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
