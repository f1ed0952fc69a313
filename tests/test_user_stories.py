"""The five things a user can do when the engine lands (issue: engine foundation)."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

import brainsim as bs


def test_story_1_coba_in_one_line_simulate_raster_rates_plot(tmp_path):
    result = bs.simulate(bs.models.COBANetwork(n=1000, key=jr.key(0)), 200.0, key=jr.key(1))
    raster = result.spikes["E"]
    assert raster.times.shape == raster.indices.shape
    assert np.all(np.diff(raster.times) >= 0) and raster.indices.max() < 800
    # COBA's asynchronous irregular state: about 15-60 Hz in the first 200 ms at N = 1,000
    assert all(5.0 < float(r) < 100.0 for r in result.rates.values())
    fig = bs.analysis.plot_summary(result, path=tmp_path / "raster.png")
    assert (tmp_path / "raster.png").stat().st_size > 10_000
    assert len(fig.axes) == 2


def test_story_2_a_new_network_in_fifteen_lines():
    k1, k2, k3 = jr.split(jr.key(0), 3)
    net = bs.Network(
        populations=[
            bs.Population("exc", 200, bs.LIF(e_leak=-65.0)),
            bs.Population("inh", 50, bs.LIF(e_leak=-65.0, t_ref=1.0)),
        ],
        projections=[
            bs.Projection(
                "exc",
                "inh",
                bs.FixedProbability(0.1, weight=2.0),
                bs.ExponentialSynapse(tau=5.0),
                bs.COBA(e_rev=0.0),
            ),
            bs.Projection(
                "inh",
                "exc",
                bs.FixedInDegree(10, weight=-50.0),
                bs.AlphaSynapse(tau=8.0),
                bs.CUBA(),
                delay_steps=3,
            ),
        ],
        inputs=[
            bs.PoissonInput(
                "exc",
                n_sources=100,
                rate=40.0,
                weight=3.0,
                synapse=bs.ExponentialSynapse(tau=5.0),
                output=bs.COBA(e_rev=0.0),
            )
        ],
        key=k1,
    )
    result = bs.simulate(
        net, 200.0, key=k2, monitors=[bs.StateMonitor("exc", "v", indices=range(5), every=10)]
    )
    assert result.traces["exc.v"].shape == (200, 5)
    assert float(result.rates["exc"]) > 1.0 and float(result.rates["inh"]) > 1.0
    del k3


class QuadraticIF(bs.AbstractSpikingNeuron):
    """A user's own model: quadratic integrate-and-fire, written with a vector field only."""

    c_m: float = 200.0
    k: float = 1.0  # nS/mV
    v_rest: float = -65.0
    v_crit: float = -50.0
    v_peak: float = 0.0
    v_reset: float = -65.0
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


def test_story_3_a_new_neuron_model_runs_under_every_solver():
    counts = {}
    for solver in (diffrax.Euler(), diffrax.Heun(), diffrax.Tsit5(), diffrax.Midpoint()):
        net = bs.Network(
            [bs.Population("q", 2, QuadraticIF(), solver=solver)],
            inputs=[bs.ConstantCurrent("q", 400.0)],
        )
        result = bs.simulate(net, 100.0, 0.01, key=jr.key(0))
        counts[type(solver).__name__] = len(result.spikes["q"].times)
    assert min(counts.values()) > 2
    assert max(counts.values()) - min(counts.values()) <= 2  # solvers agree at dt = 0.01 ms


def test_story_5_vmap_over_currents_and_grad_wrt_weight_scale():
    def rate_for(current):
        net = bs.Network(
            [
                bs.Population(
                    "P", 1, bs.LIF(), initial_state=bs.LIFState(jnp.full(1, -70.0), jnp.zeros(1))
                )
            ],
            inputs=[bs.ConstantCurrent("P", current)],
        )
        return bs.run(net, 100.0, 0.1, key=jr.key(0)).spike_counts["P"].sum()

    currents = jnp.linspace(150.0, 500.0, 8)
    counts = jax.vmap(rate_for)(currents)
    assert counts.shape == (8,)
    assert np.all(np.diff(np.asarray(counts)) >= 0) and counts[0] == 0 and counts[-1] > 5

    key = jr.key(3)
    base = bs.Network(
        [
            bs.Population("in", 20, bs.LIF(t_ref=0.0)),
            # targets stay subthreshold, so the loss is smooth and finite differences are exact
            bs.Population(
                "out",
                5,
                bs.LIF(e_leak=-65.0, v_threshold=-30.0),
                initial_state=bs.LIFState(jnp.full(5, -65.0), jnp.zeros(5)),
            ),
        ],
        [
            bs.Projection(
                "in",
                "out",
                bs.FixedProbability(0.5, weight=0.5),
                bs.ExponentialSynapse(),
                bs.COBA(e_rev=0.0),
            )
        ],
        [bs.ConstantCurrent("in", 400.0)],
        key=key,
    )

    def loss(scale):
        net = eqx.tree_at(
            lambda n: n.projections[0].connectivity,
            base,
            bs.ops.scale_weights(base.projections[0].connectivity, scale),
        )
        result = bs.run(net, 20.0, 0.1, key=jr.key(0), monitors=["out.v"])
        return jnp.mean(result.traces["out.v"])

    grad = jax.grad(loss)(1.0)
    eps = 1e-2
    numeric = (loss(1.0 + eps) - loss(1.0 - eps)) / (2 * eps)
    assert float(grad) > 0  # stronger excitation depolarises the targets
    np.testing.assert_allclose(float(grad), float(numeric), rtol=1e-3)

    # surrogate spikes: the gradient of the output spike count flows through spike_fn
    def spike_loss(scale):
        net = eqx.tree_at(
            lambda n: n.projections[0].connectivity,
            base,
            bs.ops.scale_weights(base.projections[0].connectivity, 4.0 * scale),
        )
        return bs.run(net, 20.0, 0.1, key=jr.key(0)).outputs["out"].sum()

    assert float(jax.jit(spike_loss)(1.0)) > 0 and float(jax.grad(spike_loss)(1.0)) > 0


def test_story_4_exact_spike_times_with_diffrax_events():
    with jax.enable_x64(True):
        lif = bs.LIF(e_leak=-70.0, t_ref=2.0)
        y0 = bs.LIFState(v=jnp.full(1, -70.0), refractory=jnp.zeros(1))
        times, count = bs.spike_times(lif, y0, 300.0, 50.0)
        tau_m, v_inf = 20.0, -70.0 + 300.0 / 10.0
        first = tau_m * np.log((v_inf + 70.0) / (v_inf + 50.0))  # from -70 mV to threshold
        assert int(count) >= 2
        assert abs(float(times[0]) - first) < 1e-6
