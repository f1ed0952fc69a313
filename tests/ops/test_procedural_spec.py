"""`Procedural`'s regeneration specification, checked against a pure-Python Threefry (so the
network is the same on every platform), and its native CPU kernels against the pure-JAX path:
identical sums, full gradients."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jax.test_util import check_grads

import brainsim as bs
from brainsim.connect._keys import threefry_2x32
from brainsim.ops import _native

needs_native = pytest.mark.skipif(
    _native.unavailable_reason() is not None, reason="native CPU kernels not built"
)


def _python_targets(key_words, row: int, count: int, n_post: int) -> list[int]:
    """Slot 2q <- y0, slot 2q+1 <- y1 of Threefry(key; row, q), multiply-high by n_post."""
    out = []
    for q in range((count + 1) // 2):
        y0, y1 = threefry_2x32(key_words, (row, q))
        out += [(y0 * n_post) >> 32, (y1 * n_post) >> 32]
    return out[:count]


@pytest.mark.parametrize("n_post", [1, 7, 200, 65_537, 9_999_991])
def test_targets_follow_the_specification(n_post):
    conn = bs.Procedural(jr.key(11), 50, n_post, degree=min(n_post, 13), weight=1.0)
    key_words = tuple(int(w) for w in np.asarray(conn.key_words))
    assert key_words == tuple(int(w) for w in np.asarray(jr.key_data(jr.key(11))))
    rows = np.array([0, 1, 17, 49])
    targets = np.asarray(conn.targets(jnp.asarray(rows)))
    for r, row in enumerate(rows):
        expected = _python_targets(key_words, int(row), conn.degree, n_post)
        assert targets[r].tolist() == expected


def test_probability_rows_have_their_stored_counts():
    conn = bs.Procedural(jr.key(12), 400, 300, probability=0.05, weight=1.0)
    counts = np.asarray(conn.counts)
    assert counts.shape == (400,) and counts.dtype == np.int32
    key_words = tuple(int(w) for w in np.asarray(conn.key_words))
    targets = np.asarray(conn.targets(jnp.arange(400)))
    for row in (0, 5, 399):
        real = targets[row][targets[row] < 300].tolist()
        assert real == _python_targets(key_words, row, int(counts[row]), 300)
    assert bs.ops.n_synapses(conn) == counts.sum()


def _spikes(kind, n, dtype=np.float32):
    rng = np.random.default_rng(5)
    if kind == "empty":
        return np.zeros(n, dtype)
    if kind == "all":
        return np.ones(n, dtype)
    if kind == "sparse":
        return (rng.random(n) < 0.03).astype(dtype)
    return (rng.normal(size=n) * (rng.random(n) < 0.3)).astype(dtype)


def _conns(dtype):
    weight = jnp.asarray(0.75, dtype)
    return [
        bs.Procedural(jr.key(1), 500, 300, degree=17, weight=weight),
        bs.Procedural(jr.key(2), 500, 300, probability=0.04, weight=weight),
    ]


@needs_native
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["empty", "sparse", "all", "graded"])
def test_native_kernel_equals_reference(kind, dtype):
    with jax.enable_x64(dtype == np.float64):
        for conn in _conns(dtype):
            spikes = jnp.asarray(_spikes(kind, 500, dtype))
            native = bs.event_matvec(conn, spikes, kernel="native")
            reference = bs.event_matvec(conn, spikes, kernel="reference")
            assert native.dtype == dtype
            if kind in ("empty", "sparse"):  # same rows, same order: the same sums
                np.testing.assert_array_equal(native, reference)
            else:  # the reference's exact path adds in the same order too, up to rounding
                np.testing.assert_allclose(native, reference, rtol=1e-5, atol=1e-5)
            batch = jnp.stack([spikes, 2 * spikes])
            batched = jax.vmap(lambda s, c=conn: bs.event_matvec(c, s, kernel="native"))(batch)
            np.testing.assert_allclose(batched[1], 2 * native, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kernel", ["reference", pytest.param("native", marks=needs_native)])
def test_spike_gradient_covers_silent_neurons(kernel):
    """d/ds_i = w sum_c g[t_ic] for every row, spiking or not (the surrogate-gradient case)."""
    conn = _conns(np.float32)[0]
    spikes = jnp.asarray(_spikes("sparse", 500))
    g = jnp.asarray(np.random.default_rng(6).normal(size=300), jnp.float32)
    d_spikes = jax.grad(lambda s: bs.event_matvec(conn, s, kernel=kernel) @ g)(spikes)
    np.testing.assert_allclose(d_spikes, bs.ops.to_dense(conn) @ g, rtol=1e-5, atol=1e-5)
    assert np.count_nonzero(np.asarray(d_spikes)[np.asarray(spikes) == 0]) > 400


@pytest.mark.parametrize("kernel", ["reference", pytest.param("native", marks=needs_native)])
def test_gradients_match_finite_differences(kernel):
    with jax.enable_x64(True):
        spikes = jnp.asarray(_spikes("sparse", 500, np.float64))
        conn = bs.Procedural(jr.key(3), 500, 300, degree=9, weight=jnp.asarray(0.5))

        def loss(scale, s):
            y = bs.event_matvec(bs.ops.scale_weights(conn, scale), s, kernel=kernel)
            return jnp.sum(jnp.sin(y))

        check_grads(loss, (1.3, spikes), order=1, modes=["rev"])


def test_heterogeneous_weight_std_gradient():
    with jax.enable_x64(True):
        spikes = jnp.asarray(_spikes("sparse", 500, np.float64))

        def loss(weight, std, s):
            weight, std = jnp.asarray(weight), jnp.asarray(std)
            conn = bs.Procedural(jr.key(4), 500, 300, degree=9, weight=weight, weight_std=std)
            return jnp.sum(jnp.cos(bs.event_matvec(conn, s)))

        check_grads(loss, (0.5, jnp.asarray(0.2), spikes), order=1, modes=["rev"])


def test_native_kernel_rejects_heterogeneous_weights():
    conn = bs.Procedural(jr.key(0), 10, 10, degree=2, weight_std=0.1)
    with pytest.raises(ValueError, match="homogeneous"):
        bs.event_matvec(conn, jnp.ones(10), kernel="native")


def test_every_key_kind_gives_a_deterministic_network():
    raw = bs.Procedural(jr.PRNGKey(11), 40, 30, degree=5)
    typed = bs.Procedural(jr.key(11), 40, 30, degree=5)
    np.testing.assert_array_equal(raw.key_words, typed.key_words)  # the same threefry key
    rbg = jr.key(11, impl="rbg")
    a, b = bs.Procedural(rbg, 40, 30, degree=5), bs.Procedural(rbg, 40, 30, degree=5)
    assert a.key_words.shape == (2,) and a.key_words.dtype == jnp.uint32
    np.testing.assert_array_equal(a.targets(jnp.arange(40)), b.targets(jnp.arange(40)))
    with pytest.raises(TypeError, match="key"):  # jaxtyping or our own check, whichever runs
        bs.Procedural(jnp.zeros(3, jnp.uint32), 40, 30, degree=5)
