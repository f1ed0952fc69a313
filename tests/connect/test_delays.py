"""Delay rules (brainsim/connect/delays.py): drawn on the host, shaped like the stored synapses."""

import time

import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.ops import stored_synapses


def _conns():
    key = jr.key(3)
    return {
        "csr": bs.FixedProbability(0.2, weight=1.0).build(40, 30, key=key),
        "ell": bs.ELL(np.array([[0, 30], [5, 29], [30, 30]]), 1.0, 30),
    }


@pytest.mark.parametrize("fmt", ["csr", "ell"])
def test_uniform_delays_cover_the_inclusive_range_and_follow_the_key(fmt):
    conn = _conns()[fmt]
    _, _, valid = stored_synapses(conn)
    rule = bs.UniformDelay(2, 4)
    delays = rule.draw(conn, key=jr.key(0))
    assert isinstance(delays, np.ndarray) and delays.dtype == np.int32 and delays.shape == valid.shape
    assert set(np.unique(delays)) <= {2, 3, 4}
    np.testing.assert_array_equal(delays, rule.draw(conn, key=jr.key(0)))
    if fmt == "csr":  # enough synapses to see every value and a different draw
        assert set(np.unique(delays)) == {2, 3, 4}
        assert not np.array_equal(delays, rule.draw(conn, key=jr.key(1)))


def test_constant_and_distance_delays_match_a_reference():
    conn = _conns()["ell"]
    np.testing.assert_array_equal(bs.ConstantDelay(7).draw(conn, key=jr.key(0)), np.full((3, 2), 7))
    pre_xy = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 5.0]], np.float32)
    post_xy = np.stack([np.arange(30.0), np.zeros(30)], axis=1).astype(np.float32)
    delays = bs.DistanceDelay(pre_xy, post_xy, distance_per_step=2.0, minimum=2).draw(conn, key=jr.key(0))
    assert delays.dtype == np.int32
    # synapses 0->0 (distance 0), 1->5 (5), 1->29 (19): ceil(d / 2) steps, at least 2
    np.testing.assert_array_equal(delays[0, 0], 2)
    np.testing.assert_array_equal(delays[1], [3, 10])


def test_drawing_delays_is_host_work():
    """A fresh synapse count must not trigger an XLA compilation (seconds) per draw."""
    rule = bs.UniformDelay(1, 20)
    conn = bs.FixedProbability(0.1, weight=1.0).build(1000, 1000, key=jr.key(11))
    start = time.perf_counter()
    _, _, valid = stored_synapses(conn)
    delays = rule.draw(conn, key=jr.key(0))
    elapsed = time.perf_counter() - start
    assert delays.shape == valid.shape == (conn.indices.shape[0],)
    assert elapsed < 0.5, f"drawing 1e5 delays took {elapsed:.2f} s"
