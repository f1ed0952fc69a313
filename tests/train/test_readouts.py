import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.linalg

from brainsim.train.readouts import LinearReadout, fit_logistic, force_train, ridge_readout, rls_update


def test_ridge_readout_matches_scipy_closed_form_in_float64():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 8)) * np.linspace(0.5, 3.0, 8) + 2.0
    y = x @ rng.standard_normal((8, 3)) + 0.1 * rng.standard_normal((60, 3)) - 1.0
    alpha = 2.5
    # reference: augmented least squares, penalty on the weights only (not the intercept)
    xc, yc = x - x.mean(0), y - y.mean(0)
    w_ref = scipy.linalg.solve(xc.T @ xc + alpha * np.eye(8), xc.T @ yc, assume_a="pos")
    b_ref = y.mean(0) - x.mean(0) @ w_ref
    with jax.enable_x64(True):
        readout = jax.jit(ridge_readout)(jnp.asarray(x), jnp.asarray(y), alpha)
        np.testing.assert_allclose(np.asarray(readout.weights), w_ref, rtol=1e-10)
        np.testing.assert_allclose(np.asarray(readout.bias), b_ref, rtol=1e-10, atol=1e-12)
        # the objective's gradient vanishes at the solution
        objective = lambda r: jnp.sum((r(jnp.asarray(x)) - y) ** 2) + alpha * jnp.sum(r.weights**2)
        grads = jax.grad(objective)(readout)
        assert float(jnp.abs(grads.weights).max()) < 1e-8 and float(jnp.abs(grads.bias).max()) < 1e-8
        # alpha = 0 is ordinary least squares with an intercept
        ols = ridge_readout(jnp.asarray(x), jnp.asarray(y), 0.0)
        coef, *_ = scipy.linalg.lstsq(np.hstack([x, np.ones((60, 1))]), y)
        np.testing.assert_allclose(np.asarray(ols.weights), coef[:8], rtol=1e-9)
        np.testing.assert_allclose(np.asarray(ols.bias), coef[8], rtol=1e-9)
        no_bias = ridge_readout(jnp.asarray(x), jnp.asarray(y), alpha, fit_bias=False)
        w_nb = scipy.linalg.solve(x.T @ x + alpha * np.eye(8), x.T @ y)
        np.testing.assert_allclose(np.asarray(no_bias.weights), w_nb, rtol=1e-10)
        assert np.all(np.asarray(no_bias.bias) == 0.0)


def test_ridge_readout_is_differentiable_in_alpha_and_shrinks():
    x, y = jr.normal(jr.key(0), (40, 5)), jr.normal(jr.key(1), (40, 2))
    norm = lambda a: jnp.sum(ridge_readout(x, y, a).weights ** 2)
    g = jax.grad(norm)(jnp.asarray(1.0))
    assert np.isfinite(float(g)) and float(g) < 0  # more penalty, smaller weights
    assert float(norm(jnp.asarray(100.0))) < float(norm(jnp.asarray(1.0)))
    readout = ridge_readout(x, y, 1.0)
    assert isinstance(readout, LinearReadout) and readout(x).shape == (40, 2) and readout(x[0]).shape == (2,)


def test_ridge_readout_rejects_bad_inputs():
    x, y = jnp.ones((10, 3)), jnp.ones((10, 2))
    with pytest.raises(ValueError, match="`alpha` must be >= 0"):
        ridge_readout(x, y, -1.0)
    with pytest.raises((ValueError, TypeError), match="targets"):  # annotation check or ours
        ridge_readout(x, y[:9], 1.0)
    with pytest.raises(ValueError, match="empty"):
        ridge_readout(jnp.ones((0, 3)), jnp.ones((0, 2)), 1.0)


def _blobs(key, n_per_class, centres):
    keys = jr.split(key, len(centres))
    x = jnp.concatenate(
        [c[None, :] + 0.5 * jr.normal(k, (n_per_class, len(c))) for k, c in zip(keys, centres, strict=True)]
    )
    y = jnp.repeat(jnp.arange(len(centres)), n_per_class)
    return x, y


def test_fit_logistic_separates_separable_classes():
    centres = jnp.array([[3.0, 0.0, 0.0], [-3.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    x, y = _blobs(jr.key(2), 50, centres)
    assert float(jnp.min(jnp.linalg.norm(x[:50, None] - x[None, 50:100], axis=-1))) > 1.0  # separable
    readout = fit_logistic(x, y, n_classes=3, steps=300)
    assert float(jnp.mean(readout.predict(x) == y)) == 1.0
    x_test, y_test = _blobs(jr.key(3), 30, centres)
    assert float(jnp.mean(readout.predict(x_test) == y_test)) >= 0.97
    # confident, not just right: mean log-likelihood near 0 (the zero start is at log(1/3) = -1.1)
    assert float(jnp.mean(jax.nn.log_softmax(readout(x))[jnp.arange(150), y])) > -0.1


def test_fit_logistic_rejects_bad_labels_and_empty_data():
    x = jnp.ones((4, 2))
    with pytest.raises(ValueError, match=r"`labels` must be in \[0, 2\)"):
        fit_logistic(x, jnp.array([0, 1, 2, 1]), n_classes=2)
    with pytest.raises(ValueError, match="empty"):
        fit_logistic(jnp.ones((0, 2)), jnp.zeros(0, jnp.int32), n_classes=2)
    with pytest.raises(ValueError, match="`n_classes` must be >= 2"):
        fit_logistic(x, jnp.zeros(4, jnp.int32), n_classes=1)


def _numpy_rls(states, targets, alpha):
    """Sherman-Morrison RLS written out step by step, float64."""
    d, k = states.shape[1], targets.shape[1]
    p, w, outputs = np.eye(d) / alpha, np.zeros((d, k)), []
    for r, f in zip(states, targets, strict=True):
        z = w.T @ r
        outputs.append(z)
        gain = p @ r / (1.0 + r @ p @ r)  # = P_new r
        p = p - np.outer(gain, r @ p)
        w = w - np.outer(gain, z - f)
    return w, p, np.array(outputs)


def test_rls_update_is_sherman_morrison_inverse_correlation():
    rng = np.random.default_rng(1)
    states = rng.standard_normal((30, 6))
    with jax.enable_x64(True):
        p, w = jnp.eye(6) / 0.5, jnp.zeros((6, 1))
        for r in states:
            p, w = rls_update(p, w, jnp.asarray(r), jnp.zeros(1))
        # P after the updates is the inverse of alpha I + sum r r^T
        np.testing.assert_allclose(
            np.asarray(p), np.linalg.inv(0.5 * np.eye(6) + states.T @ states), rtol=1e-9
        )


def _reservoir(n_steps, period, n=100, seed=0):
    """States of a fixed random tanh reservoir driven by a sine (echo-state regime, g = 0.8)."""
    rng = np.random.default_rng(seed)
    w_rec = 0.8 * rng.standard_normal((n, n)) / np.sqrt(n)
    w_in, bias = rng.standard_normal(n), 0.5 * rng.standard_normal(n)
    r, states = np.zeros(n), []
    for k in range(n_steps):
        r = np.tanh(w_rec @ r + w_in * np.sin(2 * np.pi * k / period) + bias)
        states.append(r)
    return np.array(states)


def test_force_train_learns_a_sine_and_equals_numpy_rls():
    period, n_steps = 50, 700
    states = _reservoir(n_steps, period)
    target = np.sin(4 * np.pi * np.arange(n_steps) / period + 0.3)[:, None]  # twice the drive frequency
    train, held_out = slice(100, 600), slice(600, 700)
    w, p, z = jax.jit(force_train, static_argnames="alpha")(
        jnp.asarray(states[train], jnp.float32), jnp.asarray(target[train], jnp.float32), alpha=1e-3
    )
    rmse = lambda a, b: float(np.sqrt(np.mean((np.asarray(a) - b) ** 2)))
    assert rmse(z[:50], target[100:150]) > 0.1  # it starts wrong
    assert rmse(z[-50:], target[550:600]) < 0.03  # online error after learning
    assert rmse(states[held_out] @ np.asarray(w), target[held_out]) < 0.03  # frozen weights, new data
    with jax.enable_x64(True):
        w64, p64, z64 = force_train(jnp.asarray(states[100:300]), jnp.asarray(target[100:300]), alpha=1e-2)
    w_ref, p_ref, z_ref = _numpy_rls(states[100:300], target[100:300], 1e-2)
    np.testing.assert_allclose(np.asarray(z64), z_ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.asarray(w64), w_ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.asarray(p64), p_ref, rtol=1e-7, atol=1e-9)


def test_force_train_rejects_bad_inputs():
    with pytest.raises((ValueError, TypeError), match="targets"):
        force_train(jnp.ones((5, 3)), jnp.ones((4, 1)))
    with pytest.raises(ValueError, match="empty"):
        force_train(jnp.ones((0, 3)), jnp.ones((0, 1)))
    with pytest.raises(ValueError, match="`alpha` must be > 0"):
        force_train(jnp.ones((5, 3)), jnp.ones((5, 1)), alpha=0.0)
