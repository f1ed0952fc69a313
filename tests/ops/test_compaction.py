"""The shared active-row compaction (brainsim/ops/_compaction.py) against `jnp.nonzero`."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.ops import CSR, ELL, active_count_exceeds_buffer
from brainsim.ops._compaction import active_rows, buffer_sizes, n_active, overflows


@pytest.mark.parametrize("n", [1, 63, 64, 65, 200])
@pytest.mark.parametrize("size", [1, 8, 40])
@pytest.mark.parametrize("batch", [(), (3,)])
def test_active_rows_matches_nonzero(n, size, batch):
    rng = np.random.default_rng(n + size)
    spikes = (rng.random((*batch, n)) < 0.15) * rng.normal(size=(*batch, n))
    active = np.any(spikes != 0, axis=tuple(range(len(batch))))
    expected = np.nonzero(active)[0][:size]
    rows, valid = active_rows(jnp.asarray(spikes, jnp.float32), size)
    assert rows.dtype == jnp.int32 and rows.shape == valid.shape == (size,)
    np.testing.assert_array_equal(np.asarray(valid), np.arange(size) < min(active.sum(), size))
    np.testing.assert_array_equal(np.asarray(rows)[np.asarray(valid)], expected)
    assert int(n_active(jnp.asarray(spikes))) == active.sum()


def test_buffer_sizes_shrink_by_four_down_to_eight():
    assert buffer_sizes(1000) == (15, 62, 250, 1000)
    assert buffer_sizes(8) == (8,)


def test_every_format_reports_overflow_for_rows_active_in_any_batch_element():
    # 3 batch elements with 2 distinct active rows each: 6 rows in the union, 6 nonzero entries.
    spikes = np.zeros((3, 20), np.float32)
    spikes[0, [0, 1]] = spikes[1, [2, 3]] = spikes[2, [4, 5]] = 1.0
    spikes = jnp.asarray(spikes)
    procedural = bs.Procedural(jr.key(0), 20, 10, degree=3, max_active=5)
    csr = CSR(np.arange(21), np.zeros(20, np.int32), 1.0, 10, max_active=5)
    ell = ELL(np.zeros((20, 1), np.int32), 1.0, 10, max_active=5)
    for conn in (procedural, csr, ell):
        assert bool(active_count_exceeds_buffer(conn, spikes))
        assert not bool(active_count_exceeds_buffer(conn, spikes[:2]))  # 4 rows
    # The same row active in every element counts once.
    same = jnp.zeros((3, 20)).at[:, :5].set(1.0)
    assert not bool(overflows(same, 5)) and bool(overflows(same, 4))
    assert not bool(active_count_exceeds_buffer(procedural, same))
