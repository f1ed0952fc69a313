"""Inhibitory STDP (Vogels et al. 2011): the symmetric pairing window and the presynaptic
depression against their closed forms, and the paper's homeostasis: a neuron's inhibition
settles where it fires at the target rate, from too much and from too little inhibition."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.plasticity.inhibitory import InhibitorySTDP

DT = 0.1


def _pairing_run(rule, pre_steps, post_steps, n_steps, weight=0.5, delay=2):
    """Column `c`: one presynaptic spike arriving at `pre_steps[c]` (or none if negative),
    one postsynaptic spike forced at `post_steps[c]` (or none if negative)."""
    k = len(pre_steps)
    pre = np.zeros((n_steps, k), np.float32)
    kick = np.zeros((n_steps, k), np.float32)
    for c, (i, j) in enumerate(zip(pre_steps, post_steps, strict=True)):
        if i >= 0:
            pre[i - delay, c] = 1.0  # emitted `delay` steps before it arrives
        if j >= 0:
            kick[j, c] = 1e5  # pA: crosses threshold within the step
    network = bs.Network(
        [bs.Population("pre", k, bs.SpikeSource()), bs.Population("post", k, bs.LIF(t_ref=500.0))],
        [
            bs.Projection(
                "pre",
                "post",
                bs.OneToOne(weight=weight),
                bs.ExponentialSynapse(tau=10.0),
                bs.COBA(-80.0),
                delay_steps=delay,
                plasticity=rule,
            )
        ],
        [bs.StreamedCurrent("post", "kick")],
    )
    inputs = {"pre": jnp.asarray(pre), "kick": jnp.asarray(kick)}
    result = bs.run(network, n_steps * DT, DT, key=jr.key(0), inputs=inputs)
    post = np.asarray(result.outputs["post"])
    np.testing.assert_array_equal(post, kick > 0)  # the kicks, and only they, fire the neurons
    return np.asarray(result.final_state.projections["pre->post"].weights).ravel() - weight


def test_pairing_window_is_symmetric_and_a_lone_presynaptic_spike_depresses_by_eta_alpha():
    eta, tau, rho_0 = 0.01, 20.0, 5.0
    rule = InhibitorySTDP(eta=eta, rho_0=rho_0, tau=tau)
    alpha = 2 * rho_0 * 1e-3 * tau
    assert rule.alpha == pytest.approx(alpha) and alpha == pytest.approx(0.2)
    post_step, n_steps = 700, 1400
    lags = np.arange(-500, 501, 25)  # steps: t_post - t_arrival
    pre_steps = np.concatenate([post_step - lags, [300]])
    post_steps = np.concatenate([np.full(len(lags), post_step), [-1]])  # the last column: no post spike
    dw = _pairing_run(rule, pre_steps, post_steps, n_steps)
    window = eta * np.exp(-np.abs(lags * DT) / tau)
    np.testing.assert_allclose(dw[:-1] + eta * alpha, window, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(dw[-1], -eta * alpha, rtol=1e-5)
    # symmetric: +lag and -lag give the same change (the window alone, not STDP's antisymmetry)
    np.testing.assert_allclose(dw[: len(lags) // 2], dw[len(lags) // 2 + 1 : -1][::-1], rtol=1e-4)
    assert dw[len(lags) // 2] == pytest.approx(eta * (1 - alpha), rel=1e-5)  # coincident pair


def test_weights_never_go_below_w_min():
    rule = InhibitorySTDP(eta=0.3, rho_0=10.0, tau=20.0, w_min=0.0)  # eta * alpha = 0.12 per spike
    n_steps = 400
    pre_steps = [50, 100, 150, 200, 250]
    # five lone presynaptic spikes on one synapse each would remove 0.6 nS from 0.5 nS
    k = 1
    pre = np.zeros((n_steps, k), np.float32)
    pre[np.asarray(pre_steps) - 1, 0] = 1.0
    network = bs.Network(
        [bs.Population("pre", k, bs.SpikeSource()), bs.Population("post", k, bs.LIF())],
        [
            bs.Projection(
                "pre", "post", bs.OneToOne(0.5), bs.ExponentialSynapse(), bs.COBA(-80.0), plasticity=rule
            )
        ],
    )
    result = bs.run(network, n_steps * DT, DT, key=jr.key(0), inputs={"pre": jnp.asarray(pre)})
    assert float(result.final_state.projections["pre->post"].weights.ravel()[0]) == 0.0


def test_bad_parameters_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match="`tau`"):
        InhibitorySTDP(tau=-20.0)
    with pytest.raises(ValueError, match="`rho_0`"):
        InhibitorySTDP(rho_0=-1.0)
    with pytest.raises(ValueError, match="`eta`"):
        InhibitorySTDP(eta=-1e-3)
    with pytest.raises(ValueError, match="`w_min`"):
        InhibitorySTDP(w_min=2.0, w_max=1.0)


def test_inhibition_brings_the_rate_to_rho_0_from_too_much_and_too_little_inhibition():
    """The paper's homeostasis (Vogels et al. 2011, Fig. 1): LIF neurons under Poisson excitation
    (400 sources at 20 Hz, COBA at 0 mV) and plastic inhibition (200 sources at 10 Hz, COBA at
    -80 mV). Without inhibition they fire at ~30 Hz; with 2 nS per inhibitory synapse they are
    silent. Both settle at rho_0 = 5 Hz within ~1 s (eta is large so that this takes seconds)."""
    dt, duration, rho_0 = 0.5, 3000.0, 5.0
    n_e, n_i, n_post = 400, 200, 20
    n_steps = int(duration / dt)
    rng = np.random.default_rng(0)
    excitation = (rng.random((n_steps, n_e)) < 20.0 * 1e-3 * dt).astype(np.float32)
    inhibition = (rng.random((n_steps, n_i)) < 10.0 * 1e-3 * dt).astype(np.float32)
    rule = InhibitorySTDP(eta=0.5, rho_0=rho_0, tau=20.0, w_max=20.0)
    populations = [bs.Population("E", n_e, bs.SpikeSource()), bs.Population("I", n_i, bs.SpikeSource())]
    projections = []
    for name, w0 in (("weak", 0.0), ("strong", 2.0)):
        populations.append(bs.Population(name, n_post, bs.LIF()))
        projections += [
            bs.Projection(
                "E", name, bs.FixedProbability(0.25, weight=1.0), bs.ExponentialSynapse(tau=5.0), bs.COBA(0.0)
            ),
            bs.Projection(
                "I", name, bs.AllToAll(w0), bs.ExponentialSynapse(tau=10.0), bs.COBA(-80.0), plasticity=rule
            ),
        ]
    network = bs.Network(populations, projections, key=jr.key(2))
    inputs = {"E": jnp.asarray(excitation), "I": jnp.asarray(inhibition)}
    result = bs.run(network, duration, dt, key=jr.key(1), inputs=inputs, record=("weak", "strong"))

    def rate(name, start, stop):  # Hz, population mean over [start, stop) ms
        spikes = np.asarray(result.outputs[name])[int(start / dt) : int(stop / dt)]
        return spikes.mean() / (dt * 1e-3)

    assert rate("weak", 0.0, 250.0) > 3 * rho_0  # too little inhibition: fires too fast
    assert rate("strong", 0.0, 250.0) < 0.2 * rho_0  # too much: (nearly) silent
    for name in ("weak", "strong"):
        assert abs(rate(name, 1500.0, 3000.0) - rho_0) < 0.3 * rho_0, (name, rate(name, 1500.0, 3000.0))
    w_weak = float(jnp.mean(result.final_state.projections["I->weak"].weights))
    w_strong = float(jnp.mean(result.final_state.projections["I->strong"].weights))
    assert 0.3 < w_weak < 2.0 and 0.3 < w_strong < 2.0  # grew from 0, shrank from 2 nS
    assert abs(w_weak - w_strong) < 0.3 * max(w_weak, w_strong)  # the same balance from both sides


def test_gradient_of_final_weights_matches_finite_differences():
    """Through the event-driven moves: d(loss)/d(eta, rho_0, tau) in float64 against central
    differences, for pairings at both signs and a lone presynaptic spike."""
    import equinox as eqx
    import jax

    lags = np.array([-40, -10, 5, 30])
    post_step, n_steps = 300, 600
    pre_steps = np.concatenate([post_step - lags, [200]])

    def loss(eta, rho_0, tau):
        rule = InhibitorySTDP(eta=eta, rho_0=rho_0, tau=tau, w_min=-10.0, w_max=10.0)
        plastic = eqx.tree_at(lambda n: n.projections[0].plasticity, network, rule)
        result = bs.run(plastic, n_steps * DT, DT, key=jr.key(0), inputs=inputs, record=False)
        w = result.final_state.projections["pre->post"].weights.ravel()
        return jnp.sum(w * jnp.arange(1.0, 6.0, dtype=w.dtype))

    with jax.enable_x64(True):
        network = bs.Network(  # built once, outside the traced function; the rule is swapped in
            [bs.Population("pre", 5, bs.SpikeSource()), bs.Population("post", 5, bs.LIF(t_ref=500.0))],
            [
                bs.Projection(
                    "pre",
                    "post",
                    bs.OneToOne(0.5),
                    bs.ExponentialSynapse(),
                    bs.COBA(-80.0),
                    plasticity=InhibitorySTDP(),
                )
            ],
            [bs.StreamedCurrent("post", "kick")],
        )
        pre = np.zeros((n_steps, 5))
        pre[pre_steps - 1, np.arange(5)] = 1.0
        kick = np.zeros((n_steps, 5))
        kick[post_step, : len(lags)] = 1e5
        inputs = {"pre": jnp.asarray(pre), "kick": jnp.asarray(kick)}
        args = (jnp.float64(0.01), jnp.float64(5.0), jnp.float64(20.0))
        grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(*args)
        loss = jax.jit(loss)  # one compilation for the six evaluations
        for i, g in enumerate(grads):
            h = 1e-6 * max(1.0, float(args[i]))
            up, down = list(args), list(args)
            up[i], down[i] = args[i] + h, args[i] - h
            fd = (loss(*up) - loss(*down)) / (2 * h)
            np.testing.assert_allclose(float(g), float(fd), rtol=1e-6, atol=1e-12)
            assert abs(float(g)) > 0
