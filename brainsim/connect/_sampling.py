"""Vectorised NumPy samplers behind the connectivity rules, O(synapses) in time and memory.

Memory: the result is built directly as int32 (4 bytes per synapse); int64 temporaries are
limited to chunks of `_CHUNK` entries, so building a projection needs at most about twice its
final size (the rows drawn, and the CSR they are transposed into).
"""

import math

import numpy as np

_CHUNK = 1 << 18  # entries per chunk of temporaries (2 MiB per int64 array)


def bernoulli_csr(
    rng: np.random.Generator, n_pre: int, n_post: int, p: float, *, exclude_diagonal: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair `(i, j)` independently with probability `p` (without `i == j` when
    `exclude_diagonal`), as CSR `(indptr, indices)`: int64 `(n_pre + 1,)`, int32 `(nnz,)`,
    rows sorted, no duplicates.

    Walks the flattened `n_pre * n_post` pair index with Geometric(`p`) gaps (the gaps between
    successes of a Bernoulli process), so only the chosen pairs are ever drawn. The gaps are drawn
    in chunks from one stream, so the pairs do not depend on the chunk size.
    """
    total = n_pre * n_post
    counts = np.zeros(n_pre, np.int64)
    if p == 0.0 or total == 0:
        return _indptr(counts), np.zeros(0, np.int32)
    expected = total * p
    capacity = min(total, int(expected + 6.0 * math.sqrt(expected * (1.0 - p)) + 32))
    indices = np.empty(capacity, np.int32)
    chunk = min(_CHUNK, capacity + 1)  # usually one chunk: no gaps drawn beyond the capacity
    filled, last = 0, -1
    while True:
        if p == 1.0:
            positions = np.arange(last + 1, min(last + 1 + chunk, total), dtype=np.int64)
        else:
            positions = np.cumsum(rng.geometric(p, size=chunk))
            positions += last
        done = positions.shape[0] == 0 or positions[-1] >= total
        if done:
            positions = positions[: np.searchsorted(positions, total)]
        if positions.shape[0]:
            last = int(positions[-1])
            pre = positions // n_post
            post = positions - pre * n_post
            if exclude_diagonal:
                keep = pre != post
                pre, post = pre[keep], post[keep]
            if pre.shape[0]:
                first = int(pre[0])
                chunk_counts = np.bincount(pre - first)
                counts[first : first + chunk_counts.shape[0]] += chunk_counts
                if filled + post.shape[0] > indices.shape[0]:  # beyond 6 sd: grow (rare)
                    grown = np.empty(max(2 * indices.shape[0], filled + post.shape[0]), np.int32)
                    grown[:filled] = indices[:filled]
                    indices = grown
                indices[filled : filled + post.shape[0]] = post
                filled += post.shape[0]
        if done or last >= total - 1:
            break
    return _indptr(counts), indices[:filled]


ROW_CAPACITY_FAILURE = 1e-9
"""The probability, per build, that some row draws more synapses than `binomial_row_capacity`."""


def binomial_row_capacity(n_rows: int, n_candidates: int, p: float) -> int:
    r"""A row length that `n_rows` independent Binomial(`n_candidates`, `p`) draws all stay
    within except with probability <= `ROW_CAPACITY_FAILURE`: the smallest $k$ with
    $n_\mathrm{rows} P(X > k) \le 10^{-9}$, computed exactly from the binomial pmf (log-gamma,
    then the ratio recurrence). It depends on the sizes and `p` only, never on a seed: the
    width of a seed-stable format.
    """
    if p <= 0.0 or n_candidates == 0 or n_rows == 0:
        return 0
    if p >= 1.0:
        return n_candidates
    mode = min(n_candidates, int((n_candidates + 1) * p))
    log_pmf = (
        math.lgamma(n_candidates + 1)
        - math.lgamma(mode + 1)
        - math.lgamma(n_candidates - mode + 1)
        + mode * math.log(p)
        + (n_candidates - mode) * math.log1p(-p)
    )
    pmf, ratio = [math.exp(log_pmf)], p / (1.0 - p)
    for k in range(mode, n_candidates):  # pmf(k + 1) from pmf(k), down to negligible terms
        pmf.append(pmf[-1] * (n_candidates - k) / (k + 1) * ratio)
        if pmf[-1] < 1e-30:
            break
    tail = 0.0  # P(X > k) for k from the last computed term down to the mode
    for offset in range(len(pmf) - 1, -1, -1):
        if n_rows * (tail + pmf[offset]) > ROW_CAPACITY_FAILURE:
            return min(n_candidates, mode + offset)
        tail += pmf[offset]
    return mode


def csr_to_padded_rows(indptr: np.ndarray, indices: np.ndarray, width: int, pad: int) -> np.ndarray:
    """CSR rows as a `(n_pre, width)` int32 table, each row's entries first (in order), then
    `pad`; raises if a row is longer than `width`."""
    counts = np.diff(indptr)
    longest = int(counts.max(initial=0))
    if longest > width:
        row = int(np.argmax(counts))
        raise ValueError(
            f"row {row} drew {longest} synapses, more than the seed-stable capacity of {width} "
            f"per row (exceeded with probability <= {ROW_CAPACITY_FAILURE:g} per build); use "
            "another key, or `seed_stable=False`."
        )
    table = np.full((counts.shape[0], width), pad, np.int32)
    rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    table[rows, np.arange(indices.shape[0], dtype=np.int64) - indptr[rows]] = indices
    return table


def _indptr(counts: np.ndarray) -> np.ndarray:
    indptr = np.zeros(counts.shape[0] + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr


def distinct_per_row(
    rng: np.random.Generator, n_rows: int, k: int, n_choices: int, *, exclude_diagonal: bool
) -> np.ndarray:
    """For each row `r`, `k` distinct values from `range(n_choices)` drawn uniformly (without
    `r` itself when `exclude_diagonal`), as a sorted int32 array of shape `(n_rows, k)`.

    Small `k` draws with replacement and redraws duplicates until none is left (about
    k^2 / (2 n_choices) redraws per row); the result is a uniform k-subset because the procedure
    treats all values alike. Large `k` (> n_choices / 4) takes the `k` smallest of uniform keys
    per row, in chunks of rows, which is then O(n_rows * n_choices) = O(4 * synapses).
    Temporaries beyond the int32 result are limited to chunks of rows.
    """
    if k == 0:
        return np.zeros((n_rows, 0), np.int32)
    if 4 * k > n_choices:
        return _smallest_keys(rng, n_rows, k, n_choices, exclude_diagonal)
    high = np.full(n_rows, n_choices, np.int64)
    if exclude_diagonal:
        high[: min(n_rows, n_choices)] -= 1
    draws = rng.integers(0, high[:, None], size=(n_rows, k), dtype=np.int32)
    rows_per_chunk = max(1, _CHUNK // k)
    bad_rows = []
    for start in range(0, n_rows, rows_per_chunk):
        block = draws[start : start + rows_per_chunk]
        if exclude_diagonal:  # shift past the row's own index, in place
            block += block >= np.arange(start, start + block.shape[0], dtype=np.int32)[:, None]
        block.sort(axis=1)
        bad_rows.append(start + np.flatnonzero((block[:, 1:] == block[:, :-1]).any(axis=1)))
    pending = np.concatenate(bad_rows)
    block = draws[pending]
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


def indptr_from_rows(pre: np.ndarray, n_pre: int) -> np.ndarray:
    """CSR row pointer, shape `(n_pre + 1,)`, from the presynaptic neuron of every synapse."""
    return _indptr(np.bincount(pre, minlength=n_pre))


def transpose_rows(sources: np.ndarray, n_pre: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR `(indptr, indices)` by presynaptic neuron from `sources[j]` = the distinct
    presynaptic partners of postsynaptic `j`, shape `(n_post, k)`; rows come out sorted by
    postsynaptic index.

    A counting sort: rows of `sources` are taken in chunks, in order, and each chunk's synapses
    are placed after those of earlier chunks in their presynaptic row, so the result is that of
    sorting all pairs by `(pre, post)`, with temporaries of one chunk only.
    """
    n_post, k = sources.shape
    indices = np.empty(n_post * k, np.int32)
    if k == 0:
        return np.zeros(n_pre + 1, np.int64), indices
    rows_per_chunk = max(1, _CHUNK // k)
    counts = np.zeros(n_pre, np.int64)
    for start in range(0, n_post, rows_per_chunk):  # `bincount` casts to int64: chunk by chunk
        counts += np.bincount(sources[start : start + rows_per_chunk].ravel(), minlength=n_pre)
    indptr = _indptr(counts)
    fill = indptr[:-1].copy()  # next free slot of each presynaptic row
    key_type = np.int64
    if n_pre * min(rows_per_chunk, 1024) <= np.iinfo(np.uint32).max:  # 32-bit keys sort faster
        key_type = np.uint32
        rows_per_chunk = min(rows_per_chunk, np.iinfo(np.uint32).max // n_pre)
    for start in range(0, n_post, rows_per_chunk):
        block = sources[start : start + rows_per_chunk]
        m = block.shape[0]
        keys = block.astype(key_type)
        keys *= key_type(m)
        keys += np.arange(m, dtype=key_type)[:, None]
        keys = keys.reshape(-1)
        keys.sort()
        pre = keys // key_type(m)
        keys -= pre * key_type(m)  # local postsynaptic row
        # Position within this chunk's run of equal `pre`: index minus the run's first index.
        first = np.flatnonzero(np.concatenate(([True], pre[1:] != pre[:-1])))
        run_start = np.repeat(first, np.diff(np.append(first, pre.shape[0])))
        slot = fill[pre] + (np.arange(pre.shape[0]) - run_start)
        keys += key_type(start)  # global postsynaptic index
        indices[slot] = keys
        fill[pre[first]] += np.diff(np.append(first, pre.shape[0]))  # run heads are distinct
    return indptr, indices
