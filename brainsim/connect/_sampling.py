"""Vectorised NumPy samplers behind the connectivity rules, O(synapses) in time and memory."""

import math

import numpy as np


def bernoulli_pairs(
    rng: np.random.Generator, n_pre: int, n_post: int, p: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair `(i, j)` independently with probability `p`, as int64 `(pre, post)` sorted by
    `(pre, post)`, without duplicates.

    Walks the flattened `n_pre * n_post` pair index with Geometric(`p`) gaps (the gaps between
    successes of a Bernoulli process), so only the chosen pairs are ever drawn.
    """
    total = n_pre * n_post
    if p == 0.0 or total == 0:
        flat = np.zeros(0, np.int64)
    elif p == 1.0:
        flat = np.arange(total, dtype=np.int64)
    else:
        chunks, last = [], -1
        while True:  # one pass almost always; a draw that falls short goes on from `last`
            expected = (total - 1 - last) * p
            size = int(expected + 6.0 * math.sqrt(expected * (1.0 - p)) + 32)
            positions = last + np.cumsum(rng.geometric(p, size=size))
            if positions[-1] >= total:
                chunks.append(positions[: np.searchsorted(positions, total)])
                break
            chunks.append(positions)
            last = int(positions[-1])
        flat = np.concatenate(chunks)
    pre = flat // n_post
    return pre, flat - pre * n_post


def distinct_per_row(
    rng: np.random.Generator, n_rows: int, k: int, n_choices: int, *, exclude_diagonal: bool
) -> np.ndarray:
    """For each row `r`, `k` distinct values from `range(n_choices)` drawn uniformly (without
    `r` itself when `exclude_diagonal`), as a sorted int32 array of shape `(n_rows, k)`.

    Small `k` draws with replacement and redraws duplicates until none is left (about
    k^2 / (2 n_choices) redraws per row); the result is a uniform k-subset because the procedure
    treats all values alike. Large `k` (> n_choices / 4) takes the `k` smallest of uniform keys
    per row, in chunks of rows, which is then O(n_rows * n_choices) = O(4 * synapses).
    """
    if k == 0:
        return np.zeros((n_rows, 0), np.int32)
    if 4 * k > n_choices:
        return _smallest_keys(rng, n_rows, k, n_choices, exclude_diagonal)
    row = np.arange(n_rows)
    high = np.full(n_rows, n_choices, np.int64)
    if exclude_diagonal:
        high[: min(n_rows, n_choices)] -= 1
    draws = _draw(rng, high[:, None], row[:, None], (n_rows, k), exclude_diagonal)
    draws.sort(axis=1)
    pending, block = row, draws
    while True:
        duplicate = block[:, 1:] == block[:, :-1]
        bad = duplicate.any(axis=1)
        if not bad.any():
            return draws
        pending, block, duplicate = pending[bad], block[bad], duplicate[bad]
        r, c = np.nonzero(duplicate)
        block[r, c + 1] = _draw(rng, high[pending[r]], pending[r], r.shape, exclude_diagonal)
        block.sort(axis=1)
        draws[pending] = block


def _draw(rng, high, row, shape, exclude_diagonal: bool) -> np.ndarray:
    """Uniform ints in `[0, high)`, shifted past `row` when the diagonal is excluded."""
    values = rng.integers(0, high, size=shape, dtype=np.int32)
    if exclude_diagonal:
        values += values >= row
    return values


def _smallest_keys(rng, n_rows: int, k: int, n_choices: int, exclude_diagonal: bool) -> np.ndarray:
    out = np.empty((n_rows, k), np.int32)
    chunk = max(1, (1 << 22) // n_choices)  # rows per chunk: about 32 MB of keys
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        keys = rng.random((stop - start, n_choices))
        if exclude_diagonal:
            rows = np.arange(start, min(stop, n_choices))
            keys[rows - start, rows] = 2.0  # above every uniform key: never among the k smallest
        chosen = np.argpartition(keys, k - 1, axis=1)[:, :k]
        chosen.sort(axis=1)
        out[start:stop] = chosen
    return out


def indptr_from_sorted_rows(pre: np.ndarray, n_pre: int) -> np.ndarray:
    """CSR row pointer, shape `(n_pre + 1,)`, for synapses already sorted by `pre`."""
    counts = np.bincount(pre, minlength=n_pre)
    return np.concatenate([[0], np.cumsum(counts)])


def sort_pairs_by_pre(sources: np.ndarray, n_pre: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR `(indptr, indices)` by presynaptic neuron from `sources[j]` = the presynaptic partners
    of postsynaptic `j`, shape `(n_post, k)`; rows come out sorted by postsynaptic index."""
    n_post = sources.shape[0]
    keys = sources.astype(np.int64)
    keys *= n_post
    keys += np.arange(n_post, dtype=np.int64)[:, None]
    keys = keys.ravel()
    keys.sort()
    indptr = np.searchsorted(keys, np.arange(n_pre + 1, dtype=np.int64) * n_post)
    np.remainder(keys, n_post, out=keys)
    return indptr, keys.astype(np.int32)
