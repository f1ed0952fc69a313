"""`event_matmat` / batched `event_matvec`: a batch of spike vectors through every format and
kernel, against dense NumPy products, with gradients against finite differences."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jax.test_util import check_grads
from test_event import FORMATS, MAX_ACTIVE, N_POST, N_PRE, _case

import brainsim as bs
from brainsim.ops import _native, event_matmat, event_matvec

native = pytest.mark.skipif(_native.unavailable_reason() is not None, reason="native kernels not built")


def _procedural(fmt):
    weight_std = 0.2 if fmt == "procedural-noisy" else 0.0
    kwargs = {"probability": 0.05} if fmt == "procedural-probability" else {"degree": 5}
    conn = bs.Procedural(
        jr.key(3), N_PRE, N_POST, weight=0.8, weight_std=weight_std, max_active=MAX_ACTIVE, **kwargs
    )
    return conn, np.asarray(bs.ops.to_dense(conn))


ALL_FORMATS = [*FORMATS, "procedural-degree", "procedural-probability", "procedural-noisy"]


def _batch(active_counts, dtype=np.float32, seed=4):
    """One spike vector per count: 0/1 spikes of `count` random neurons, graded on odd rows."""
    rng = np.random.default_rng(seed)
    batch = np.zeros((len(active_counts), N_PRE), dtype)
    for b, count in enumerate(active_counts):
        values = rng.normal(size=count) if b % 2 else np.ones(count)
        batch[b, rng.choice(N_PRE, count, replace=False)] = values
    return batch


def _covered(fmt, kernel) -> bool:
    """Pallas covers CSR and ELL; the native kernel every format but noisy procedural weights."""
    if kernel == "pallas":
        return fmt.startswith(("csr", "ell"))
    return kernel != "native" or fmt != "procedural-noisy"


# Active rows per batch element; their union fits the small buffer, the large one, or neither
# (exact path). Procedural formats (slow to compile in JAX) take the sparse and the exact case.
COUNTS = [(0, 0), (3, 4, 2), (12, 20, 9), (30, 0, N_PRE)]
CASES = [
    pytest.param(fmt, kernel, counts, marks=[native] if kernel == "native" else [])
    for fmt in ALL_FORMATS
    for kernel in ("reference", "native", "pallas")
    for counts in (COUNTS[1::2] if fmt.startswith("procedural") else COUNTS)
    if _covered(fmt, kernel)
]


@pytest.mark.parametrize(("fmt", "kernel", "counts"), CASES)
def test_batch_matches_dense_product(fmt, kernel, counts):
    conn, dense = _procedural(fmt) if fmt.startswith("procedural") else _case(fmt)
    spikes = _batch(counts)
    expected = spikes.astype(np.float64) @ dense.astype(np.float64)
    out = jax.jit(lambda c, s: event_matmat(c, s, kernel=kernel))(conn, spikes)
    assert out.shape == (len(counts), N_POST)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)
    one_by_one = np.stack([event_matvec(conn, s, kernel=kernel) for s in spikes])
    np.testing.assert_allclose(out, one_by_one, rtol=1e-5, atol=1e-5)
    three_d = event_matvec(conn, spikes.reshape(1, *spikes.shape), kernel=kernel)
    np.testing.assert_allclose(three_d[0], out, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kernel", ["reference", pytest.param("native", marks=native)])
@pytest.mark.parametrize("fmt", ["csr-array", "csr-scalar", "ell-array", "ell-scalar", "procedural-degree"])
def test_batch_gradients(fmt, kernel):
    with jax.enable_x64(True):
        conn, _ = _procedural(fmt) if fmt.startswith("procedural") else _case(fmt, np.float64)
        conn = jax.tree_util.tree_map(
            lambda x: x.astype(np.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, conn
        )
        spikes = jnp.asarray(_batch((3, 12, 0), np.float64))

        def loss(scale, s):
            return jnp.sum(jnp.sin(event_matmat(bs.ops.scale_weights(conn, scale), s, kernel=kernel)))

        check_grads(loss, (1.2, spikes), order=1, modes=["rev"])


def test_matmat_rejects_vectors():
    conn, _ = _case("csr-scalar")
    with pytest.raises((ValueError, TypeError), match="batch"):  # TypeError: jaxtyping checks
        event_matmat(conn, np.zeros(N_PRE, np.float32))
