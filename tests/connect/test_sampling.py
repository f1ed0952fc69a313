"""Connectivity building (brainsim/connect/_sampling.py, _keys.py): the built arrays are those of
the original implementation bit for bit, at any chunk size; host-side key derivation equals
`jax.random.fold_in`; memory stays within about twice the result; building compiles nothing."""

import hashlib
import tracemalloc

import jax
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
import brainsim.connect._sampling as sampling
from brainsim.connect import FixedInDegree, FixedOutDegree, FixedProbability, FromArrays
from brainsim.connect._keys import fold_in, zero_key


def _digest(conn) -> str:
    m = hashlib.sha256()
    for name in ("indptr", "indices", "targets"):
        if hasattr(conn, name):
            m.update(np.asarray(getattr(conn, name), np.int32).tobytes())
    return m.hexdigest()[:16]


# sha256 prefixes of the arrays built by the implementation before the memory rework (commit
# effeb0e: int64 pair keys sorted in one piece); the same key must keep giving the same network.
_RULES = {"in": FixedInDegree, "out": FixedOutDegree, "p": FixedProbability}
_EXPECTED = {
    ("in", 64, 300, 500, True, 0): "8dc3b8a1978fef73",
    ("in", 10, 300, 500, False, 0): "1b16b4562d59c8e2",
    ("in", 200, 300, 250, True, 0): "32ab605834904899",
    ("out", 7, 300, 500, False, 0): "2de4ead7bb5bd03b",
    ("out", 150, 300, 200, True, 0): "fd634e558b9f4cf0",
    ("p", 0.05, 300, 500, True, 0): "f97406170ae87d05",
    ("p", 0.3, 300, 500, False, 0): "16af44adc424961c",
    ("p", 1.0, 40, 30, False, 0): "784337d767e98f01",
    ("in", 64, 300, 500, True, 1): "c8e74d12868aec14",
    ("in", 10, 300, 500, False, 1): "64d4ae14a608d121",
    ("in", 200, 300, 250, True, 1): "0afe380dad8d1dea",
    ("out", 7, 300, 500, False, 1): "dca442729dbe7ba6",
    ("out", 150, 300, 200, True, 1): "9408e836108f4968",
    ("p", 0.05, 300, 500, True, 1): "190391116f4a7ece",
    ("p", 0.3, 300, 500, False, 1): "15b829ea83b54d58",
    ("p", 1.0, 40, 30, False, 1): "784337d767e98f01",
}
_COBA_IN_DEGREE = ["28f4bbcaf03ad942", "9ea710b69b0b55c8", "e90552993d93de30", "ce12de0d4466bd73"]
_COBA_P = ["a195a6cc362ce97d", "7bb05cb83708f343", "a71193a423ed59a7", "99934f2963dab4cc"]


@pytest.mark.parametrize("chunk", [None, 1, 37, 4096])
def test_built_arrays_unchanged(monkeypatch, chunk):
    """Chunk sizes down to 1 entry exercise every multi-chunk path (gap draws that fall short,
    transposition and duplicate search across chunks)."""
    if chunk is not None:
        monkeypatch.setattr(sampling, "_CHUNK", chunk)
    for (kind, param, n_pre, n_post, self_, seed), expected in _EXPECTED.items():
        rule = _RULES[kind](param, weight=1.0, allow_self_connections=self_)
        assert _digest(rule.build(n_pre, n_post, key=jr.key(seed))) == expected, (kind, param)


def test_models_unchanged():
    net = bs.models.COBANetwork(n=1000, key=jr.key(3), in_degree=40)
    assert [_digest(p.connectivity) for p in net.projections] == _COBA_IN_DEGREE
    net = bs.models.COBANetwork(n=1000, key=jr.key(3))
    assert [_digest(p.connectivity) for p in net.projections] == _COBA_P


def test_from_arrays_sorts_stably():
    rng = np.random.default_rng(0)
    pre, post = rng.integers(0, 30, 500), rng.integers(0, 40, 500)
    weight = rng.random(500).astype(np.float32)
    conn = FromArrays(pre, post, weight).build(30, 40, key=jr.key(0))
    order = np.argsort(pre, kind="stable")
    np.testing.assert_array_equal(np.asarray(conn.indices), post[order])
    np.testing.assert_array_equal(np.asarray(conn.weights), weight[order])
    counts = np.bincount(pre, minlength=30)
    np.testing.assert_array_equal(np.asarray(conn.indptr), np.r_[0, np.cumsum(counts)])


def test_transpose_rows_matches_sort():
    rng = np.random.default_rng(1)
    sources = sampling.distinct_per_row(rng, 700, 25, 900, exclude_diagonal=False)
    pre = sources.astype(np.int64).ravel()
    post = np.repeat(np.arange(700), 25)
    order = np.lexsort((post, pre))
    indptr, indices = sampling.transpose_rows(sources, 900)
    np.testing.assert_array_equal(indices, post[order])
    np.testing.assert_array_equal(indptr, np.r_[0, np.cumsum(np.bincount(pre, minlength=900))])
    assert indices.dtype == np.int32


@pytest.mark.parametrize("data", [0, 1, 2, 7, 12345, 2**31, 2**32 - 1])
def test_fold_in_matches_jax(data):
    for seed in (0, 1, 42, 2**31 + 5):
        key = jr.key(seed)
        expected = jr.key_data(jr.fold_in(key, data))
        np.testing.assert_array_equal(jr.key_data(fold_in(key, data)), expected)
        raw = jr.PRNGKey(seed)
        np.testing.assert_array_equal(fold_in(raw, data), jr.fold_in(raw, data))
    assert fold_in(jr.key(0), 3).dtype == jr.key(0).dtype
    np.testing.assert_array_equal(jr.key_data(zero_key()), jr.key_data(jr.key(0)))


def test_fold_in_falls_back_under_jit():
    key = jr.key(9)
    folded = jax.jit(lambda k: jr.key_data(fold_in(k, 4)))(key)
    np.testing.assert_array_equal(folded, jr.key_data(jr.fold_in(key, 4)))


def _numpy_peak(build) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = build()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_fixed_in_degree_memory(monkeypatch):
    """Host memory while building: the drawn rows and the CSR they are transposed into (4 bytes
    per synapse each), plus chunk-sized temporaries; no int64 copy of all synapses."""
    monkeypatch.setattr(sampling, "_CHUNK", 1 << 14)
    n, k = 20_000, 100
    peak, conn = _numpy_peak(lambda: FixedInDegree(k, weight=1.0).build(n, n, key=jr.key(0)))
    assert conn.indices.dtype == np.int32 and conn.weights.shape == ()
    assert peak <= 2 * 4 * n * k + (3 << 20), peak / (n * k)


def test_fixed_probability_memory(monkeypatch):
    monkeypatch.setattr(sampling, "_CHUNK", 1 << 14)
    n, p = 10_000, 0.02
    peak, conn = _numpy_peak(lambda: FixedProbability(p, weight=1.0).build(n, n, key=jr.key(0)))
    nnz = conn.indices.shape[0]
    assert conn.indices.dtype == np.int32
    assert peak <= 1.1 * 4 * nnz + (2 << 20), peak / nnz


def test_network_construction_compiles_nothing():
    """Keys are folded on the host and arrays are transferred with `device_put`: building a
    network runs no XLA compilation (each costs ~10-100 ms the first time)."""
    compiles = []

    def listener(event, duration, **kwargs):
        if "compile" in event:
            compiles.append(event)

    key = jr.key(11)
    jax.block_until_ready(jr.key_data(key))
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        net = bs.models.COBANetwork(n=1234, key=key)  # odd sizes: no compilation cached by other tests
        jax.block_until_ready(net)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert compiles == []
