"""`event_matvec` (brainsim/ops/event.py) against dense NumPy products, on every path of the
pure-JAX reference (`kernel="reference"`; the native kernel is tested in test_native.py)."""

import functools as ft

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from brainsim.ops import CSR, ELL, Dense, active_count_exceeds_buffer, event_matvec

N_PRE, N_POST, MAX_ACTIVE = 150, 47, 40  # buffer ladder: 10 and 40 rows
reference_matvec = ft.partial(event_matvec, kernel="reference")
FORMATS = ["dense", "csr-scalar", "csr-array", "ell-scalar", "ell-array"]


def _case(fmt: str, dtype=np.float32, seed: int = 0):
    """`(conn, W)`: a random format and its dense NumPy matrix, built independently."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((N_PRE, N_POST), dtype)
    if fmt == "dense":
        dense[:] = rng.normal(size=dense.shape) * (rng.random(dense.shape) < 0.3)
        return Dense(jnp.asarray(dense)), dense
    homogeneous = fmt.endswith("scalar")
    if fmt.startswith("csr"):
        counts = rng.integers(0, 12, N_PRE)
        counts[::9] = 0  # empty rows
        pre = np.repeat(np.arange(N_PRE), counts)
        post = rng.integers(0, N_POST, pre.shape[0])  # duplicate pairs allowed: weights add
        indptr = np.concatenate([[0], np.cumsum(counts)])
        weight = np.asarray(1.7, dtype) if homogeneous else rng.normal(size=pre.shape).astype(dtype)
        np.add.at(dense, (pre, post), weight)
        return CSR(indptr, post, jnp.asarray(weight), N_POST, max_active=MAX_ACTIVE), dense
    targets = rng.integers(0, N_POST, (N_PRE, 6))
    targets[rng.random(targets.shape) < 0.3] = N_POST  # padding
    weight = np.asarray(-0.6, dtype) if homogeneous else rng.normal(size=targets.shape).astype(dtype)
    rows = np.broadcast_to(np.arange(N_PRE)[:, None], targets.shape)
    real = targets < N_POST
    np.add.at(dense, (rows[real], targets[real]), np.broadcast_to(weight, targets.shape)[real])
    return ELL(targets, jnp.asarray(weight), N_POST, max_active=MAX_ACTIVE), dense


def _spikes(n_active: int, dtype=np.float32, graded: bool = False, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spikes = np.zeros(N_PRE, dtype)
    values = rng.normal(size=n_active) if graded else np.ones(n_active)
    spikes[rng.choice(N_PRE, n_active, replace=False)] = values
    return spikes


COUNTS = [0, 1, 9, 10, 11, MAX_ACTIVE - 1, MAX_ACTIVE, MAX_ACTIVE + 1, N_PRE]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n_active", COUNTS)
def test_matches_dense_product_under_jit(fmt, n_active):
    conn, dense = _case(fmt)
    for graded in (False, True):
        spikes = _spikes(n_active, graded=graded)
        y = jax.jit(reference_matvec)(conn, jnp.asarray(spikes))
        assert y.shape == (N_POST,) and y.dtype == jnp.float32
        np.testing.assert_allclose(y, spikes.astype(np.float64) @ dense, rtol=1e-5, atol=1e-5)
        assert bool(active_count_exceeds_buffer(conn, jnp.asarray(spikes))) == (
            fmt != "dense" and n_active > MAX_ACTIVE
        )


@pytest.mark.parametrize("fmt", FORMATS)
def test_float64_and_dtype_promotion(fmt):
    with jax.enable_x64(True):
        conn, dense = _case(fmt, np.float64)
        spikes = _spikes(MAX_ACTIVE + 1, np.float64, graded=True)
        y = reference_matvec(conn, jnp.asarray(spikes))
        assert y.dtype == jnp.float64
        np.testing.assert_allclose(y, spikes @ dense, rtol=1e-12, atol=1e-12)
        conn32, dense32 = _case(fmt, np.float32)  # float32 weights, float64 spikes -> float64
        with jax.numpy_dtype_promotion("standard"):  # the users' default; the suite runs strict
            y = reference_matvec(conn32, jnp.asarray(_spikes(5, np.float64)))
        assert y.dtype == jnp.float64
        np.testing.assert_allclose(y, _spikes(5, np.float64) @ dense32, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_vmap_over_spike_vectors_on_every_path(fmt):
    conn, dense = _case(fmt)
    batch = np.stack([_spikes(n, graded=True, seed=n) for n in COUNTS])
    y = jax.jit(jax.vmap(reference_matvec, in_axes=(None, 0)))(conn, jnp.asarray(batch))
    np.testing.assert_allclose(y, batch.astype(np.float64) @ dense, rtol=1e-5, atol=1e-5)
    flags = jax.vmap(active_count_exceeds_buffer, in_axes=(None, 0))(conn, jnp.asarray(batch))
    np.testing.assert_array_equal(flags, [fmt != "dense" and n > MAX_ACTIVE for n in COUNTS])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n_active", [5, MAX_ACTIVE + 1])  # sparse path, exact path
def test_vjp_passes_check_grads(fmt, n_active):
    with jax.enable_x64(True):
        conn, _ = _case(fmt, np.float64)
        spikes = _spikes(n_active, np.float64, graded=True)
        active = np.flatnonzero(spikes)

        def of_weights(weights):
            return reference_matvec(_with_weights(conn, jnp.asarray(weights)), jnp.asarray(spikes))

        def of_active_spikes(values):  # perturbs active entries only: stays on the sparse path
            return reference_matvec(conn, jnp.zeros(N_PRE).at[active].set(jnp.asarray(values)))

        def of_all_spikes(values):
            return reference_matvec(conn, jnp.asarray(values))

        check = lambda f, x: check_grads(jax.jit(f), (x,), order=1, modes=["rev"])  # noqa: E731
        check(of_weights, np.asarray(conn.weights))
        if n_active <= MAX_ACTIVE:
            check(of_active_spikes, spikes[active])
        check(of_all_spikes, spikes)  # perturbs every entry: the exact path


@pytest.mark.parametrize("fmt", FORMATS)
def test_gradients_equal_dense_formulas(fmt):
    """d/ds_i = sum_j w_ij g_j; d/dw_ij = s_i g_j (summed over synapses for scalar weights)."""
    conn, dense = _case(fmt)
    spikes = _spikes(7, graded=True)
    g = np.random.default_rng(3).normal(size=N_POST).astype(np.float32)
    loss = lambda c, s: jnp.dot(reference_matvec(c, s), jnp.asarray(g))
    d_spikes = jax.grad(loss, argnums=1)(conn, jnp.asarray(spikes))
    np.testing.assert_allclose(d_spikes, dense @ g, rtol=1e-4, atol=1e-4)
    d_weights = jax.grad(lambda w: loss(_with_weights(conn, w), jnp.asarray(spikes)))(conn.weights)
    assert d_weights.shape == conn.weights.shape
    if fmt.endswith("scalar"):  # W = w * A with A the synapse counts: dL/dw = s^T A g
        np.testing.assert_allclose(d_weights, spikes @ (dense / conn.weights) @ g, rtol=1e-4)


def test_grad_batched_with_vmap():
    conn, dense = _case("csr-array")
    batch = np.stack([_spikes(n, graded=True, seed=n) for n in (3, MAX_ACTIVE + 5)])
    g = np.linspace(-1.0, 1.0, N_POST, dtype=np.float32)
    loss = lambda s: jnp.dot(reference_matvec(conn, s), jnp.asarray(g))
    grad = jax.jit(jax.vmap(jax.grad(loss)))
    np.testing.assert_allclose(grad(jnp.asarray(batch)), np.tile(dense @ g, (2, 1)), rtol=1e-4)


@pytest.mark.parametrize("fmt", ["csr-scalar", "ell-scalar"])
def test_scalar_weights_are_not_broadcast_per_synapse(fmt):
    """On the sparse path no float array is shaped like the stored synapses."""
    conn, _ = _case(fmt)
    per_synapse = conn.indices.shape if fmt.startswith("csr") else conn.targets.shape
    jaxpr = jax.make_jaxpr(reference_matvec)(conn, jnp.asarray(_spikes(3)))
    (switch,) = [e for e in _find(jaxpr.jaxpr, "cond") if len(e.params["branches"]) > 2]
    assert len(switch.params["branches"]) == 3  # buffers of 10 and 40 rows, then the exact path
    for branch in switch.params["branches"][:-1]:
        for eqn in branch.jaxpr.eqns:
            for var in eqn.outvars:
                if jnp.issubdtype(var.aval.dtype, jnp.floating):
                    assert var.aval.shape != per_synapse, (eqn.primitive, var.aval)
    exact = switch.params["branches"][-1].jaxpr  # the exact path does touch every synapse
    assert any(v.aval.shape == per_synapse for e in exact.eqns for v in e.outvars)


def test_no_synapses_gives_zeros():
    conn = CSR(np.zeros(N_PRE + 1, np.int32), np.zeros(0, np.int32), 1.0, N_POST)
    y = reference_matvec(conn, jnp.ones(N_PRE))
    np.testing.assert_array_equal(y, np.zeros(N_POST))


def _with_weights(conn, weights):
    return eqx.tree_at(lambda c: c.weights, conn, weights)


def _subjaxprs(params):
    for value in params.values():
        for item in value if isinstance(value, tuple | list) else (value,):
            if isinstance(item, jax.extend.core.ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, jax.extend.core.Jaxpr):
                yield item


def _find(jaxpr, name):
    """Every equation called `name`, searching nested jaxprs (custom_vjp, cond, ...)."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == name:
            yield eqn
        for sub in _subjaxprs(eqn.params):
            yield from _find(sub, name)
