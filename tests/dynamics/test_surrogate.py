import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.surrogate import NormalizedSuperSpike

X = jnp.array([-3.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 3.0])


def _sigmoid_closed_form(x, s):
    e = np.exp(-s * x)
    return s * e / (1.0 + e) ** 2


SURROGATES = [
    (bs.SuperSpike(slope=10.0), lambda x: 1.0 / (1.0 + 10.0 * np.abs(x)) ** 2),
    (bs.SuperSpike(slope=2.5), lambda x: 1.0 / (1.0 + 2.5 * np.abs(x)) ** 2),
    (bs.Sigmoid(slope=5.0), lambda x: _sigmoid_closed_form(x, 5.0)),
    (bs.Arctan(alpha=2.0), lambda x: 2.0 / (2.0 * (1.0 + (np.pi * 2.0 * x / 2.0) ** 2))),
    (NormalizedSuperSpike(), lambda x: 0.1 / (1.0 + 10.0 * np.abs(x)) ** 2),
    (
        NormalizedSuperSpike(threshold_distance=20.0, slope=50.0, dampening=0.3),
        lambda x: 0.3 / 20.0 / (1.0 + 2.5 * np.abs(x)) ** 2,
    ),
]
IDS = ["SuperSpike10", "SuperSpike2.5", "Sigmoid", "Arctan", "NormalizedSuperSpike", "NormalizedSS20"]


@pytest.mark.parametrize("surrogate, _", SURROGATES, ids=IDS)
def test_forward_is_exactly_heaviside(surrogate, _):
    out = bs.spike_fn(X, surrogate)
    assert out.dtype == X.dtype
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0])  # H(0) = 0


@pytest.mark.parametrize("surrogate, closed_form", SURROGATES, ids=IDS)
def test_gradient_is_the_closed_form_derivative(surrogate, closed_form):
    grad = jax.vmap(jax.grad(lambda x: bs.spike_fn(x, surrogate)))(X)
    np.testing.assert_allclose(grad, closed_form(np.asarray(X, np.float64)), rtol=1e-6)


@pytest.mark.parametrize("surrogate, closed_form", SURROGATES, ids=IDS)
def test_custom_jvp_under_jit_vmap_and_forward_mode(surrogate, closed_form):
    batched = jnp.stack([X, 2.0 * X])
    grad = jax.jit(jax.vmap(jax.vmap(jax.grad(lambda x: bs.spike_fn(x, surrogate)))))(batched)
    np.testing.assert_allclose(grad, closed_form(np.asarray(batched, np.float64)), rtol=1e-6)
    out, tangent = jax.jit(lambda x, dx: jax.jvp(lambda x: bs.spike_fn(x, surrogate), (x,), (dx,)))(
        X, jnp.full_like(X, 3.0)
    )
    np.testing.assert_array_equal(out, bs.spike_fn(X, surrogate))
    np.testing.assert_allclose(tangent, 3.0 * closed_form(np.asarray(X, np.float64)), rtol=1e-6)


def test_surrogate_is_chosen_per_model():
    v = jnp.array([-50.5])  # 0.5 mV below the default threshold

    def spike_grad(surrogate):
        lif = bs.LIF(surrogate=surrogate)
        return jax.grad(lambda v: lif.spike(bs.LIFState(v, jnp.zeros(1))).sum())(v)

    grads = [spike_grad(s) for s in (bs.SuperSpike(), bs.Arctan())]
    assert grads[0][0] == pytest.approx(1 / 36.0, rel=1e-6)  # 1 / (1 + 10 * 0.5)^2
    assert grads[1][0] == pytest.approx(1.0 / (1.0 + (np.pi / 2.0) ** 2), rel=1e-6)


def test_fast_sigmoid_is_superspike():
    assert bs.FastSigmoid is bs.SuperSpike


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: bs.SuperSpike(slope=0.0), "`slope` must be > 0 1/mV; got 0.0"),
        (lambda: bs.Sigmoid(slope=-1.0), "`slope` must be > 0 1/mV; got -1.0"),
        (lambda: bs.Arctan(alpha=0.0), "`alpha` must be > 0 1/mV; got 0.0"),
        (
            lambda: NormalizedSuperSpike(threshold_distance=0.0),
            "`threshold_distance` must be > 0 mV; got 0.0",
        ),
        (lambda: NormalizedSuperSpike(slope=-1.0), "`slope` must be > 0; got -1.0"),
        (lambda: NormalizedSuperSpike(dampening=0.0), "`dampening` must be > 0; got 0.0"),
    ],
)
def test_rejects_nonpositive_width(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_normalized_superspike_is_superspike_in_units_of_the_threshold_distance():
    x = np.linspace(-30.0, 30.0, 61, dtype=np.float32)
    for delta, beta, gamma in [(10.0, 100.0, 1.0), (20.0, 40.0, 0.3), (4.0, 10.0, 2.0)]:
        s = NormalizedSuperSpike(threshold_distance=delta, slope=beta, dampening=gamma)
        # sigma'(x) = gamma / delta * SuperSpike(beta)'(x / delta)
        reference = gamma / delta * bs.SuperSpike(slope=beta).derivative(x / delta)
        np.testing.assert_allclose(s.derivative(x), reference, rtol=1e-6)
        assert float(s.derivative(0.0)) == pytest.approx(gamma / delta)  # peak
    # the defaults are SuperSpike(slope=10) scaled by 1/10 (LIF's threshold distance is 10 mV)
    np.testing.assert_allclose(
        NormalizedSuperSpike().derivative(x), 0.1 * bs.SuperSpike().derivative(x), rtol=1e-6
    )


@pytest.mark.parametrize("surrogate, _", SURROGATES, ids=IDS)
def test_backward_is_finite_everywhere(surrogate, _):
    x = jnp.array([-jnp.inf, -3e38, -1e20, -1e4, -1e-30, 0.0, 1e-30, 1e4, 1e20, 3e38, jnp.inf])
    grad = jax.vmap(jax.grad(lambda x: bs.spike_fn(x, surrogate)))(x)
    assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad) >= 0)
    # a zero surrogate derivative blocks an infinite cotangent instead of giving 0 * Inf = NaN
    far = jnp.array([-jnp.inf, jnp.inf])
    blocked = jax.vmap(jax.grad(lambda x: jnp.inf * bs.spike_fn(x, surrogate)))(far)
    np.testing.assert_array_equal(blocked, [0.0, 0.0])
