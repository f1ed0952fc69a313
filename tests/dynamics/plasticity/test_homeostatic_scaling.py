"""Synaptic scaling (van Rossum, Bi & Turrigiano 2000): the scaling of every input of a neuron
against the product of its clock's factors from the exact rate estimate, ratios preserved, and
the closed loop bringing weakly and strongly driven neurons to the target rate."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.plasticity.homeostatic import SynapticScaling

DT = 0.5


def test_all_inputs_of_a_neuron_scale_by_one_factor_equal_to_the_clock_product():
    """Neuron 0 is silent (its estimate decays from r_target: scaled up), neuron 1 is kicked to
    fire at 50 Hz (above the 10 Hz target: scaled down). Per tick k the weights of j are
    multiplied by 1 + eta (r_target - a_j(t_k)) T with a_j from its exact recursion; the ratios
    of the five inputs of each neuron do not change."""
    n_pre, n_post, n_steps, clock = 5, 2, 3000, 10
    eta, r_target, tau_a = 4e-5, 10.0, 300.0
    rule = SynapticScaling(eta=eta, r_target=r_target, tau_a=tau_a, w_min=0.0, w_max=1e3, clock=clock)
    rng = np.random.default_rng(0)
    w0 = rng.uniform(0.1, 2.0, size=(n_pre, n_post))
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    kick = np.zeros((n_steps, n_post), np.float32)
    kick[::40, 1] = 1e5  # pA: neuron 1 fires every 20 ms
    network = bs.Network(
        [bs.Population("pre", n_pre, bs.SpikeSource()), bs.Population("post", n_post, bs.LIF(t_ref=1.0))],
        [
            bs.Projection(
                "pre",
                "post",
                bs.FromArrays(pre.ravel(), post.ravel(), jnp.asarray(w0.ravel(), jnp.float32)),
                bs.ExponentialSynapse(),
                bs.COBA(0.0),
                plasticity=rule,
            )
        ],
        [bs.StreamedCurrent("post", "kick")],
    )
    inputs = {"pre": jnp.zeros((n_steps, n_pre)), "kick": jnp.asarray(kick)}  # no presynaptic spikes
    result = bs.run(network, n_steps * DT, DT, key=jr.key(0), inputs=inputs)
    np.testing.assert_array_equal(np.asarray(result.outputs["post"]), kick > 0)
    w = np.asarray(result.final_state.projections["pre->post"].weights, np.float64).reshape(n_pre, n_post)

    a, factor = np.full(n_post, r_target), np.ones(n_post)
    for k in range(n_steps):  # the rule's order: decay, count this step's spikes, then the clock
        a = a * np.exp(-DT / tau_a) + (kick[k] > 0) * 1000.0 / tau_a
        if k % clock == 0:
            factor *= 1 + eta * (r_target - a) * clock * DT
    np.testing.assert_allclose(w, w0 * factor, rtol=2e-4)
    assert factor[0] > 1.3 and factor[1] < 0.7  # the scale changed, up and down
    np.testing.assert_allclose(w / w[:1], w0 / w0[:1], rtol=1e-5)  # ratios preserved
    a_final = np.asarray(result.final_state.projections["pre->post"].plasticity.rate)
    np.testing.assert_allclose(a_final, a, rtol=1e-4)
    assert abs(a[1] - 50.0) < 15.0  # the estimate reads the 50 Hz train


def test_weakly_and_strongly_driven_neurons_move_to_the_target_rate():
    """LIF neurons under 100 Poisson inputs at 20 Hz (COBA at 0 mV): with 0.2 nS per synapse
    they are silent, with 1 nS they fire at ~90 Hz. Scaling their inputs brings both to the
    10 Hz target within ~2 s (eta scaled up from biology's hours)."""
    duration, r_target, n_e, n_post = 4000.0, 10.0, 400, 20
    n_steps = int(duration / DT)
    rng = np.random.default_rng(0)
    excitation = (rng.random((n_steps, n_e)) < 20.0 * 1e-3 * DT).astype(np.float32)
    rule = SynapticScaling(eta=3e-5, r_target=r_target, tau_a=200.0, clock=20)
    populations, projections = [bs.Population("E", n_e, bs.SpikeSource())], []
    for name, w0 in (("weak", 0.2), ("strong", 1.0)):
        populations.append(bs.Population(name, n_post, bs.LIF()))
        projections.append(
            bs.Projection(
                "E",
                name,
                bs.FixedProbability(0.25, weight=w0),
                bs.ExponentialSynapse(tau=5.0),
                bs.COBA(0.0),
                plasticity=rule,
            )
        )
    network = bs.Network(populations, projections, key=jr.key(2))
    result = bs.run(network, duration, DT, key=jr.key(1), inputs={"E": jnp.asarray(excitation)})

    def rate(name, start, stop):  # Hz, population mean over [start, stop) ms
        return np.asarray(result.outputs[name])[int(start / DT) : int(stop / DT)].mean() / (DT * 1e-3)

    assert rate("weak", 0.0, 500.0) < 0.1 * r_target
    assert rate("strong", 0.0, 500.0) > 5 * r_target
    for name in ("weak", "strong"):
        assert abs(rate(name, 2500.0, 4000.0) - r_target) < 0.3 * r_target, (name, rate(name, 2500.0, 4000.0))
    w_weak = float(jnp.mean(result.final_state.projections["E->weak"].weights))
    w_strong = float(jnp.mean(result.final_state.projections["E->strong"].weights))
    assert w_weak > 0.25 and w_strong < 0.5  # scaled up from 0.2 nS, down from 1 nS


def test_bad_parameters_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match="`tau_a`"):
        SynapticScaling(tau_a=-1.0)
    with pytest.raises(ValueError, match="`r_target`"):
        SynapticScaling(r_target=-5.0)
    with pytest.raises(ValueError, match="`eta`"):
        SynapticScaling(eta=-1e-5)
    with pytest.raises(ValueError, match="`w_min`"):
        SynapticScaling(w_min=2.0, w_max=1.0)
    with pytest.raises(ValueError, match="`clock`"):
        SynapticScaling(clock=0)
    assert not SynapticScaling.event_driven and SynapticScaling(clock=3).clock_steps() == 3


def test_gradient_of_final_weights_matches_finite_differences():
    """Through the clock (a `lax.cond` every `clock` steps): d(loss)/d(eta, r_target, tau_a) in
    float64 against central differences; neuron 1 is kicked to fire every 20 ms."""
    import equinox as eqx
    import jax

    n_steps = 600

    def loss(eta, r_target, tau_a):
        rule = SynapticScaling(eta=eta, r_target=r_target, tau_a=tau_a, w_max=1e3, clock=10)
        plastic = eqx.tree_at(lambda n: n.projections[0].plasticity, network, rule)
        result = bs.run(plastic, n_steps * DT, DT, key=jr.key(0), inputs=inputs, record=False)
        w = result.final_state.projections["pre->post"].weights.ravel()
        return jnp.sum(w * jnp.arange(1.0, 5.0, dtype=w.dtype))

    with jax.enable_x64(True):
        network = bs.Network(  # built once, outside the traced function; the rule is swapped in
            [bs.Population("pre", 2, bs.SpikeSource()), bs.Population("post", 2, bs.LIF(t_ref=1.0))],
            [
                bs.Projection(
                    "pre",
                    "post",
                    bs.AllToAll(0.5),
                    bs.ExponentialSynapse(),
                    bs.COBA(0.0),
                    plasticity=SynapticScaling(),
                )
            ],
            [bs.StreamedCurrent("post", "kick")],
        )
        kick = np.zeros((n_steps, 2))
        kick[::40, 1] = 1e5
        inputs = {"pre": jnp.zeros((n_steps, 2), jnp.float64), "kick": jnp.asarray(kick)}
        args = (jnp.float64(4e-5), jnp.float64(10.0), jnp.float64(100.0))
        grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(*args)
        loss = jax.jit(loss)  # one compilation for the six evaluations
        for i, g in enumerate(grads):
            h = 1e-6 * float(args[i])
            up, down = list(args), list(args)
            up[i], down[i] = args[i] + h, args[i] - h
            fd = (loss(*up) - loss(*down)) / (2 * h)
            np.testing.assert_allclose(float(g), float(fd), rtol=1e-6, atol=1e-12)
            assert abs(float(g)) > 0
