"""The Pallas kernel behind `event_matvec(..., kernel="pallas")` (brainsim/ops/pallas_event.py)
against the pure-JAX reference and dense NumPy products. On CPU it runs in Pallas interpret
mode; the Triton lowering (GPU) is checked to lower, not to run."""

import contextlib
import functools as ft

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from brainsim.ops import CSR, ELL, Dense, event_matvec, pallas_event

N_PRE, N_POST, MAX_ACTIVE = 150, 47, 40  # 150 rows: 10 programs of 16 rows, the last one partial
FORMATS = ["csr-scalar", "csr-array", "ell-scalar", "ell-array"]
KINDS = ["empty", "one", "sparse", "graded", "all"]
pallas_matvec = ft.partial(event_matvec, kernel="pallas")
reference_matvec = ft.partial(event_matvec, kernel="reference")


def _case(fmt: str, dtype=np.float32, seed: int = 0):
    """`(conn, W)`: a random format and its dense float64 NumPy matrix, built independently."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((N_PRE, N_POST))
    homogeneous = fmt.endswith("scalar")
    if fmt.startswith("csr"):
        counts = rng.integers(0, 12, N_PRE)
        counts[::9] = 0  # empty rows
        pre = np.repeat(np.arange(N_PRE), counts)
        post = rng.integers(0, N_POST, pre.shape[0])  # duplicate pairs: their weights add
        indptr = np.concatenate([[0], np.cumsum(counts)])
        weight = np.asarray(1.7 if homogeneous else rng.normal(size=pre.shape), dtype)
        np.add.at(dense, (pre, post), weight)
        return CSR(indptr, post, jnp.asarray(weight), N_POST, max_active=MAX_ACTIVE), dense
    targets = rng.integers(0, N_POST, (N_PRE, 6))
    targets[rng.random(targets.shape) < 0.3] = N_POST  # padding
    targets[0] = 5  # one row with every synapse on the same target
    weight = np.asarray(-0.6 if homogeneous else rng.normal(size=targets.shape), dtype)
    rows = np.broadcast_to(np.arange(N_PRE)[:, None], targets.shape)
    real = targets < N_POST
    np.add.at(dense, (rows[real], targets[real]), np.broadcast_to(weight, targets.shape)[real])
    return ELL(targets, jnp.asarray(weight), N_POST, max_active=MAX_ACTIVE), dense


def _spikes(kind: str, dtype=np.float32, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "empty":
        return np.zeros(N_PRE, dtype)
    if kind == "all":
        return np.ones(N_PRE, dtype)
    if kind == "one":
        return np.eye(N_PRE, dtype=dtype)[N_PRE - 1]  # the last row, in the partial block
    n_active = 20 if kind == "sparse" else MAX_ACTIVE + 30  # graded: beyond the reference's buffer
    spikes = np.zeros(N_PRE, dtype)
    values = rng.normal(size=n_active) if kind == "graded" else np.ones(n_active)
    spikes[rng.choice(N_PRE, n_active, replace=False)] = values
    return spikes


def _tolerance(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", FORMATS)
def test_matches_reference_and_dense_under_jit(fmt, dtype):
    with jax.enable_x64(dtype == np.float64):
        conn, dense = _case(fmt, dtype)
        pallas, reference = jax.jit(pallas_matvec), jax.jit(reference_matvec)
        for kind in KINDS:
            spikes = jnp.asarray(_spikes(kind, dtype))
            y = pallas(conn, spikes)
            assert y.shape == (N_POST,) and y.dtype == dtype
            np.testing.assert_allclose(y, reference(conn, spikes), **_tolerance(dtype))
            expected = np.asarray(spikes, np.float64) @ dense
            np.testing.assert_allclose(y, expected, **_tolerance(dtype), err_msg=kind)


@pytest.mark.parametrize("fmt", ["csr-array", "ell-scalar"])
def test_eager_and_dtype_promotion(fmt):
    with jax.enable_x64(True):
        conn, dense = _case(fmt, np.float32)  # float32 weights, float64 spikes -> float64
        spikes = _spikes("graded", np.float64)
        with jax.numpy_dtype_promotion("standard"):  # the users' default; the suite runs strict
            y = pallas_matvec(conn, jnp.asarray(spikes))
        assert y.dtype == jnp.float64
        np.testing.assert_allclose(y, spikes @ dense, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_vmap_over_spike_vectors(fmt):
    conn, dense = _case(fmt)
    batch = np.stack([_spikes(kind, seed=i) for i, kind in enumerate(KINDS)])
    y = jax.jit(jax.vmap(pallas_matvec, in_axes=(None, 0)))(conn, jnp.asarray(batch))
    assert y.shape == (len(KINDS), N_POST)
    np.testing.assert_allclose(y, batch.astype(np.float64) @ dense, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_gradients(fmt):
    """The reference's VJP, reached through the Pallas forward: finite differences (float64)
    and equality with the reference's gradients, under jit."""
    with jax.enable_x64(True):
        conn, _ = _case(fmt, np.float64)
        spikes = _spikes("graded", np.float64)
        g = np.random.default_rng(3).normal(size=N_POST)

        def loss(matvec, weights, spikes):
            return jnp.dot(matvec(_with_weights(conn, weights), spikes), g)

        args = (conn.weights, jnp.asarray(spikes))
        check_grads(jax.jit(ft.partial(loss, pallas_matvec)), args, order=1, modes=["rev"])
        grads = jax.jit(jax.grad(ft.partial(loss, pallas_matvec), argnums=(0, 1)))(*args)
        expected = jax.jit(jax.grad(ft.partial(loss, reference_matvec), argnums=(0, 1)))(*args)
        for got, want in zip(grads, expected, strict=True):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_gradient_batched_with_vmap():
    conn, dense = _case("ell-array")
    batch = jnp.asarray(np.stack([_spikes("sparse"), _spikes("graded")]))
    g = np.linspace(-1.0, 1.0, N_POST, dtype=np.float32)
    grad = jax.jit(jax.vmap(jax.grad(lambda s: jnp.dot(pallas_matvec(conn, s), g))))
    np.testing.assert_allclose(grad(batch), np.tile(dense @ g, (2, 1)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fmt", ["csr", "ell"])
def test_several_chunks_and_small_blocks(fmt):
    """Rows longer than one chunk (the loop runs several times) and blocks of 4 rows."""
    conn, dense = _case(fmt + "-array")
    spikes = _spikes("graded")
    kw = dict(block_rows=4, chunk=2)
    if fmt == "csr":
        y = pallas_event.csr_event_matvec(
            conn.indptr, conn.indices, conn.weights, jnp.asarray(spikes), N_POST, 11, **kw
        )
    else:
        y = pallas_event.ell_event_matvec(conn.targets, conn.weights, jnp.asarray(spikes), N_POST, **kw)
    np.testing.assert_allclose(y, spikes.astype(np.float64) @ dense, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="power of two"):
        pallas_event.ell_event_matvec(jnp.zeros((4, 3), jnp.int32), 1.0, jnp.ones(4), 5, chunk=3)


def test_dispatch():
    """`kernel="pallas"` emits a `pallas_call`; `"auto"` and `"reference"` never do; `Dense`
    accepts it (a matrix product); other dtypes take the reference."""
    conn, dense = _case("ell-array")
    spikes = jnp.asarray(_spikes("sparse"))
    assert "pallas_call" in str(jax.make_jaxpr(pallas_matvec)(conn, spikes))
    for kernel in ("auto", "reference"):
        assert "pallas_call" not in str(jax.make_jaxpr(ft.partial(event_matvec, kernel=kernel))(conn, spikes))
    half = _with_weights(conn, conn.weights.astype(jnp.float16))
    assert "pallas_call" not in str(jax.make_jaxpr(pallas_matvec)(half, spikes.astype(jnp.float16)))
    y = pallas_matvec(Dense(jnp.asarray(dense, jnp.float32)), spikes)
    np.testing.assert_allclose(y, np.asarray(spikes) @ dense, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="kernel"):
        event_matvec(conn, spikes, kernel="triton")


def test_no_synapses_gives_zeros():
    csr = CSR(np.zeros(N_PRE + 1, np.int32), np.zeros(0, np.int32), 1.0, N_POST)
    ell = ELL(np.zeros((N_PRE, 0), np.int32), 1.0, N_POST)
    for conn in (csr, ell):
        np.testing.assert_array_equal(pallas_matvec(conn, jnp.ones(N_PRE)), np.zeros(N_POST))


@pytest.mark.parametrize("fmt", FORMATS)
def test_lowers_to_triton(fmt):
    """The GPU (Triton) lowering builds, for float32 and batched spikes. It is not run here.
    The target is an abstract H100 (newer JAX reads the compute capability from the device and,
    with no GPU, asks for an abstract one; older JAX assumed 9.0, an H100's, without a GPU).
    From JAX 0.11 on it emits JAX's deprecation of the Pallas Triton backend (and nothing else)."""
    conn, _ = _case(fmt)
    spikes = jnp.asarray(_spikes("sparse"))
    cases = [
        (lambda c, s: _gpu_matvec(c, s), spikes),
        (jax.vmap(lambda c, s: _gpu_matvec(c, s), in_axes=(None, 0)), jnp.stack([spikes, spikes])),
    ]
    for fn, s in cases:
        with _triton_deprecation(), jax.sharding.use_abstract_mesh(_ABSTRACT_H100):
            lowered = jax.jit(fn).trace(conn, s).lower(lowering_platforms=("cuda",))
        assert "xla.gpu.triton" in lowered.as_text()  # the custom call of a Triton kernel


_H100 = jax.sharding.AbstractDevice(device_kind="NVIDIA H100", num_cores=None, platform="gpu")
_ABSTRACT_H100 = jax.sharding.AbstractMesh((), (), abstract_device=_H100)  # no axes, only the device


def _triton_deprecation():
    """Expects JAX's Triton-backend `DeprecationWarning` where the installed JAX emits it (any
    other warning still fails the test), and no warning before JAX 0.11."""
    if pallas_event.TRITON_DEPRECATED:
        return pytest.warns(DeprecationWarning, match="Pallas Triton backend is deprecated")
    return contextlib.nullcontext()


def _gpu_matvec(conn, spikes):
    """The Pallas forward, compiled (not interpreted), as `event_matvec` emits it on GPU."""
    if isinstance(conn, CSR):
        return pallas_event.csr_event_matvec(
            conn.indptr, conn.indices, conn.weights, spikes, conn.n_post, conn.max_row_length, interpret=False
        )
    return pallas_event.ell_event_matvec(conn.targets, conn.weights, spikes, conn.n_post, interpret=False)


def _with_weights(conn, weights):
    return eqx.tree_at(lambda c: c.weights, conn, weights)
