r"""Astrocyte-gated STDP (the mechanism of NALSM, Ivanov & Michmizos 2021): a slow astrocyte
integrates the excitatory population's activity and, through `bs.ScaleLearningRate`, sets the
sign and size of the E->E STDP update, so that a recurrent network self-organises to the edge
of its runaway transition, near-critical dynamics, from a sub- and from a supercritical start.

**Design**, from the NALSM code (combra-lab/NALSM, `NALSM_ASTRO.py`, `NALSM_STDP.py`): there the
astrocyte is a leaky integrator, $\tau_A \dot A = -A + w_A(\sum S_\mathrm{liquid} - \sum
S_\mathrm{input}) + b_A$, and $A$ is the *depression* learning rate of an STDP rule whose
potentiation rate is fixed, so the net drift of the weights changes sign where the liquid's
activity crosses a level set by the input activity and the bias. Here:

- the integrator is an `ExponentialSynapse(tau=TAU_A)` on an E -> A projection of weight
  $10^3/(N_E \tau_A)$, so its value is the mean E rate $\nu_E$ (Hz). The drive is a stationary
  `PoissonInput` (no source population): NALSM's input term is then a constant, folded into
  the target rate $\theta$;
- the astrocyte `A` is a `RateUnit` on a 5 ms clock (`every=10`) with a sigmoid,
  $r = 2/(1 + e^{-(\nu_E - \theta)/\sigma})$, a saturating form of NALSM's linear $A$; it starts
  at $r = 1$ (no learning until it has integrated activity);
- `ScaleLearningRate("A", "E->E", baseline=-1, gain=1)` multiplies every STDP change by
  $f = r - 1 \in (-1, 1)$. `PairSTDP` has $A_- \tau_- = 12 A_+ \tau_+$, so its drift under
  uncorrelated firing, $\propto (A_+\tau_+ - A_-\tau_-)\,\nu_\mathrm{pre}\nu_\mathrm{post}$, is
  depressing: above the target ($f > 0$) the gated rule depresses, below it ($f < 0$) the rule
  is inverted and potentiates. (brainsim's coupling scales potentiation and depression
  together where NALSM scales only depression; in both the drift changes sign at the target.)

**Network**: 300 LIF neurons ($\tau_m$ = 5 ms, $t_\mathrm{ref}$ = 20 ms), E -> E with
probability 0.05, 1 ms delay, CUBA exponential synapses ($\tau$ = 1 ms), Poisson drive
(~2.5 Hz alone), $dt$ = 0.5 ms. With frozen weights $w$ (pA) the branching ratio grows with $w$
(0.5-0.6 at 150, 0.8 at 200, 0.85-0.88 at 220-240) until the activity runs away (above ~260 pA:
20-40 Hz, locked to the refractory period).

**Branching ratio**: `bs.analysis.branching_ratio` (multistep regression, Wilting & Priesemann
2018; slopes $r_k$ for $k$ = 1..20 bins fitted by $b\,m^k$) on the population activity in 2 ms
bins (one generation: 1 ms delay plus the synaptic rise), over 3 s. A runaway network's
activity is locked to the refractory period; the MR fit of its oscillating $r_k$ gives $m$ near
0, far from 1 (it is not a branching process there), and the runaway is asserted on its rate.

**Measured** (key 2, the test's): frozen starts m = 0.52 (150 pA, 2.9 Hz) and 0.00 (320 pA,
32.8 Hz, runaway); after 6 s of gated STDP m = 0.84 and 0.88, 4.9 Hz, mean weights 199 and
192 pA; plain STDP ends at 44 and 67 pA, 2.4-2.5 Hz. With keys 3 and 4 the gated runs end at
4.9-5.0 Hz and 203-214 pA from both starts, with m = 0.75-0.84: the set point is robust, the
MR estimate over 3 s at 5 Hz scatters by about 0.05-0.1 (the band's lower edge, 0.75, is
tight). A higher target (6 Hz) did not raise m (0.70-0.84): in this network m stays below
~0.9 up to the runaway, so "near critical" here means the edge of the runaway transition.
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.neurons.rate import RateState
from brainsim.dynamics.plasticity import PairSTDP

DT = 0.5  # ms
N_E = 300
TAU_A = 200.0  # ms, the astrocyte's integration time
THETA, SIGMA = 5.0, 1.0  # Hz: target E rate and the gate's width
SUB, SUPER = 150.0, 320.0  # pA: initial E -> E weights
TRAIN, WINDOW = 6000.0, 3000.0  # ms: training, and the final window in which m is estimated


def _network(w_ee, rule):
    populations = [bs.Population("E", N_E, bs.LIF(c_m=50.0, t_ref=20.0))]
    projections = [
        bs.Projection(
            "E",
            "E",
            bs.FixedProbability(0.05, weight=w_ee, allow_self_connections=False),
            bs.ExponentialSynapse(tau=1.0),
            bs.CUBA(),
            delay_steps=2,
            plasticity=None if rule == "frozen" else _stdp(),
        )
    ]
    modulations = []
    if rule == "gated":
        astrocyte = bs.RateUnit(tau=20.0, r_max=2.0, theta=THETA, sigma=SIGMA)
        populations.append(bs.Population("A", 1, astrocyte, every=10, initial_state=RateState(r=jnp.ones(1))))
        projections.append(
            bs.Projection(
                "E",
                "A",
                bs.FixedProbability(1.0, weight=1e3 / (N_E * TAU_A)),  # value: mean E rate, Hz
                bs.ExponentialSynapse(tau=TAU_A),
                bs.CUBA(),
            )
        )
        modulations.append(bs.ScaleLearningRate("A", "E->E", baseline=-1.0, gain=1.0))
    drive = bs.PoissonInput("E", 10, 2.0, 900.0, bs.ExponentialSynapse(tau=1.0), bs.CUBA())
    return bs.Network(populations, projections, [drive], modulations=modulations, key=jr.key(0))


def _stdp():
    return PairSTDP(a_plus=15.0, a_minus=60.0, tau_plus=20.0, tau_minus=60.0, w_min=0.0, w_max=400.0)


def _measure(w_ee, rule, duration):
    """`(m, rate in Hz, mean weight)` over the last `WINDOW` ms of a run of `duration` ms."""
    result = bs.run(_network(w_ee, rule), duration, DT, key=jr.key(2))
    spikes = np.asarray(result.outputs["E"])[-int(WINDOW / DT) :]
    activity = spikes.reshape(-1, 4, N_E).sum(axis=(1, 2))  # 2 ms bins
    m = bs.analysis.branching_ratio(activity, k_max=20).m
    weights = result.final_state.projections["E->E"].weights
    w = float(np.mean(np.asarray(weights))) if weights is not None else w_ee
    return m, float(spikes.mean() / (DT * 1e-3)), w


@pytest.mark.slow  # six runs, 27 s of CPU
def test_astrocyte_gated_stdp_drives_both_starts_toward_criticality_and_plain_stdp_does_not():
    before = {w: _measure(w, "frozen", WINDOW) for w in (SUB, SUPER)}
    gated = {w: _measure(w, "gated", TRAIN) for w in (SUB, SUPER)}
    plain = {w: _measure(w, "plain", TRAIN) for w in (SUB, SUPER)}
    report = f"before {before}, gated {gated}, plain {plain}"
    assert before[SUB][0] < 0.7 and before[SUB][1] < 4.0, report  # subcritical start
    assert before[SUPER][1] > 15.0, report  # supercritical start: runaway
    for w0 in (SUB, SUPER):
        m_before, (m, rate, _) = before[w0][0], gated[w0]
        assert abs(m - 1.0) <= 0.5 * abs(m_before - 1.0), report
        assert 0.75 <= m <= 1.2, report
        assert THETA - 1.5 <= rate <= THETA + 1.5, report  # the astrocyte's set point
    assert abs(gated[SUB][2] - gated[SUPER][2]) < 0.15 * gated[SUB][2], report  # same fixed point
    # plain STDP (the same amplitudes, f = 1) depresses from both starts: the subcritical one
    # moves away from criticality
    for w0 in (SUB, SUPER):
        assert plain[w0][2] < 0.8 * w0, report
    assert plain[SUB][1] < before[SUB][1], report
