"""Tests of brainsim/train/cells_recurrent.py (LMU, EGRU) and brainsim/train/text.py (char LM)."""

import math
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
import scipy.linalg

import brainsim as bs
import brainsim.train as bst

# --------------------------------------------------------------------------- LMU


def _pade_delay(order: int, theta: float, s: np.ndarray) -> np.ndarray:
    """The [d-1/d] Pade approximant of exp(-theta s), from its closed-form coefficients."""
    m, n = order - 1, order
    x = theta * s
    f = math.factorial
    num = sum(f(m + n - k) * f(m) / (f(m + n) * f(k) * f(m - k)) * (-x) ** k for k in range(m + 1))
    den = sum(f(m + n - k) * f(n) / (f(m + n) * f(k) * f(n - k)) * x**k for k in range(n + 1))
    return num / den


@pytest.mark.parametrize("order", [1, 4, 9])
def test_legendre_system_is_the_pade_approximant_of_a_delay(order):
    theta = 50.0
    with jax.enable_x64(True):
        a, b = map(np.asarray, bst.legendre_delay_system(order, theta))
        c = np.asarray(bst.shifted_legendre(order, 1.0))
    for omega in [0.0, 0.01, 0.05, 0.2]:  # rad/ms
        s = 1j * omega
        transfer = c @ np.linalg.solve(s * np.eye(order) - a, b)
        np.testing.assert_allclose(transfer, _pade_delay(order, theta, s), rtol=1e-9, atol=1e-12)


def test_zero_order_hold_matches_scipy():
    with jax.enable_x64(True):
        a, b = bst.legendre_delay_system(6, 30.0)
        a_bar, b_bar = bst.zero_order_hold(a, b, 0.5)
    a, b = np.asarray(a), np.asarray(b)
    exp = scipy.linalg.expm(a * 0.5)
    np.testing.assert_allclose(a_bar, exp, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b_bar, np.linalg.solve(a, (exp - np.eye(6)) @ b), rtol=1e-10, atol=1e-14)


def test_shifted_legendre_values():
    r = np.array([0.0, 0.3, 1.0])
    expected = np.stack([np.ones(3), 2 * r - 1, 6 * r**2 - 6 * r + 1], axis=-1)
    np.testing.assert_allclose(bst.shifted_legendre(3, jnp.asarray(r)), expected, rtol=1e-6, atol=1e-6)


def _pure_memory(order, theta, dt):
    """An LMU whose memory is driven by its single input alone (u_t = x_t)."""
    lmu = bst.LMU(1, 2, order=order, theta=theta, dt=dt, key=jr.key(0))
    return eqx.tree_at(lambda m: (m.input_encoder, m.hidden_encoder), lmu, (jnp.ones(1), jnp.zeros(2)))


def test_memory_reconstructs_the_delayed_band_limited_signal():
    order, theta, dt, n_steps = 12, 100.0, 0.25, 2400
    freqs = np.array([0.3, 0.8, 1.5]) / theta  # cycles/ms, well below the memory's bandwidth
    amps, phases = np.array([1.0, 0.7, 0.5]), np.array([0.1, 1.3, 2.0])
    t = np.arange(n_steps) * dt
    signal = lambda tt: (amps * np.sin(2 * np.pi * freqs * tt[:, None] + phases)).sum(-1)
    with jax.enable_x64(True):
        lmu = _pure_memory(order, theta, dt)
        _, m = lmu.memory(jnp.asarray(signal(t))[:, None, None])
        decoder = np.asarray(bst.shifted_legendre(order, 1.0))
        a_bar, b_bar = np.asarray(lmu.memory_a), np.asarray(lmu.memory_b)
    decoded = np.asarray(m[:, 0, :]) @ decoder
    # analytic steady state of the discrete system: H_d(z) = c (z I - A_bar)^-1 z B_bar at
    # z = exp(i w dt) (m_t = A_bar m_{t-1} + B_bar u_t, input of step t enters that step)
    z = np.exp(2j * np.pi * freqs * dt)
    h_d = np.array([decoder @ np.linalg.solve(zk * np.eye(order) - a_bar, zk * b_bar) for zk in z])
    steady = (amps * np.imag(h_d * np.exp(1j * (2 * np.pi * freqs * t[:, None] + phases)))).sum(-1)
    late = t >= 5 * theta  # transients (slowest pole ~ theta / 10) have died out
    np.testing.assert_allclose(decoded[late], steady[late], atol=1e-6)
    # and that steady state is the input delayed by theta, within the analytic Pade/ZOH bound
    bound = (amps * np.abs(h_d - np.exp(-2j * np.pi * freqs * theta))).sum()
    error = np.abs(decoded[late] - signal(t[late] - theta)).max()
    assert error <= bound + 1e-6
    assert bound < 0.02 * amps.sum()  # the memory is a delay line to 2%
    # a shorter delay theta' = theta / 2 decodes with P(1/2)
    half = np.asarray(m[:, 0, :]) @ np.asarray(bst.shifted_legendre(order, 0.5))
    assert np.abs(half[late] - signal(t[late] - theta / 2)).max() < 0.05 * amps.sum()


def _lmu_reference(lmu, x):
    """The LMU equations in NumPy, one sequence at a time."""
    p = {
        k: np.asarray(getattr(lmu, k))
        for k in (
            "input_encoder",
            "hidden_encoder",
            "memory_encoder",
            "input_weights",
            "hidden_weights",
            "memory_weights",
            "bias",
            "memory_a",
            "memory_b",
        )
    }
    m = np.zeros((x.shape[1], lmu.order))
    h = np.zeros((x.shape[1], lmu.n_out))
    out = []
    for x_t in np.asarray(x):
        u = x_t @ p["input_encoder"] + h @ p["hidden_encoder"] + m @ p["memory_encoder"]
        m = m @ p["memory_a"].T + np.outer(u, p["memory_b"])
        h = np.tanh(x_t @ p["input_weights"] + h @ p["hidden_weights"] + m @ p["memory_weights"] + p["bias"])
        out.append(h)
    return np.stack(out)


def test_lmu_matches_a_reference_implementation_and_checkpointing():
    with jax.enable_x64(True):
        e_m = jr.normal(jr.key(2), (4,))
        lmu, chunked = (
            eqx.tree_at(
                lambda m: m.memory_encoder, bst.LMU(3, 5, order=4, theta=10.0, key=jr.key(1), **kw), e_m
            )
            for kw in ({}, {"checkpoint_every": 4})
        )
        x = jr.normal(jr.key(3), (17, 2, 3))
        np.testing.assert_allclose(lmu(x), _lmu_reference(lmu, x), rtol=1e-10, atol=1e-12)
        loss = lambda model: jnp.sum(model(x) ** 2)
        g_plain, g_chunk = jax.grad(loss)(lmu), jax.grad(loss)(chunked)
        np.testing.assert_allclose(g_plain.hidden_weights, g_chunk.hidden_weights, rtol=1e-10)
        assert np.all(np.asarray(g_plain.memory_a) == 0.0)  # the memory matrices stay fixed
        batch_first = lmu(jnp.swapaxes(x, 0, 1), batch_first=True)
        np.testing.assert_allclose(jnp.swapaxes(batch_first, 0, 1), lmu(x), rtol=1e-12)


def test_lmu_jit_vmap_grad_finite():
    lmu = bst.LMU(2, 4, order=3, theta=5.0, key=jr.key(0))
    xs = jr.normal(jr.key(1), (3, 6, 2, 2))  # 3 independent runs
    grads = jax.jit(jax.vmap(jax.grad(lambda x: jnp.sum(lmu(x)))))(xs)
    assert grads.shape == xs.shape and bool(jnp.all(jnp.isfinite(grads)))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"order": 0, "theta": 1.0}, ValueError, "`order` must be an integer >= 1"),
        ({"order": 2, "theta": -1.0}, ValueError, "`theta` must be > 0 ms"),
        ({"order": 2, "theta": 1.0, "dt": 0.0}, ValueError, "`dt` must be > 0 ms"),
    ],
)
def test_lmu_rejects_bad_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        bst.LMU(1, 2, key=jr.key(0), **kwargs)


def test_lmu_rejects_bad_input():
    lmu = bst.LMU(3, 2, order=2, theta=4.0, key=jr.key(0))
    with pytest.raises(ValueError, match="`n_in` = 3"):
        lmu(jnp.zeros((5, 1, 4)))
    with pytest.raises(TypeError, match="floating point"):
        lmu(jnp.zeros((5, 1, 3), jnp.int32))


# --------------------------------------------------------------------------- EGRU


def _egru_reference(egru, x):
    """The EGRU equations in NumPy: `(y, e, c_before_reset)`, each `(T, batch, n)`."""
    w, v = np.asarray(egru.input_weights), np.asarray(egru.recurrent_weights)
    unit = egru.unit
    b = np.concatenate([np.asarray(a) for a in (unit.bias_update, unit.bias_reset, unit.bias_candidate)])
    theta = np.asarray(unit.threshold)
    n = theta.shape[0]
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))
    c = np.zeros((x.shape[1], n))
    y = np.zeros_like(c)
    ys, es, cs = [], [], []
    for x_t in np.asarray(x):
        g = x_t @ w + b
        u = sig(g[:, :n] + y @ v[:, :n])
        r = sig(g[:, n : 2 * n] + y @ v[:, n : 2 * n])
        z = np.tanh(g[:, 2 * n :] + r * (y @ v[:, 2 * n :]))  # reset gate after the product
        c = u * z + (1 - u) * c
        e = (c > theta).astype(float)
        y = c * e
        ys.append(y), es.append(e), cs.append(c.copy())
        c = c - theta * e
    return np.stack(ys), np.stack(es), np.stack(cs)


def test_egru_matches_reference_and_activity_is_the_fraction_above_threshold():
    with jax.enable_x64(True):
        egru = bst.EGRU(4, 16, key=jr.key(0), threshold=0.05)
        biases = 0.5 * jr.normal(jr.key(5), (3, 16))
        egru = eqx.tree_at(
            lambda m: (m.unit.bias_update, m.unit.bias_reset, m.unit.bias_candidate), egru, tuple(biases)
        )
        x = 2.0 * jr.normal(jr.key(1), (30, 3, 4))
        y, e = egru.events(x)
    y_ref, e_ref, c_ref = _egru_reference(egru, x)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(e, e_ref)
    above = np.mean(c_ref > np.asarray(egru.unit.threshold))
    assert 0.05 < above < 0.95  # a non-trivial case
    assert float(np.mean(np.asarray(e))) == pytest.approx(above, abs=1e-15)
    assert np.count_nonzero(np.asarray(y)) == int(np.sum(np.asarray(e)))  # silent unless an event


def test_egru_is_silent_with_a_large_threshold():
    egru = bst.EGRU(3, 8, key=jr.key(0), threshold=1.0)  # |c| < 1 always: never crosses
    y, e = egru.events(5.0 * jr.normal(jr.key(1), (50, 4, 3)))
    assert float(jnp.sum(e)) == 0.0 and float(jnp.sum(jnp.abs(y))) == 0.0


def test_egru_gradients_equal_finite_differences():
    # float64, a smooth (sigmoid) surrogate, and no unit within 0.02 of its threshold: the loss
    # is smooth near these weights and the surrogate terms vanish, so autodiff must equal
    # central differences of the true forward pass
    with jax.enable_x64(True):
        egru = bst.EGRU(2, 3, key=jr.key(8), threshold=0.1, surrogate=bs.Sigmoid(slope=2000.0))
        x = 1.5 * jr.normal(jr.key(108), (12, 2, 2))
        _, _, c_before = _egru_reference(egru, x)
        assert np.abs(c_before - np.asarray(egru.unit.threshold)).min() > 0.02
        _, e = egru.events(x)
        assert 0 < float(jnp.sum(e)) < e.size  # events happen

        params, static = eqx.partition(egru, eqx.is_inexact_array)
        loss = lambda p: jnp.sum(jnp.sin(3.0 * eqx.combine(p, static)(x)))
        grad = jax.grad(loss)(params)
        for k in range(3):
            direction = jax.tree.map(
                lambda a, kk=k: jr.normal(jr.fold_in(jr.key(9), kk), a.shape, a.dtype), params
            )
            h = 1e-6
            shift = lambda s, d=direction: jax.tree.map(lambda a, b: a + s * b, params, d)
            fd = (loss(shift(h)) - loss(shift(-h))) / (2 * h)
            ad = sum(
                jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grad), jax.tree.leaves(direction), strict=True)
            )
            assert float(ad) == pytest.approx(float(fd), rel=1e-6, abs=1e-8)
        assert bool(jnp.all(jnp.isfinite(grad.unit.threshold)))


def test_egru_thresholds_learn_through_the_surrogate_and_checkpointing_agrees():
    egru = bst.EGRU(3, 6, key=jr.key(0))
    x = jr.normal(jr.key(1), (20, 2, 3))
    loss = lambda m: jnp.sum(m(x))
    g = jax.grad(loss)(egru)
    assert bool(jnp.all(jnp.isfinite(g.unit.threshold))) and float(jnp.abs(g.unit.threshold).sum()) > 0
    chunked = bst.EGRU(3, 6, key=jr.key(0), checkpoint_every=6)
    g_chunk = jax.grad(loss)(chunked)
    np.testing.assert_allclose(g_chunk.recurrent_weights, g.recurrent_weights, rtol=1e-5, atol=1e-6)
    batched = jax.jit(jax.vmap(lambda xx: egru(xx)))(jnp.stack([x, -x]))
    np.testing.assert_allclose(batched[1], egru(-x), rtol=1e-6, atol=1e-7)


def _egru_network(egru, n_steps):
    n_in, n = egru.n_in, egru.n_out
    w, v = egru.input_weights, egru.recurrent_weights
    gate = bs.dynamics.neurons.Gate
    names = ("update", "reset", "candidate")
    projections = [
        bs.Projection(
            pre,
            "h",
            bs.Dense(m[:, k * n : (k + 1) * n]),
            bs.InstantaneousSynapse(),
            gate(g),
            name=f"{pre}:{g}",
        )
        for pre, m, gates in (("in", w, names), ("h", v, ("update", "reset", "candidate_recurrent")))
        for k, g in enumerate(gates)
    ]
    populations = [
        bs.Population("in", n_in, bs.ValueSource()),
        bs.Population("h", n, egru.unit, solver=bst.DiscreteTimeUpdate()),
    ]
    return bs.Network(populations, projections, key=jr.key(0))


def test_egru_layer_equals_a_network_of_egru_units():
    """ValueSource -> three `Gate` projections -> `EGRUUnit` population, with its own outputs
    back through three more (delay 1 step): the network emits the layer's outputs for the input
    delayed by one step (a `ValueSource` projection delivers row t in step t + 1)."""
    n_steps = 25
    with jax.enable_x64(True):
        egru = bst.EGRU(3, 5, key=jr.key(2), threshold=0.05, dtype=jnp.float64)
        x = 1.5 * jr.normal(jr.key(3), (n_steps, 3), jnp.float64)
        net = _egru_network(egru, n_steps)
        out = bs.run(net, float(n_steps), 1.0, key=jr.key(0), inputs={"in": x}).outputs["h"]
        shifted = jnp.concatenate([jnp.zeros_like(x[:1]), x[:-1]])[:, None, :]
        y, e = egru.events(shifted)
        np.testing.assert_allclose(np.asarray(out), np.asarray(y[:, 0]), rtol=1e-10, atol=1e-12)
        assert 0 < float(e.sum()) < e.size
        # and the population's default solver refuses the discrete-time unit
        with pytest.raises(TypeError, match="DiscreteTimeUpdate"):
            plain = bs.Network(
                [bs.Population("in", 3, bs.ValueSource()), bs.Population("h", 5, egru.unit)],
                net.projections,
                key=jr.key(0),
            )
            bs.run(plain, float(n_steps), 1.0, key=jr.key(0), inputs={"in": x})


def test_egru_rejects_bad_fields_and_input():
    egru = bst.EGRU(3, 4, key=jr.key(0))
    with pytest.raises(TypeError, match="surrogate"):  # (beartype checks it first under the tests)
        bst.EGRU(3, 4, key=jr.key(0), surrogate="superspike")
    with pytest.raises(ValueError, match="`n_hidden` must be an integer >= 1"):
        bst.EGRU(3, 0, key=jr.key(0))
    with pytest.raises(ValueError, match="the batch is empty"):
        egru(jnp.zeros((5, 0, 3)))


# --------------------------------------------------------------------------- char LM


def test_text_reader_windows_and_entropy():
    indices, alphabet = bst.encode_text("abcab")
    assert alphabet == "abc" and indices.tolist() == [0, 1, 2, 0, 1]
    inputs, targets = bst.char_sequences(np.arange(10), 3)
    assert inputs.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert targets.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert bst.unigram_entropy_bits("aabb") == pytest.approx(1.0)
    assert bst.unigram_entropy_bits("aaab") == pytest.approx(
        -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    )
    with pytest.raises(ValueError, match="missing from `alphabet`"):
        bst.encode_text("abz", "ab")
    with pytest.raises(ValueError, match="too few"):
        bst.char_sequences(np.arange(3), 5)


def test_shipped_text():
    text = bst.shakespeare_text()
    assert 20_000 <= len(text.encode()) <= 100_000
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")


def test_char_lm_trains_below_unigram_entropy_and_reports_its_activity():
    text = bst.shakespeare_text()
    indices, alphabet = bst.encode_text(text)
    train = bst.char_sequences(indices[:50_000], 32)
    held_out = tuple(jnp.asarray(a[:64]) for a in bst.char_sequences(indices[50_000:], 32))
    model = bst.CharLanguageModel(len(alphabet), 64, key=jr.key(0))
    start = time.perf_counter()
    model, history = bst.fit(
        model,
        bst.char_lm_loss,
        optax.adam(1e-2),
        train,
        epochs=3,
        batch_size=64,
        key=jr.key(1),
        progress=False,
    )
    assert time.perf_counter() - start < 30.0
    loss, metrics = bst.char_lm_loss(model, *held_out)
    entropy = bst.unigram_entropy_bits(text)
    assert history["bits_per_char"][-1] < entropy - 0.3
    assert float(metrics["bits_per_char"]) < entropy
    # the reported activity is the measured fraction of units with a non-zero output
    x = jax.nn.one_hot(jnp.swapaxes(held_out[0], 0, 1), len(alphabet))
    y = model.egru(x)
    assert float(metrics["activity"]) == pytest.approx(np.count_nonzero(np.asarray(y)) / y.size, abs=1e-7)
    assert 0.0 < float(metrics["activity"]) < 1.0
