"""Writes plasticity_astrocytes.ipynb (kept as code so the notebook stays reviewable).
Run: python make_plasticity_astrocytes.py"""

import nbformat as nbf

cells = [
    ("md", r"""# Plasticity and astrocytes

Five experiments, each checked against a fact it must reproduce: the pair-STDP window, the
triplet rule's frequency dependence, short-term depression and facilitation, Li-Rinzel calcium
oscillations, and an astrocyte that gates STDP so that a recurrent network organises itself near
criticality (NALSM). Units: ms, mV, pA, pF, Hz; astrocyte concentrations in µM. The sizes in the
`parameters` cell are small so that the test suite runs this notebook quickly."""),
    ("code_parameters", """# Small sizes, so that the test suite runs this notebook quickly.
# For smoother figures use N_E = 1000 (keeping the out-degree) and TRAIN = 10_000.0.
N_E = 300  # neurons of the self-organising network
TRAIN = 4000.0  # ms of STDP training (gated and plain)"""),
    ("code", """import diffrax
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np

import brainsim as bs
from brainsim.dynamics.astrocytes import LiRinzel
from brainsim.dynamics.neurons.rate import RateState
from brainsim.dynamics.plasticity import PairSTDP, TripletSTDP, TsodyksMarkram"""),
    ("md", r"""## 1. The pair-STDP window

Each synapse keeps two traces, $\tau_+ \dot x_i = -x_i$ (presynaptic) and $\tau_- \dot y_j = -y_j$
(postsynaptic), each incremented by a spike. A presynaptic arrival depresses by $A_- y_j$, a
postsynaptic spike potentiates by $A_+ x_i$, so one pairing at $\Delta t = t_\mathrm{post} -
t_\mathrm{pre}$ changes the weight by

$$\Delta w = A_+ e^{-\Delta t/\tau_+}\ (\Delta t \ge 0), \qquad
\Delta w = -A_- e^{\Delta t/\tau_-}\ (\Delta t < 0).$$

Protocol: `k` presynaptic spike sources, each paired with one LIF neuron that a current kick makes
fire once, at a lag from $-50$ to $+50$ ms. The weights are too small to move the neurons, so the
weight change is the rule's alone; traces decay exactly, so it must equal the window."""),
    ("code", """DT = 0.1  # ms
rule = PairSTDP(a_plus=0.01, a_minus=0.012, tau_plus=16.8, tau_minus=33.7)  # Bi & Poo's time constants
delay, post_step, n_steps = 2, 600, 1400
lags = np.arange(-500, 501, 25)  # steps, t_post - t_arrival
k = len(lags)
pre = np.zeros((n_steps, k), np.float32)
pre[post_step - lags - delay, np.arange(k)] = 1.0
kick = np.zeros((n_steps, k), np.float32)
kick[post_step] = 1e5  # pA: crosses threshold within the step
pairing = bs.Network(
    [bs.Population("pre", k, bs.SpikeSource()), bs.Population("post", k, bs.LIF(t_ref=500.0))],
    [bs.Projection("pre", "post", bs.OneToOne(weight=0.5), bs.ExponentialSynapse(tau=5.0), bs.CUBA(),
                   delay_steps=delay, plasticity=rule)],
    [bs.StreamedCurrent("post", "kick")],
)
inputs = {"pre": jnp.asarray(pre), "kick": jnp.asarray(kick)}
result = bs.run(pairing, n_steps * DT, DT, key=jr.key(0), inputs=inputs)
dw = np.asarray(result.final_state.projections["pre->post"].weights).ravel() - 0.5
lag_ms = lags * DT
window = np.where(lag_ms >= 0, 0.01 * np.exp(-lag_ms / 16.8), -0.012 * np.exp(lag_ms / 33.7))
np.testing.assert_allclose(dw, window, rtol=2e-4, atol=2e-7)
fig, ax = plt.subplots(figsize=(5, 3))
t = np.linspace(-50, 50, 401)
ax.plot(t, np.where(t >= 0, 0.01 * np.exp(-t / 16.8), -0.012 * np.exp(t / 33.7)), "k-", lw=1, label="window")
ax.plot(lag_ms, dw, "o", ms=4, label="brainsim")
ax.axhline(0, color="0.7", lw=0.5)
ax.set(xlabel="t_post - t_pre (ms)", ylabel="Δw", title="pair-STDP window")
ax.legend();"""),
    ("md", r"""## 2. The triplet rule: frequency dependence

Pair STDP cannot explain why, in visual cortex, pairings at $\Delta t = -10$ ms depress at low
frequency but potentiate at high frequency (Sjöström et al. 2001). Pfister & Gerstner (2006) add
slow traces $r_2$ ($\tau_x$) and $o_2$ ($\tau_y$): a postsynaptic spike potentiates by
$r_1 (A_2^+ + A_3^+ o_2)$, a presynaptic one depresses by $o_1 (A_2^- + A_3^- r_2)$. Protocol:
60 pairings at $\pm 10$ ms and 5-50 Hz with `TripletSTDP.visual_cortex()` (their all-to-all fit).
Checked: post-before-pre depresses at 5-20 Hz and potentiates at 50 Hz; pre-before-post grows
with frequency."""),
    ("code", """dt, n_pairs, lag = 1.0, 60, 10
frequencies = np.array([5.0, 10.0, 20.0, 30.0, 40.0, 50.0])
periods = np.round(1000.0 / frequencies).astype(int)  # steps
n_steps = int(periods.max() * n_pairs + 50)
nf = len(frequencies)
pre = np.zeros((n_steps, 2 * nf), np.float32)
kick = np.zeros((n_steps, 2 * nf), np.float32)
for column in range(2 * nf):
    first = 20 + np.arange(n_pairs) * periods[column % nf]
    arrival, post_at = (first, first + lag) if column < nf else (first + lag, first)
    pre[arrival - 1, column] = 1.0  # arrives one step later
    kick[post_at, column] = 1e5
triplet = bs.Network(
    [bs.Population("pre", 2 * nf, bs.SpikeSource()), bs.Population("post", 2 * nf, bs.LIF(t_ref=2.0))],
    [bs.Projection("pre", "post", bs.OneToOne(weight=0.5), bs.ExponentialSynapse(), bs.CUBA(),
                   plasticity=TripletSTDP.visual_cortex("all", w_min=-1.0, w_max=2.0))],
    [bs.StreamedCurrent("post", "kick")],
)
result = bs.run(triplet, n_steps * dt, dt, key=jr.key(0), record=("post",),
                inputs={"pre": jnp.asarray(pre), "kick": jnp.asarray(kick)})
dw = np.asarray(result.final_state.projections["pre->post"].weights).ravel() - 0.5
pre_post, post_pre = dw[:nf], dw[nf:]
assert np.all(post_pre[frequencies <= 20] < 0) and post_pre[-1] > 0
assert np.all(np.diff(pre_post) > 0)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(frequencies, 100 * pre_post / 0.5, "o-", label="Δt = +10 ms")
ax.plot(frequencies, 100 * post_pre / 0.5, "s-", label="Δt = -10 ms")
ax.axhline(0, color="0.7", lw=0.5)
ax.set(xlabel="pairing frequency (Hz)", ylabel="Δw (% of w = 0.5)", title="triplet STDP, 60 pairings")
ax.legend();"""),
    ("md", r"""## 3. Short-term plasticity: depression and facilitation

Tsodyks-Markram: resources $x$ recover, $\tau_d \dot x = 1 - x$; utilisation $u$ decays,
$\tau_f \dot u = -u$. At a spike $u \leftarrow u + U(1 - u)$, the synapse releases $w\,u\,x$, then
$x \leftarrow x - u x$. Large $U$ with slow recovery depresses; small $U$ with slow decay of $u$
facilitates. A 20 Hz train drives one depressing and one facilitating synapse; each is delivered
twice, into an `ExponentialSynapse` of 10 ms (the trace plotted) and into one that does not decay,
whose jumps are the released amounts, checked against the recursion between spikes."""),
    ("code", """DT, n_steps, interval, w = 0.1, 5000, 500, 1.0  # 20 Hz for 500 ms
kinds = {"depressing": TsodyksMarkram(U=0.5, tau_d=400.0, tau_f=10.0),
         "facilitating": TsodyksMarkram(U=0.1, tau_d=50.0, tau_f=500.0)}
projections = []
for name, stp in kinds.items():
    for suffix, tau in (("", 10.0), ("_jumps", 1e12)):
        projections.append(bs.Projection("pre", f"post_{name}{suffix}", bs.OneToOne(weight=w),
                                         bs.ExponentialSynapse(tau=tau), bs.CUBA(), short_term=stp))
populations = [bs.Population("pre", 1, bs.SpikeSource())] + [
    bs.Population(p.post, 1, bs.LIF(v_threshold=1e3)) for p in projections]  # never fire
stp_net = bs.Network(populations, projections)
spikes = np.zeros((n_steps, 1), np.float32)
spikes[::interval] = 1.0
monitors = [bs.Monitor(p.name, lambda s, n=p.name: s.projections[n].synapse.g[0]) for p in projections]
result = bs.run(stp_net, n_steps * DT, DT, key=jr.key(0), inputs={"pre": jnp.asarray(spikes)},
                monitors=monitors)
fig, ax = plt.subplots(figsize=(6, 3))
t = np.arange(n_steps) * DT
released = {}
for name, stp in kinds.items():
    g = np.asarray(result.traces[f"pre->post_{name}_jumps"], np.float64)[np.arange(0, n_steps, interval)]
    released[name] = np.diff(g)
    u, x, want, T = 0.0, 1.0, [], interval * DT
    for _ in range(len(released[name])):
        u = u + stp.U * (1 - u)
        want.append(w * u * x)
        x = x - u * x
        u, x = u * np.exp(-T / stp.tau_f), 1 - (1 - x) * np.exp(-T / stp.tau_d)
    np.testing.assert_allclose(released[name], want, rtol=1e-4)
    ax.plot(t, np.asarray(result.traces[f"pre->post_{name}"]), label=name)
assert released["depressing"][-1] < 0.5 * released["depressing"][0]
assert released["facilitating"][-1] > 2.0 * released["facilitating"][0]
ax.set(xlabel="time (ms)", ylabel="synaptic current (pA)", title="Tsodyks-Markram, 20 Hz train")
ax.legend();"""),
    ("md", r"""## 4. Li-Rinzel calcium oscillations

With IP$_3$ clamped at $I_0$ (`LiRinzel(ip3_fixed=I0)`), the astrocyte is the two-variable Li-Rinzel
model of Ca$^{2+}$-induced Ca$^{2+}$ release from the ER (fluxes in µM/s):

$$\frac{dC}{dt} = \Omega_C m_\infty^3 h^3 (C_T - (1+\rho_A) C) + \Omega_L (C_T - (1+\rho_A) C) -{}
 O_P \frac{C^2}{C^2 + K_P^2},
\qquad \frac{dh}{dt} = O_2 (Q_2 + C)(h_\infty - h),$$

$m_\infty = \frac{I_0}{I_0 + d_1}\frac{C}{C + d_5}$, $h_\infty = Q_2/(Q_2 + C)$,
$Q_2 = d_2 (I_0 + d_1)/(I_0 + d_3)$. Its equilibrium is unstable between two Hopf bifurcations,
$I_0 \approx$ 0.35 and 0.64 µM: Ca$^{2+}$ oscillates (period ~11 s at 0.5 µM) inside the window and
settles outside it. Checked on the last 30 s of a 60 s run (Tsit5, $dt$ = 10 ms)."""),
    ("code", """levels = jnp.array([0.2, 0.5, 1.0])  # µM of IP3: below, inside, above the window
astro = bs.Network([bs.Population("A", 3, LiRinzel(ip3_fixed=levels), solver=diffrax.Tsit5())], [], [])
result = bs.run(astro, 60_000.0, 10.0, key=jr.key(0))
calcium = np.asarray(result.outputs["A"])  # µM, (6000, 3)
swing = np.ptp(calcium[3000:], axis=0)
assert swing[1] > 0.2 and swing[0] < 0.01 and swing[2] < 0.01, swing
fig, ax = plt.subplots(figsize=(6, 3))
for i, level in enumerate(np.asarray(levels)):
    ax.plot(np.arange(len(calcium)) * 10e-3, calcium[:, i], label=f"I0 = {level} µM")
ax.set(xlabel="time (s)", ylabel="Ca2+ (µM)", title="Li-Rinzel, clamped IP3")
ax.legend();"""),
    ("md", r"""## 5. Astrocyte-gated STDP brings a network near criticality (NALSM)

In NALSM (Ivanov & Michmizos 2021) an astrocyte integrates the liquid's activity and sets the
learning rate of STDP, so that a recurrent network organises itself near a critical branching
ratio $m \approx 1$ (each spike causes on average one spike in the next generation). The network
here is built to be a branching process: 300 LIF neurons ($C_m$ = 50 pF, $\tau_m$ = 5 ms,
$t_\mathrm{ref}$ = 20 ms) resting $g_j \sim U(0.5, 10.5)$ mV below threshold, E -> E with
probability 0.05, 1 ms delay, instantaneous CUBA synapses (a spike of $w$ pA moves its target by
$\approx w\,dt/C_m$ mV at once, so it fires exactly the targets whose gap is smaller: one
generation is one delay), and a Poisson drive of 0.5 Hz per neuron. Plastic E -> E weights, and:

- an astrocyte integrator: an E -> A projection into an `ExponentialSynapse(tau=200 ms)` whose
  weight $10^3/(N_E \tau_A)$ makes its value the mean E rate $\nu_E$ (Hz);
- the astrocyte `A`, a `RateUnit` on a 5 ms clock: $r = 2/(1 + e^{-(\nu_E - \theta)/\sigma})$,
  $\theta$ = 2 Hz, $\sigma$ = 0.5 Hz;
- `ScaleLearningRate("A", "E->E", baseline=-1, gain=1)`: every STDP change is multiplied by
  $f = r - 1 \in (-1, 1)$. `PairSTDP` ($A_+$ = 30 pA, $\tau_+$ = 20 ms, $A_-$ = 120 pA, $\tau_-$ = 60 ms)
  is depressing for uncorrelated firing, so above the target the gated rule depresses and below
  it the inverted rule potentiates.

The branching ratio is measured by perturbation, `bs.analysis.seeded_branching_ratio`: the
weights frozen, the drive off and every neuron at rest, 2 spikes are seeded in each of 200
trials and their descendants $Z_k$ counted in 5 generations of 1 ms;
$\hat m = \sum_{k=1}^{5} Z_k / \sum_{k=0}^{4} Z_k$ (pooled over trials), the mean number of
descendants per spike. It reads $m > 1$ in a supercritical network, where the multistep
regression of ongoing activity cannot (the activity runs away and locks to the refractory
period). Checked: from a subcritical (80 pA, $m \approx 0.33$) and a supercritical (200 pA,
$m \approx 2$) start, gated STDP ends at $0.85 \le m \le 1.15$ with the rate at $\theta$; plain
STDP (no astrocyte) depresses both, ending below 0.7."""),
    ("code", """DT, THETA, SIGMA, TAU_A, DRIVE = 0.5, 2.0, 0.5, 200.0, 0.5
P = 0.05 * 300 / N_E  # out-degree 15 at any size
E_LEAK = jnp.asarray(-50.0 - np.random.default_rng(0).uniform(0.5, 10.5, N_E))  # mV


def network(w_ee, rule, drive=True):
    stdp = PairSTDP(a_plus=30.0, a_minus=120.0, tau_plus=20.0, tau_minus=60.0, w_min=0.0, w_max=400.0)
    at_rest = bs.LIFState(v=E_LEAK, refractory=jnp.zeros(N_E))
    lif = bs.LIF(c_m=50.0, e_leak=E_LEAK, t_ref=20.0)
    populations = [bs.Population("E", N_E, lif, initial_state=at_rest)]
    projections = [bs.Projection("E", "E", bs.FixedProbability(P, weight=w_ee, allow_self_connections=False),
                                 bs.InstantaneousSynapse(), bs.CUBA(), delay_steps=2,
                                 plasticity=None if rule == "frozen" else stdp)]
    modulations = []
    if rule == "gated":
        populations.append(bs.Population("A", 1, bs.RateUnit(tau=20.0, r_max=2.0, theta=THETA, sigma=SIGMA),
                                         every=10, initial_state=RateState(r=jnp.ones(1))))
        projections.append(bs.Projection("E", "A", bs.FixedProbability(1.0, weight=1e3 / (N_E * TAU_A)),
                                         bs.ExponentialSynapse(tau=TAU_A), bs.CUBA()))
        modulations.append(bs.ScaleLearningRate("A", "E->E", baseline=-1.0, gain=1.0))
    inputs = [bs.PoissonInput("E", 1, DRIVE, 8000.0, bs.InstantaneousSynapse(), bs.CUBA())] if drive else []
    return bs.Network(populations, projections, inputs, modulations=modulations, key=jr.key(0))


def seeded(w0, weights=None):
    \"\"\"The seeded branching ratio with E -> E `weights` (learnt) or `w0`: frozen, no drive, at rest.\"\"\"
    frozen = network(w0, "frozen", drive=False)  # the same key: the same synapses
    if weights is not None:
        frozen = eqx.tree_at(lambda n: n.projections[0].connectivity.weights, frozen, weights)
    return bs.analysis.seeded_branching_ratio(frozen, "E", generation_ms=1.0, n_generations=5, n_seeds=2,
                                              n_trials=200, dt=DT, key=jr.key(1))


weight_monitor = bs.Monitor("w", lambda s: jnp.mean(s.projections["E->E"].weights))
before, runs = {}, {}
for w0 in (80.0, 200.0):
    before[w0] = seeded(w0)
    for rule in ("gated", "plain"):
        result = bs.run(network(w0, rule), TRAIN, DT, key=jr.key(2), monitors=[weight_monitor], record=False)
        after = seeded(w0, result.final_state.projections["E->E"].weights)
        rate = np.asarray(result.spike_counts["E"]).reshape(-1, int(1000.0 / DT)).sum(axis=1) / N_E  # Hz
        runs[w0, rule] = dict(after=after, rate=rate, w=np.asarray(result.traces["w"]))
        print(f"start {w0:.0f} pA, {rule}: m {before[w0].m:.2f} -> {after.m:.2f} "
              f"± {after.standard_error:.2f}, "
              f"rate in the last second {rate[-1]:.1f} Hz, mean w -> {runs[w0, rule]['w'][-1]:.0f} pA")
assert before[80.0].m < 0.6 and before[200.0].m > 1.5
for w0 in (80.0, 200.0):
    assert 0.85 <= runs[w0, "gated"]["after"].m <= 1.15, runs[w0, "gated"]["after"]
    assert runs[w0, "plain"]["after"].m < 0.7, runs[w0, "plain"]["after"]

fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for (w0, rule), run in runs.items():
    style = "-" if rule == "gated" else ":"
    axes[0].plot(np.arange(len(run["w"])) * DT * 1e-3, run["w"], style, label=f"{w0:.0f} pA, {rule}")
    axes[1].plot(np.arange(len(run["rate"])) + 0.5, run["rate"], style + "o", ms=3)
for w0, colour in ((80.0, "C0"), (200.0, "C3")):
    label = f"{w0:.0f} pA before: m = {before[w0].m:.2f}"
    axes[2].semilogy(before[w0].generations, "s--", color=colour, label=label)
    for rule, marker in (("gated", "o-"), ("plain", "^:")):
        after = runs[w0, rule]["after"]
        axes[2].semilogy(after.generations, marker, color=colour, label=f"{rule}: m = {after.m:.2f}")
axes[0].set(xlabel="time (s)", ylabel="mean E->E weight (pA)")
axes[1].set(xlabel="time (s)", ylabel="E rate (Hz)", yscale="log")
axes[1].axhline(THETA, color="0.6", lw=0.5)
axes[2].set(xlabel="generation k (1 ms)", ylabel="descendants Z_k of 2 seeds")
axes[0].legend(fontsize=7)
axes[2].legend(fontsize=6)
fig.tight_layout();"""),
    ("md", """The astrocyte's gate has one fixed point, the target rate, which with a weak drive lies where
each spike has about one descendant: both starts end with $\\hat m \\approx 1$ (right: a flat
cascade), from below and from above, although their mean weights differ (STDP also reshapes which
synapses are strong). Plain STDP with the same amplitudes has no set point and depresses both:
from the subcritical start away from criticality, from the supercritical one through it and
below.

References: Ivanov & Michmizos (2021), NeurIPS 34; Wilting & Priesemann (2018), Nat. Commun. 9:2325;
Pfister & Gerstner (2006), J. Neurosci. 26:9673; Tsodyks & Markram (1997), PNAS 94:719;
Li & Rinzel (1994), J. Theor. Biol. 166:461; De Pittà et al. (2009), J. Biol. Phys. 35:383."""),
]

nb = nbf.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.cells = [
    nbf.v4.new_markdown_cell(src)
    if kind == "md"
    else nbf.v4.new_code_cell(src, metadata={"tags": ["parameters"]} if kind == "code_parameters" else {})
    for kind, src in cells
]
nbf.write(nb, "plasticity_astrocytes.ipynb")
