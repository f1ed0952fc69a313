"""Plasticity in a `Network`: STDP moves the weights in the state through `run`, event-driven,
with the analytic pairing window; short-term plasticity scales delivery; resumes are exact;
what cannot work is refused before compiling."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.plasticity import PairSTDP, TripletSTDP, TsodyksMarkram

DT = 0.1


def _pairing_network(k, rule, weight=0.5, delay_steps=1, short_term=None):
    """`k` presynaptic spike sources, each paired one-to-one with an LIF neuron that a current
    kick makes spike once; the weights are too small to move the LIF neurons."""
    return bs.Network(
        [
            bs.Population("pre", k, bs.SpikeSource()),
            bs.Population("post", k, bs.LIF(t_ref=500.0)),
        ],
        [
            bs.Projection(
                "pre",
                "post",
                bs.OneToOne(weight=weight),
                bs.ExponentialSynapse(tau=5.0),
                bs.CUBA(),
                delay_steps=delay_steps,
                plasticity=rule,
                short_term=short_term,
            )
        ],
        [bs.StreamedCurrent("post", "kick")],
    )


def _protocol(pre_steps, post_step, n_steps):
    k = len(pre_steps)
    pre = np.zeros((n_steps, k), np.float32)
    pre[np.asarray(pre_steps), np.arange(k)] = 1.0
    kick = np.zeros((n_steps, k), np.float32)
    kick[post_step] = 1e5  # pA: crosses threshold within the step
    return {"pre": jnp.asarray(pre), "kick": jnp.asarray(kick)}


@pytest.mark.parametrize("pairing", ["all", "nearest"])
def test_pairing_window_equals_the_analytic_exponentials(pairing):
    rule = PairSTDP(a_plus=0.01, a_minus=0.012, tau_plus=16.8, tau_minus=33.7, pairing=pairing)
    delay, post_step, n_steps = 2, 600, 1400
    lags = np.arange(-500, 501, 25)  # steps: t_post - t_arrival
    pre_steps = post_step - lags - delay
    network = _pairing_network(len(lags), rule, delay_steps=delay)
    result = bs.run(network, n_steps * DT, DT, key=jr.key(0), inputs=_protocol(pre_steps, post_step, n_steps))
    post = np.asarray(result.outputs["post"])
    assert np.array_equal(post.sum(0), np.ones(len(lags))) and np.all(post[post_step] == 1)
    dw = np.asarray(result.final_state.projections["pre->post"].weights).ravel() - 0.5
    lag_ms = lags * DT
    want = np.where(lag_ms >= 0, 0.01 * np.exp(-lag_ms / 16.8), -0.012 * np.exp(lag_ms / 33.7))
    np.testing.assert_allclose(dw, want, rtol=2e-4, atol=2e-7)


def test_weights_stay_within_bounds_and_soft_bounds_shrink_changes():
    lags = np.full(8, 10)
    for bound, w0, ceiling in (("hard", 0.995, 1.0), ("soft", 0.9, 1.0)):
        rule = PairSTDP(a_plus=0.05, a_minus=0.0, bound=bound, w_min=0.0, w_max=ceiling)
        network = _pairing_network(len(lags), rule, weight=w0)
        result = bs.run(network, 100.0, DT, key=jr.key(0), inputs=_protocol(400 - lags - 1, 400, 1000))
        w = np.asarray(result.final_state.projections["pre->post"].weights).ravel()
        a = 0.05 * np.exp(-10 * DT / 20.0)
        expected = min(w0 + a, ceiling) if bound == "hard" else w0 + a * (ceiling - w0) / ceiling
        np.testing.assert_allclose(w, expected, rtol=1e-5)


def test_tsodyks_markram_amplitudes_follow_the_recursion():
    """A regular 50 Hz train through a depressing synapse: each delivered amount is w * u x
    (read as the jumps of a synapse that does not decay)."""
    k, n_steps, interval, w = 1, 2000, 200, 2.0
    stp = TsodyksMarkram(U=0.4, tau_d=150.0, tau_f=30.0)
    network = bs.Network(
        [bs.Population("pre", k, bs.SpikeSource()), bs.Population("post", k, bs.LIF())],
        [
            bs.Projection(
                "pre",
                "post",
                bs.OneToOne(weight=w),
                bs.ExponentialSynapse(tau=1e12),
                bs.CUBA(),
                short_term=stp,
            )
        ],
    )
    spikes = np.zeros((n_steps, k), np.float32)
    spikes[::interval] = 1.0
    monitor = bs.Monitor("g", lambda s: s.projections["pre->post"].synapse.g[0])
    result = bs.run(
        network, n_steps * DT, DT, key=jr.key(0), inputs={"pre": jnp.asarray(spikes)}, monitors=[monitor]
    )
    g = np.asarray(result.traces["g"], np.float64)[np.arange(0, n_steps, interval)]  # arrives a step later
    delivered = np.diff(g)
    u, x, want = 0.0, 1.0, []
    T = interval * DT
    for _ in range(len(delivered)):
        u = u + 0.4 * (1 - u)
        want.append(w * u * x)
        x = x - u * x
        u, x = u * np.exp(-T / 30.0), 1 - (1 - x) * np.exp(-T / 150.0)
    np.testing.assert_allclose(delivered, want, rtol=1e-4)
    np.testing.assert_allclose(g[0], 0.0)
    assert want[-1] < 0.6 * want[0]  # depression


def test_resumed_and_rechunked_runs_equal_the_uninterrupted_run():
    network = bs.Network(
        [bs.Population("E", 60, bs.LIF())],
        [
            bs.Projection(
                "E",
                "E",
                bs.FixedProbability(0.2, weight=0.6),
                bs.ExponentialSynapse(),
                bs.COBA(0.0),
                plasticity=PairSTDP(a_plus=0.02, a_minus=0.021, w_max=1.5),
            )
        ],
        [bs.PoissonInput("E", 20, 400.0, 3.0, bs.ExponentialSynapse(), bs.COBA(0.0))],
        key=jr.key(3),
    )
    whole = bs.run(network, 60.0, DT, key=jr.key(1))
    first = bs.run(network, 30.0, DT, key=jr.key(1))
    second = bs.run(network, 30.0, DT, key=jr.key(1), initial_state=first.final_state)
    w_whole = whole.final_state.projections["E->E"].weights
    w_resumed = second.final_state.projections["E->E"].weights
    assert float(jnp.sum(whole.spike_counts["E"])) > 20
    assert not np.array_equal(
        np.asarray(w_whole), np.asarray(network.init_state(key=jr.key(1)).projections["E->E"].weights)
    )
    np.testing.assert_array_equal(np.asarray(w_resumed), np.asarray(w_whole))
    remat = bs.run(network, 60.0, DT, key=jr.key(1), checkpoint_every=100)
    np.testing.assert_array_equal(
        np.asarray(remat.final_state.projections["E->E"].weights), np.asarray(w_whole)
    )


def test_gradient_of_final_weights_matches_finite_differences():
    lags = np.array([-40, -10, 5, 30])

    def loss(a_plus, tau_plus, a_minus):
        rule = PairSTDP(
            a_plus=a_plus, a_minus=a_minus, tau_plus=tau_plus, tau_minus=25.0, w_min=-10.0, w_max=10.0
        )
        result = bs.run(
            _pairing_network(len(lags), rule), 60.0, DT, key=jr.key(0), inputs=inputs, record=False
        )
        w = result.final_state.projections["pre->post"].weights.ravel()
        return jnp.sum(w * jnp.arange(1.0, 5.0))

    with jax.enable_x64(True):
        inputs = {k: v.astype(jnp.float64) for k, v in _protocol(300 - lags - 1, 300, 600).items()}
        args = (jnp.float64(0.01), jnp.float64(20.0), jnp.float64(0.012))
        grads = jax.grad(loss, argnums=(0, 1, 2))(*args)
        for i, g in enumerate(grads):
            h = 1e-6 * max(1.0, float(args[i]))
            up = list(args)
            up[i] = args[i] + h
            down = list(args)
            down[i] = args[i] - h
            fd = (loss(*up) - loss(*down)) / (2 * h)
            np.testing.assert_allclose(float(g), float(fd), rtol=1e-6, atol=1e-12)
            assert abs(float(g)) > 0


def test_monitors_record_traces_and_weights():
    rule = PairSTDP()
    network = _pairing_network(3, rule)
    inputs = _protocol([100, 150, 200], 180, 300)
    result = bs.run(
        network,
        30.0,
        DT,
        key=jr.key(0),
        inputs=inputs,
        monitors=[
            bs.StateMonitor("pre->post", "pre", every=10),
            bs.StateMonitor("pre->post", "weights", every=10),
        ],
    )
    pre_trace = np.asarray(result.traces["pre->post.pre"])
    assert pre_trace.shape == (30, 3) and pre_trace[11, 0] > 0.9 and pre_trace[5, 0] == 0
    assert result.traces["pre->post.weights"].shape == (30, 3, 1)


def test_bad_plasticity_input_is_refused_before_compiling():
    with pytest.raises(ValueError, match="w_min"):
        PairSTDP(w_min=1.0, w_max=0.5)
    with pytest.raises(ValueError, match="tau_plus"):
        PairSTDP(tau_plus=-1.0)
    with pytest.raises(ValueError, match="a2_minus"):
        TripletSTDP.visual_cortex(a2_minus=-1.0)
    with pytest.raises(ValueError, match="tau_d"):
        TsodyksMarkram(tau_d=0.0)
    with pytest.raises(ValueError, match="plastic=False"):
        bs.Projection(
            "a",
            "b",
            bs.OneToOne(1.0),
            bs.ExponentialSynapse(),
            bs.CUBA(),
            plasticity=PairSTDP(),
            plastic=False,
        )
    with pytest.raises(TypeError, match="`a->a`.*PairSTDP.*Procedural"):
        bs.Network(
            [bs.Population("a", 10, bs.LIF())],
            [
                bs.Projection(
                    "a",
                    "a",
                    bs.Procedural(jr.key(0), 10, 10, degree=2),
                    bs.ExponentialSynapse(),
                    bs.CUBA(),
                    plasticity=PairSTDP(),
                )
            ],
        )
    with pytest.raises(ValueError, match="per-synapse delays"):
        bs.Network(
            [bs.Population("a", 10, bs.LIF())],
            [
                bs.Projection(
                    "a",
                    "a",
                    bs.FixedProbability(0.3, weight=1.0),
                    bs.ExponentialSynapse(),
                    bs.CUBA(),
                    delay_steps=bs.UniformDelay(1, 3),
                    plasticity=PairSTDP(),
                )
            ],
            key=jr.key(0),
        )


def _triplet_reference(rule, pre_times, post_times):
    """Weight change of one synapse under the triplet rule, event by event with exact
    exponentials (independent of the engine): pre events first at equal times."""
    events = sorted([(t, 0) for t in pre_times] + [(t, 1) for t in post_times])
    r1 = r2 = o1 = o2 = 0.0
    last, dw = 0.0, 0.0
    for t, kind in events:
        gap = t - last
        r1 *= np.exp(-gap / rule.tau_plus)
        r2 *= np.exp(-gap / rule.tau_x)
        o1 *= np.exp(-gap / rule.tau_minus)
        o2 *= np.exp(-gap / rule.tau_y)
        last = t
        bump = (lambda x: x + 1) if rule.pairing == "all" else (lambda x: 1.0)
        if kind == 0:
            dw -= o1 * (rule.a2_minus + rule.a3_minus * r2)
            r1, r2 = bump(r1), bump(r2)
        else:
            dw += r1 * (rule.a2_plus + rule.a3_plus * o2)
            o1, o2 = bump(o1), bump(o2)
    return dw


@pytest.mark.parametrize("pairing", ["all", "nearest"])
def test_triplet_rule_depresses_at_low_and_potentiates_at_high_pairing_frequency(pairing):
    """Sjöström et al. 2001's protocol as fitted by Pfister & Gerstner 2006: 60 pairings at
    Δt = ±10 ms; post-before-pre pairings depress at low and potentiate at high frequency."""
    dt, n_pairs, lag = 1.0, 60, 10
    frequencies = np.array([1.0, 10.0, 20.0, 40.0, 50.0])
    periods = np.round(1000.0 / frequencies).astype(int)  # steps
    n_steps = int(periods.max() * n_pairs + 50)
    rule = TripletSTDP.visual_cortex(pairing, w_min=-1.0, w_max=2.0)
    k = 2 * len(frequencies)
    pre = np.zeros((n_steps, k), np.float32)
    kick = np.zeros((n_steps, k), np.float32)
    pre_times, post_times = [], []
    for column in range(k):
        period, sign = periods[column % len(frequencies)], (1 if column < len(frequencies) else -1)
        first = 20 + np.arange(n_pairs) * period
        arrival, post_step = (first, first + lag) if sign > 0 else (first + lag, first)
        pre[arrival - 1, column] = 1.0  # arrives one step later (delay_steps=1)
        kick[post_step, column] = 1e5
        pre_times.append(arrival * dt)
        post_times.append(post_step * dt)
    network = bs.Network(
        [bs.Population("pre", k, bs.SpikeSource()), bs.Population("post", k, bs.LIF(t_ref=2.0))],
        [
            bs.Projection(
                "pre", "post", bs.OneToOne(weight=0.5), bs.ExponentialSynapse(), bs.CUBA(), plasticity=rule
            )
        ],
        [bs.StreamedCurrent("post", "kick")],
    )
    result = bs.run(
        network,
        n_steps * dt,
        dt,
        key=jr.key(0),
        inputs={"pre": jnp.asarray(pre), "kick": jnp.asarray(kick)},
        record=("post",),
    )
    np.testing.assert_array_equal(np.asarray(result.outputs["post"]), kick > 0)
    dw = np.asarray(result.final_state.projections["pre->post"].weights).ravel() - 0.5
    want = [_triplet_reference(rule, pre_times[c], post_times[c]) for c in range(k)]
    np.testing.assert_allclose(dw, want, rtol=1e-3, atol=1e-6)
    pre_post, post_pre = dw[: len(frequencies)], dw[len(frequencies) :]
    assert np.all(post_pre[frequencies <= 20] < 0) and post_pre[-1] > 0  # depression low, potentiation high
    assert np.all(np.diff(pre_post) > 0) and pre_post[-1] > 0


@pytest.mark.parametrize("clock", [1, 10])
def test_reward_turns_the_eligibility_of_a_pairing_into_a_weight_change(clock):
    """Izhikevich 2007: a pairing at Δt = +10 ms tags the synapse with c = A+ e^{-Δt/τ+}; a
    reward pulse d0 over [D, D + L] after it changes the weight by
    d0 c τc (e^{-D/τc} - e^{-(D+L)/τc}) (the continuous solution)."""
    tau_c, d0, a_plus = 200.0, 0.02, 1.0
    rule = bs.RewardModulatedSTDP(
        a_plus=a_plus, a_minus=0.0, tau_c=tau_c, w_min=-10.0, w_max=10.0, clock=clock
    )
    n_steps, pair_step, lag = 6000, 1000, 100
    start, length = pair_step + 2000, 500  # reward 200 ms after the pairing, for 50 ms
    pre = np.zeros((n_steps, 2), np.float32)
    pre[pair_step - lag - 1] = 1.0  # arrives at pair_step - lag
    kick = np.zeros((n_steps, 2), np.float32)
    kick[pair_step] = 1e5
    reward = np.zeros((n_steps, 2), np.float32)
    reward[start : start + length, 0] = d0  # neuron 1's domain is never rewarded
    network = bs.Network(
        [
            bs.Population("pre", 2, bs.SpikeSource()),
            bs.Population("post", 2, bs.LIF(t_ref=1000.0)),
            bs.Population("dopamine", 2, bs.ValueSource()),
        ],
        [bs.Projection("pre", "post", bs.OneToOne(0.5), bs.ExponentialSynapse(), bs.CUBA(), plasticity=rule)],
        [bs.StreamedCurrent("post", "kick")],
        modulations=[bs.ScaleLearningRate("dopamine", "pre->post", domain=[0, 1])],
    )
    inputs = {"pre": jnp.asarray(pre), "kick": jnp.asarray(kick), "dopamine": jnp.asarray(reward)}
    result = bs.run(network, n_steps * DT, DT, key=jr.key(0), inputs=inputs)
    dw = np.asarray(result.final_state.projections["pre->post"].weights).ravel() - 0.5
    c0 = a_plus * np.exp(-lag * DT / 20.0)
    delay, width = (start - pair_step) * DT, length * DT
    want = d0 * c0 * tau_c * (np.exp(-delay / tau_c) - np.exp(-(delay + width) / tau_c))
    np.testing.assert_allclose(dw[0], want, rtol=2e-3 * clock)
    assert dw[1] == 0.0  # tagged, never rewarded
    c = np.asarray(result.final_state.projections["pre->post"].plasticity.eligibility).ravel()
    np.testing.assert_allclose(c, c0 * np.exp(-(n_steps - pair_step) * DT / tau_c), rtol=2e-3 * clock)
