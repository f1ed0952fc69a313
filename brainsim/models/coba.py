"""The Brette et al. (2007) benchmark networks 1 (COBA) and 2 (CUBA), after Vogels & Abbott (2005).

The parameter values are those the benchmarks and their Brian2/BrainPy/NEST versions use: 80%
excitatory / 20% inhibitory LIF neurons, $C = 200$ pF, $g_L = 10$ nS ($\\tau_m = 20$ ms),
refractory 5 ms with $v$ clamped, initial $v$ uniform in $[-60, -50)$ mV, synapses at rest,
one-step spike-to-synapse latency, exponential Euler. **One convention differs from Brian2:** the
5 ms are counted from the end of the step that spiked (`t_ref / dt` = 50 held steps at 0.1 ms, as
NEST), while Brian2's `refractory=5*ms` holds 49 (see `LIF`'s refractory convention). The same
parameters therefore give brainsim neurons a refractory period one step longer, and COBA rates
about 0.9 Hz below Brian2's at `dt` = 0.1 ms. To reproduce Brian2, build the network with
`excitatory_inhibitory_network(..., neuron=LIF(..., t_ref=5.0 - dt))`.

??? cite "References"
    ```bibtex
    @article{vogels2005,
      author = {Vogels, Tim P. and Abbott, L. F.},
      title = {Signal propagation and logic gating in networks of integrate-and-fire neurons},
      journal = {J. Neurosci.}, volume = {25}, number = {46}, pages = {10786--10795}, year = {2005}}
    @article{brette2007,
      author = {Brette, Romain and others},
      title = {Simulation of networks of spiking neurons: a review of tools and strategies},
      journal = {J. Comput. Neurosci.}, volume = {23}, pages = {349--398}, year = {2007}}
    ```
"""

from jaxtyping import PRNGKeyArray

from .._validation import require_in_range, require_positive_int
from ..connect import FixedInDegree, FixedProbability
from ..connect._keys import fold_in
from ..dynamics import (
    COBA as COBAOutput,
    CUBA as CUBAOutput,
    LIF,
    ConstantCurrent,
    ExponentialSynapse,
)
from ..network import Network, Population, Projection
from ..ops import Procedural

EXCITATORY_FRACTION = 0.8


def excitatory_inhibitory_network(
    n: int,
    *,
    key: PRNGKeyArray,
    p: float,
    in_degree: int | None,
    neuron,
    weights: dict[str, float],
    outputs: dict,
    drive: float | None = None,
    initial_synapse_state=None,
    procedural: bool = False,
    plasticity: dict | None = None,
) -> Network:
    """The benchmarks' common skeleton: populations `"E"` (80%) and `"I"` (20%) of `neuron`;
    projections E->E, E->I, I->E, I->I through exponential synapses (5 ms from E, 10 ms from I)
    with fixed probability `p`, or a fixed in-degree split 80/20 between E and I sources
    (`in_degree` inputs per neuron, weights unchanged); optional constant `drive` (pA) to both.

    `initial_synapse_state(index, pre, n_post)`, if given, returns projection `index`'s
    synapse state at t = 0. With `procedural=True` the synapses are regenerated from seeds
    (`Procedural`, O(1) memory; each neuron projects to `in_degree * n_post / n` targets, so
    the mean in-degree is `in_degree`, 80% from E) instead of stored. `plasticity` maps
    projection names (`"E->E"`, ...) to plasticity rules (see `Projection.plasticity`).
    """
    n_exc, n_inh = _sizes(n, p, in_degree)
    sizes = {"E": n_exc, "I": n_inh}
    if procedural:
        if in_degree is None:
            raise ValueError("`procedural=True` needs `in_degree` (the mean inputs per neuron).")
        rules = {
            (src, dst): Procedural(
                fold_in(key, index),  # = jax.random.fold_in, computed on the host
                sizes[src],
                sizes[dst],
                degree=round(in_degree * sizes[dst] / n),
                weight=weights[src],
            )
            for index, (src, dst) in enumerate((s, d) for s in sizes for d in sizes)
        }
    elif in_degree is None:
        rules = {src: FixedProbability(p, weight=weights[src]) for src in sizes}
    else:
        k_exc = round(EXCITATORY_FRACTION * in_degree)
        rules = {
            "E": FixedInDegree(min(k_exc, n_exc), weight=weights["E"]),
            "I": FixedInDegree(min(in_degree - k_exc, n_inh), weight=weights["I"]),
        }
    synapses = {"E": ExponentialSynapse(tau=5.0), "I": ExponentialSynapse(tau=10.0)}
    pairs = [(src, dst) for src in sizes for dst in sizes]
    plasticity = {} if plasticity is None else dict(plasticity)
    unknown = sorted(set(plasticity) - {f"{src}->{dst}" for src, dst in pairs})
    if unknown:
        raise ValueError(f"`plasticity` names unknown projections {unknown}; known: E->E, E->I, I->E, I->I.")
    projections = [
        Projection(
            src,
            dst,
            rules[(src, dst)] if procedural else rules[src],
            synapses[src],
            outputs[src],
            initial_state=None
            if initial_synapse_state is None
            else initial_synapse_state(index, src, sizes[dst]),
            plasticity=plasticity.get(f"{src}->{dst}"),
        )
        for index, (src, dst) in enumerate(pairs)
    ]
    inputs = [] if drive is None else [ConstantCurrent(name, drive) for name in sizes]
    populations = [Population(name, size, neuron) for name, size in sizes.items()]
    return Network(populations, projections, inputs, key=key)


def _sizes(n: int, p: float, in_degree: int | None) -> tuple[int, int]:
    n = require_positive_int("n", n)
    if n < 5:
        raise ValueError(f"`n` must be >= 5 (80% E / 20% I); got {n}.")
    require_in_range("p", p, 0.0, 1.0)
    if in_degree is not None:
        require_positive_int("in_degree", in_degree)
    n_exc = round(EXCITATORY_FRACTION * n)
    return n_exc, n - n_exc


def COBANetwork(
    n: int = 4000,
    *,
    key: PRNGKeyArray,
    p: float = 0.02,
    in_degree: int | None = None,
    w_exc: float = 6.0,
    w_inh: float = 67.0,
    drive: float = 200.0,
    procedural: bool = False,
    plasticity: dict | None = None,
) -> Network:
    r"""Benchmark 1: conductance-based LIF E/I network.

    $$C \frac{dv}{dt} = g_L (E_L - v) + g_e (E_e - v) + g_i (E_i - v) + I_b, \qquad
    \tau_e \dot g_e = -g_e, \quad \tau_i \dot g_i = -g_i,$$
    $E_L = V_r = -60$ mV, $V_\theta = -50$ mV, $E_e = 0$ mV, $E_i = -80$ mV, $\tau_e = 5$ ms,
    $\tau_i = 10$ ms, $I_b = 200$ pA; a spike adds `w_exc` = 6 nS or `w_inh` = 67 nS.

    **Arguments:** `n` neurons (>= 5); `key` builds the connectivity; connection probability
    `p`, or `in_degree` inputs per neuron (80% from E) for scaling studies; weights in nS;
    `drive` in pA; `procedural=True` regenerates synapses from seeds (needs `in_degree`);
    `plasticity`: rules per projection name, e.g. `{"E->E": bs.PairSTDP(w_max=12.0)}`.
    **Returns:** a `Network` with populations `"E"` and `"I"`.
    """
    lif = LIF(c_m=200.0, g_leak=10.0, e_leak=-60.0, v_threshold=-50.0, v_reset=-60.0, t_ref=5.0)
    return excitatory_inhibitory_network(
        n,
        key=key,
        p=p,
        in_degree=in_degree,
        neuron=lif,
        weights={"E": w_exc, "I": w_inh},
        outputs={"E": COBAOutput(e_rev=0.0), "I": COBAOutput(e_rev=-80.0)},
        drive=drive,
        procedural=procedural,
        plasticity=plasticity,
    )


def CUBANetwork(
    n: int = 4000,
    *,
    key: PRNGKeyArray,
    p: float = 0.02,
    in_degree: int | None = None,
    w_exc: float = 16.2,
    w_inh: float = -90.0,
) -> Network:
    r"""Benchmark 2: current-based LIF E/I network (Brian2's `examples/CUBA.py`).

    $$C \frac{dv}{dt} = g_L (E_L - v) + I_e + I_i, \qquad \tau_e \dot I_e = -I_e,
    \quad \tau_i \dot I_i = -I_i,$$
    $E_L = -49$ mV, $V_\theta = -50$ mV, $V_r = -60$ mV, $\tau_e = 5$ ms, $\tau_i = 10$ ms.
    Brian2's voltage jumps $w_e = 1.62$ mV and $w_i = -9$ mV become currents through
    $g_L = 10$ nS: `w_exc` = 16.2 pA, `w_inh` = -90 pA.

    **Arguments:** as `COBA` (weights in pA). **Returns:** a `Network` with `"E"` and `"I"`.
    """
    lif = LIF(c_m=200.0, g_leak=10.0, e_leak=-49.0, v_threshold=-50.0, v_reset=-60.0, t_ref=5.0)
    return excitatory_inhibitory_network(
        n,
        key=key,
        p=p,
        in_degree=in_degree,
        neuron=lif,
        weights={"E": w_exc, "I": w_inh},
        outputs={"E": CUBAOutput(), "I": CUBAOutput()},
    )
