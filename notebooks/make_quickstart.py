"""Writes quickstart.ipynb (kept as code so the notebook stays reviewable). Run: python make_quickstart.py"""

import nbformat as nbf

cells = [
    ("md", """# brainsim quickstart

Seven things to do in the first ten minutes: the COBA benchmark in one line, a network of your own,
a neuron model of your own, exact spike times with `diffrax`, `vmap`/`grad` through a run, a
network too large to store, and rate units next to spiking neurons with data streamed in.
Units everywhere: ms, mV, nS, pA, pF, Hz. `N` and `DURATION` are small so the test suite runs this
notebook quickly; raise them freely."""),
    ("code", """import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt

import brainsim as bs

N, DURATION = 1000, 300.0  # neurons, ms (the benchmark is N=4000, 1000 ms)
BIG_N = 100_000  # section 6: 10_000_000 runs in about 1.1 GB"""),
    ("md", "## 1. The COBA benchmark in one line"),
    ("code", """result = bs.simulate(bs.models.COBANetwork(n=N, key=jr.key(0)), DURATION, dt=0.1, key=jr.key(1))
print({name: round(float(rate), 2) for name, rate in result.rates.items()}, "Hz")
e = result.spikes["E"]
print("CV of ISI (E):", round(bs.analysis.isi_cv(e.times, e.indices), 3))
bs.analysis.plot_summary(result);"""),
    ("md", """## 2. A network of your own
Two populations, two projections with different connectivity and synapse models, a Poisson input
and a state monitor."""),
    ("code", """net = bs.Network(
    populations=[bs.Population("exc", 200, bs.LIF(e_leak=-65.0)),
                 bs.Population("inh", 50, bs.LIF(e_leak=-65.0, t_ref=1.0))],
    projections=[
        bs.Projection("exc", "inh", bs.FixedProbability(0.1, weight=2.0),
                      bs.ExponentialSynapse(tau=5.0), bs.COBA(e_rev=0.0)),
        bs.Projection("inh", "exc", bs.FixedInDegree(10, weight=-50.0),
                      bs.AlphaSynapse(tau=8.0), bs.CUBA(), delay_steps=3),
    ],
    inputs=[bs.PoissonInput("exc", n_sources=100, rate=40.0, weight=3.0,
                            synapse=bs.ExponentialSynapse(tau=5.0), output=bs.COBA(e_rev=0.0))],
    key=jr.key(2),
)
result = bs.simulate(net, DURATION, key=jr.key(3),
                     monitors=[bs.StateMonitor("exc", "v", indices=range(3), every=5)])
bs.analysis.plot_traces(result, "exc.v");"""),
    ("md", """## 3. A neuron model of your own
Subclass `bs.AbstractSpikingNeuron`, write the vector field; every solver then runs it."""),
    ("code", """class QuadraticIF(bs.AbstractSpikingNeuron):
    \"\"\"Quadratic integrate-and-fire: C dv/dt = k (v - v_rest)(v - v_crit) + I.\"\"\"
    c_m: float = 200.0      # pF
    k: float = 1.0          # nS/mV
    v_rest: float = -65.0   # mV
    v_crit: float = -50.0   # mV
    v_peak: float = 0.0     # mV
    v_reset: float = -65.0  # mV
    surrogate: bs.AbstractSurrogate = bs.SuperSpike()

    def init_state(self, n, *, key):
        return bs.LIFState(v=jnp.full(n, self.v_rest), refractory=jnp.zeros(n))

    def vector_field(self, t, y, args):
        i = bs.dynamics.synaptic_input.as_synaptic_input(args).current(y.v)
        dv = (self.k * (y.v - self.v_rest) * (y.v - self.v_crit) + i) / self.c_m
        return bs.LIFState(v=dv, refractory=jnp.zeros_like(y.v))

    def spike(self, y):
        return bs.spike_fn(y.v - self.v_peak, self.surrogate)

    def reset(self, y, spiked):
        return bs.LIFState(v=jnp.where(spiked > 0, self.v_reset, y.v), refractory=y.refractory)

for solver in [diffrax.Euler(), diffrax.Heun(), diffrax.Tsit5()]:
    net = bs.Network([bs.Population("q", 1, QuadraticIF(), solver=solver)],
                     inputs=[bs.ConstantCurrent("q", 400.0)])
    spikes = bs.simulate(net, 100.0, 0.01, key=jr.key(0)).spikes["q"].times
    print(type(solver).__name__, spikes[:4])"""),
    ("md", """## 4. Exact spike times with `diffrax.diffeqsolve`
An adaptive Tsit5 solve with a `diffrax.Event` root-finds each threshold crossing."""),
    ("code", """lif = bs.LIF(e_leak=-70.0, t_ref=2.0)
y0 = bs.LIFState(v=jnp.full(1, -70.0), refractory=jnp.zeros(1))
times, count = bs.spike_times(lif, y0, 300.0, 100.0)
print(times[:int(count)])
tau_m, v_inf = 20.0, -70.0 + 300.0 / 10.0
print("analytic first crossing:", tau_m * jnp.log((v_inf + 70.0) / (v_inf + 50.0)))"""),
    ("md", """## 5. `vmap` over input currents, `grad` with respect to a weight scale
`bs.simulate` is the host driver (chunks, progress bar, compact records); `bs.run` is the same
simulation as a pure function that returns arrays, for `jax.jit`, `jax.vmap` and `jax.grad`."""),
    ("code", """def spike_count(current):
    net = bs.Network([bs.Population("P", 1, bs.LIF(),
                                    initial_state=bs.LIFState(jnp.full(1, -70.0), jnp.zeros(1)))],
                     inputs=[bs.ConstantCurrent("P", current)])
    return bs.run(net, 100.0, key=jr.key(0)).spike_counts["P"].sum()

currents = jnp.linspace(150.0, 500.0, 8)
plt.plot(currents, jax.vmap(spike_count)(currents), "o-"); plt.xlabel("current (pA)"); plt.ylabel("spikes in 100 ms");

base = bs.Network(
    [bs.Population("in", 20, bs.LIF(t_ref=0.0)),
     bs.Population("out", 5, bs.LIF(e_leak=-65.0, v_threshold=-30.0),
                   initial_state=bs.LIFState(jnp.full(5, -65.0), jnp.zeros(5)))],
    [bs.Projection("in", "out", bs.FixedProbability(0.5, weight=0.5), bs.ExponentialSynapse(), bs.COBA(e_rev=0.0))],
    [bs.ConstantCurrent("in", 400.0)], key=jr.key(3))

def mean_voltage(scale):
    conn = bs.ops.scale_weights(base.projections[0].connectivity, scale)
    net = eqx.tree_at(lambda n: n.projections[0].connectivity, base, conn)
    return jnp.mean(bs.run(net, 20.0, key=jr.key(0), monitors=["out.v"]).traces["out.v"])

eps = 1e-2
print("d<v>/d(scale) =", jax.grad(mean_voltage)(1.0), "mV; finite difference:",
      (mean_voltage(1 + eps) - mean_voltage(1 - eps)) / (2 * eps))"""),
    ("md", """## 6. Scale: synapses regenerated instead of stored, spikes in batches
`procedural=True` replaces stored synapses by `bs.Procedural` connectivity, regenerated from a
counter-based hash of the key whenever a neuron spikes: the same network on every platform, in
O(N) memory. `bs.event_matmat` propagates a batch of spike vectors (trials, minibatch samples)
through any connectivity in one call."""),
    ("code", """big = bs.models.COBANetwork(n=BIG_N, in_degree=80, procedural=True, key=jr.key(4))
conns = [p.connectivity for p in big.projections]
stored = sum(x.nbytes for x in jax.tree_util.tree_leaves(conns))
print(f"{sum(bs.ops.n_synapses(c) for c in conns):,} synapses stored in {stored} bytes")
result = bs.simulate(big, 20.0, key=jr.key(5), record_spikes=False)
print({name: round(float(rate), 1) for name, rate in result.rates.items()}, "Hz in the first 20 ms")

trials = (jr.uniform(jr.key(6), (8, conns[0].n_pre)) < 0.01).astype(jnp.float32)
print("conductance increments per trial:", bs.event_matmat(conns[0], trials).sum(axis=1))"""),
    ("md", """## 7. Rate units next to spiking neurons, data through `inputs=`
A `bs.SpikeSource` population emits spikes given as data (a leading time axis), a `bs.RateUnit`
population emits a rate (Hz) and is driven by the spiking population through a synapse; the
data is scanned with the steps, so one compiled run serves a whole batch under `jax.vmap`."""),
    ("code", """steps = 1000  # 100 ms
net = bs.Network(
    [bs.Population("stim", 20, bs.SpikeSource()), bs.Population("S", 50, bs.LIF()),
     bs.Population("R", 1, bs.RateUnit(tau=20.0, r_max=50.0, theta=100.0, sigma=30.0))],
    [bs.Projection("stim", "S", bs.FixedProbability(0.5, weight=40.0), bs.ExponentialSynapse(), bs.CUBA()),
     bs.Projection("S", "R", bs.Dense(jnp.full((50, 1), 3.0)), bs.ExponentialSynapse(), bs.CUBA())],
    key=jr.key(7))

def readout(rate_hz, key):
    stim = (jr.uniform(key, (steps, 20)) < rate_hz * 1e-4).astype(jnp.float32)
    return bs.run(net, 100.0, key=key, inputs={"stim": stim}).outputs["R"][:, 0]

rates = jnp.array([0.0, 50.0, 100.0, 200.0])
traces = jax.jit(jax.vmap(readout))(rates, jr.split(jr.key(8), 4))
for r, trace in zip(rates, traces):
    plt.plot(jnp.arange(steps) * 0.1, trace, label=f"stimulus {r:g} Hz")
plt.xlabel("time (ms)"); plt.ylabel("rate unit R (Hz)"); plt.legend();"""),
]

nb = nbf.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src) for kind, src in cells]
nbf.write(nb, "quickstart.ipynb")
