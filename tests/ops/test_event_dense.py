"""Tests of `brainsim.ops.event_dense_matmul` (native event products of spikes and dense
weights, `train_kernels.cc`) against XLA's dense product, forward and reverse mode."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from brainsim.ops import EVENT_DENSITY, _native, event_dense_matmul

pytestmark = pytest.mark.skipif(
    not _native.available(_native.TRAIN_KERNELS), reason="native training kernels not built"
)


def _operands(dtype, density, shape=(3, 37, 70), n=45):
    k1, k2 = jr.split(jr.key(0))
    x = jnp.where(jr.uniform(k1, shape) < density, jr.normal(k2, shape), 0.0)  # sparse, not 0/1
    w = jr.normal(jr.key(3), (shape[-1], n))
    return x.astype(dtype), w.astype(dtype)


@pytest.mark.parametrize("density", [0.0, 0.05, 0.5])
def test_product_and_gradients_equal_the_dense_ones_in_float64(density):
    with jax.enable_x64(True):
        x, w = _operands(jnp.float64, density)
        g = jr.normal(jr.key(4), x.shape[:-1] + (w.shape[1],), jnp.float64)

        def loss(f, x, w):
            return jnp.sum(f(x, w) * g)

        got = jax.jit(event_dense_matmul)(x, w)
        grads = jax.grad(lambda x, w: loss(event_dense_matmul, x, w), argnums=(0, 1))(x, w)
        expected = jax.grad(lambda x, w: loss(jnp.matmul, x, w), argnums=(0, 1))(x, w)
        got, grads, want, expected = jax.tree.map(np.asarray, (got, grads, x @ w, expected))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for a, b in zip(grads, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_the_native_kernels_compute_the_products():
    """The event branch itself (below EVENT_DENSITY), odd sizes, float32, several threads' rows."""
    x, w = _operands(jnp.float32, EVENT_DENSITY / 2, shape=(1001, 33), n=70)
    g = jr.normal(jr.key(5), (1001, 70), jnp.float32)
    y = jax.jit(_native.event_matmul_call)(x, w)
    d = jax.jit(_native.event_matmul_t_call)(x, g)
    np.testing.assert_allclose(np.asarray(y), np.asarray(x @ w), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(d), np.asarray(x.T @ g), rtol=1e-5, atol=1e-4)


def test_nonfinite_inputs_propagate():
    x, w = _operands(jnp.float32, 0.05, shape=(8, 64), n=16)
    x = x.at[2, 5].set(jnp.nan)
    y = np.asarray(event_dense_matmul(x, w))
    assert np.isnan(y[2]).all() and np.isfinite(np.delete(y, 2, axis=0)).all()


def test_mixed_dtypes_and_bad_shapes():
    x, w = _operands(jnp.float32, 0.05)
    half = x.astype(jnp.bfloat16), w.astype(jnp.bfloat16)  # no native kernel: XLA's product
    np.testing.assert_array_equal(np.asarray(event_dense_matmul(*half)), np.asarray(half[0] @ half[1]))
    with pytest.raises(ValueError, match="`x` must have shape"):
        event_dense_matmul(x, w.T)
