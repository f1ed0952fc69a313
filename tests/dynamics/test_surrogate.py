import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs

X = jnp.array([-3.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 3.0])


def _sigmoid_closed_form(x, s):
    e = np.exp(-s * x)
    return s * e / (1.0 + e) ** 2


SURROGATES = [
    (bs.SuperSpike(slope=10.0), lambda x: 1.0 / (1.0 + 10.0 * np.abs(x)) ** 2),
    (bs.SuperSpike(slope=2.5), lambda x: 1.0 / (1.0 + 2.5 * np.abs(x)) ** 2),
    (bs.Sigmoid(slope=5.0), lambda x: _sigmoid_closed_form(x, 5.0)),
    (bs.Arctan(alpha=2.0), lambda x: 2.0 / (2.0 * (1.0 + (np.pi * 2.0 * x / 2.0) ** 2))),
]
IDS = ["SuperSpike10", "SuperSpike2.5", "Sigmoid", "Arctan"]


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
    ],
)
def test_rejects_nonpositive_width(make, message):
    with pytest.raises(ValueError, match=message):
        make()
