"""The native CPU kernels behind `event_matvec` (`brainsim/ops/_native/`) against a dense NumPy
reference, through the public operator with `kernel="auto"` (native where built, else reference)."""

import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import brainsim as bs
from brainsim.ops import _native

N_PRE, N_POST = 67, 41  # 67 rows: several 64-byte spike blocks plus a remainder

needs_native = pytest.mark.skipif(
    not _native.available(), reason=f"native kernels unavailable: {_native.unavailable_reason()}"
)


def csr_event_matvec_native(indptr, indices, weights, spikes, n_post):
    longest = int(np.diff(indptr).max(initial=0))
    conn = bs.CSR(indptr, indices, jnp.asarray(weights), n_post, max_row_length=longest)
    return bs.event_matvec(conn, jnp.asarray(spikes))


def ell_event_matvec_native(targets, weights, spikes, n_post):
    return bs.event_matvec(bs.ELL(targets, jnp.asarray(weights), n_post), jnp.asarray(spikes))


def _random_csr(rng, n_pre=N_PRE, n_post=N_POST):
    counts = rng.integers(0, 9, n_pre)
    counts[::7] = 0  # some empty rows
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    indices = rng.integers(0, n_post, indptr[-1]).astype(np.int32)  # duplicates allowed
    rows = np.repeat(np.arange(n_pre), counts)
    return indptr, indices, rows


def _random_ell(rng, n_pre=N_PRE, n_post=N_POST, k=6):
    targets = rng.integers(0, n_post, (n_pre, k)).astype(np.int32)
    targets[rng.random((n_pre, k)) < 0.25] = n_post  # padding: "no synapse"
    return targets


def _case(fmt, homogeneous, dtype, seed=0):
    """`(f(weights, spikes) -> y, weights, dense(weights) -> (n_pre, n_post))`."""
    rng = np.random.default_rng(seed)
    if fmt == "csr":
        indptr, indices, rows = _random_csr(rng)
        shape = indices.shape
        fn = lambda w, s: csr_event_matvec_native(indptr, indices, w, s, N_POST)

        def dense(w):
            out = np.zeros((N_PRE, N_POST), np.float64)
            np.add.at(out, (rows, indices), np.broadcast_to(w, shape))
            return out

    else:
        targets = _random_ell(rng)
        shape = targets.shape
        fn = lambda w, s: ell_event_matvec_native(targets, w, s, N_POST)

        def dense(w):
            out = np.zeros((N_PRE, N_POST + 1), np.float64)
            rows = np.broadcast_to(np.arange(N_PRE)[:, None], shape)
            np.add.at(out, (rows, targets), np.broadcast_to(w, shape))
            return out[:, :N_POST]

    weights = np.asarray(0.7 if homogeneous else rng.normal(size=shape), dtype)
    return fn, weights, dense


def _spikes(kind, rng, shape=(N_PRE,)):
    if kind == "empty":
        return np.zeros(shape)
    if kind == "all":
        return np.ones(shape)
    if kind == "sparse":
        return (rng.random(shape) < 0.1).astype(np.float64)
    return rng.normal(size=shape) * (rng.random(shape) < 0.5)  # graded, some zeros


def _tolerance(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@needs_native
@pytest.mark.parametrize("mode", ["eager", "jit", "vmap"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["empty", "all", "sparse", "graded"])
@pytest.mark.parametrize("homogeneous", [True, False], ids=["homogeneous", "heterogeneous"])
@pytest.mark.parametrize("fmt", ["csr", "ell"])
def test_matches_dense(fmt, homogeneous, kind, dtype, mode):
    with jax.enable_x64(dtype == np.float64):
        fn, weights, dense = _case(fmt, homogeneous, dtype)
        rng = np.random.default_rng(1)
        if mode == "vmap":
            spikes = _spikes(kind, rng, (3, N_PRE)).astype(dtype)
            y = jax.jit(jax.vmap(fn, in_axes=(None, 0)))(weights, spikes)
        else:
            spikes = _spikes(kind, rng).astype(dtype)
            y = (jax.jit(fn) if mode == "jit" else fn)(weights, spikes)
        assert y.dtype == dtype
        assert y.shape == spikes.shape[:-1] + (N_POST,)
        expected = spikes.astype(np.float64) @ dense(weights.astype(np.float64))
        np.testing.assert_allclose(np.asarray(y), expected, **_tolerance(dtype))


@needs_native
@pytest.mark.parametrize("fmt", ["csr", "ell"])
def test_native_kernel_is_used(fmt):
    fn, weights, _ = _case(fmt, False, np.float32)
    jaxpr = str(jax.make_jaxpr(fn)(weights, np.zeros(N_PRE, np.float32)))
    assert "ffi_call" in jaxpr


@needs_native
@pytest.mark.parametrize("fmt", ["csr", "ell"])
def test_vmap_batched_weights_and_nested(fmt):
    """Batched weights (not only spikes) and two nested vmaps (broadcast over one batch axis)."""
    fn, weights, dense = _case(fmt, False, np.float32)
    rng = np.random.default_rng(2)
    w_batch = (weights[None] * rng.random((3, 1) + (1,) * (weights.ndim - 1))).astype(np.float32)
    spikes = _spikes("graded", rng, (3, N_PRE)).astype(np.float32)
    y = jax.jit(jax.vmap(fn))(w_batch, spikes)
    expected = np.stack([spikes[b] @ dense(w_batch[b]) for b in range(3)])
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-5)

    spikes2 = _spikes("sparse", rng, (2, 3, N_PRE)).astype(np.float32)
    inner = jax.vmap(fn, in_axes=(0, 0))  # over the 3 weight sets and spike rows
    y2 = jax.jit(jax.vmap(inner, in_axes=(None, 0)))(w_batch, spikes2)
    expected2 = np.stack(
        [np.stack([spikes2[a, b] @ dense(w_batch[b]) for b in range(3)]) for a in range(2)]
    )
    np.testing.assert_allclose(np.asarray(y2), expected2, rtol=1e-5, atol=1e-5)


@needs_native
@pytest.mark.parametrize("homogeneous", [True, False], ids=["homogeneous", "heterogeneous"])
@pytest.mark.parametrize("fmt", ["csr", "ell"])
def test_gradients(fmt, homogeneous):
    with jax.enable_x64(True):
        fn, weights, _ = _case(fmt, homogeneous, np.float64)
        rng = np.random.default_rng(3)
        spikes = _spikes("graded", rng)
        cotangent = rng.normal(size=N_POST)
        loss = lambda w, s: fn(w, s) @ jnp.asarray(cotangent)
        check_grads(fn, (weights, spikes), order=1, modes=["rev"])
        check_grads(jax.jit(loss), (weights, spikes), order=1, modes=["rev"])
        per_row = jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1)), in_axes=(None, 0)))
        d_w, d_s = per_row(weights, np.stack([spikes, 2 * spikes, 0 * spikes]))
        np.testing.assert_allclose(d_s[1], d_s[0], rtol=1e-12)  # y is linear in s
        np.testing.assert_allclose(d_w[1], 2 * d_w[0], rtol=1e-12)
        np.testing.assert_array_equal(d_w[2], np.zeros_like(d_w[0]))


@needs_native
def test_gradient_float32_spike_cotangent_is_row_gather():
    """d y / d s_i = sum_j w_ij g_j, checked against the dense matrix in float32."""
    fn, weights, dense = _case("ell", False, np.float32)
    spikes = np.zeros(N_PRE, np.float32)
    g = np.random.default_rng(4).normal(size=N_POST).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # fallback warning when not built
        d_spikes = jax.grad(lambda s: fn(weights, s) @ g)(spikes)
    np.testing.assert_allclose(d_spikes, dense(weights) @ g, rtol=1e-5, atol=1e-5)


@needs_native
def test_invalid_indptr_raises():
    indptr = np.array([0, 3, 1, 4], np.int32)
    with pytest.raises(Exception, match="indptr"):
        csr_event_matvec_native(
            indptr, np.zeros(4, np.int32), 1.0, np.ones(3), 5
        ).block_until_ready()


@pytest.fixture
def unavailable_library(monkeypatch):
    def fail(stem=None):
        raise OSError("simulated missing library")

    jax.clear_caches()
    _native._reset_for_tests()
    monkeypatch.setattr(_native, "_load_library", fail)
    yield
    monkeypatch.undo()
    _native._reset_for_tests()
    jax.clear_caches()


@pytest.mark.parametrize("fmt", ["csr", "ell"])
def test_fallback_warns_once_and_matches(fmt, unavailable_library):
    fn, weights, dense = _case(fmt, False, np.float32, seed=5)
    rng = np.random.default_rng(6)
    spikes = _spikes("graded", rng).astype(np.float32)
    assert not _native.available()  # silent
    with pytest.warns(RuntimeWarning) as record:
        y = fn(weights, spikes)
        y_jit = jax.jit(fn)(weights, spikes)
        y_vmap = jax.vmap(fn, in_axes=(None, 0))(weights, np.stack([spikes, spikes]))
        grads = jax.grad(lambda w, s: jnp.sum(fn(w, s) ** 2), argnums=(0, 1))(weights, spikes)
    messages = [str(w.message) for w in record]
    assert messages == [
        "brainsim: native CPU kernels unavailable (simulated missing library); "
        "using the pure-JAX reference path."
    ]
    assert "ffi_call" not in str(jax.make_jaxpr(fn)(weights, spikes))
    expected = spikes.astype(np.float64) @ dense(weights.astype(np.float64))
    for out in (y, y_jit, y_vmap[0], y_vmap[1]):
        np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)
    d_spikes = dense(weights.astype(np.float64)) @ (2 * expected)  # loss = sum(y**2)
    np.testing.assert_allclose(np.asarray(grads[1]), d_spikes, rtol=1e-4, atol=1e-4)
    assert grads[0].shape == weights.shape


def test_available_is_silent_and_import_does_not_load():
    code = (
        "import brainsim.ops._native as n; before = len(n._states); n.available(n.NETWORK_KERNELS); "
        "print(before, len(n._states))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "1"]  # importing loads no library; asking loads it
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and asking raises no warning, whatever the answer
        for library in ("_event_kernels", _native.NETWORK_KERNELS):
            assert _native.available(library) == (_native.unavailable_reason(library) is None)
