r"""Connectivity rules: small modules that describe a wiring and build it into a format.

A rule knows neither population: `rule.build(n_pre, n_post, key=key)` returns a format from
`brainsim.ops` (`CSR`, `ELL` or `Dense`). Building runs on the host in NumPy, vectorised and in
O(synapses) time and memory, seeded from `key`: the same key gives identical arrays, and it is
not traceable (the number of synapses depends on the draw). Weights are homogeneous, stored as
one scalar in the receiving synapse's unit (nS or pA): a Python number becomes the default float
dtype (float32; float64 under x64); only `FromArrays` takes per-synapse weights.

`allow_self_connections=False` removes the pairs $i \to i$, which is what it means when a
projection goes from a population to itself; the rule cannot tell, so the caller decides.
"""

import abc
import functools as ft
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._validation import _concrete, require_in_range, require_nonnegative_int, require_positive_int
from ..ops import CSR, ELL, AbstractConnectivity, Dense
from ..ops._base import default_float_dtype
from ._sampling import (
    bernoulli_csr,
    binomial_row_capacity,
    csr_to_padded_rows,
    distinct_per_row,
    indptr_from_rows,
    transpose_rows,
)


class AbstractConnectivityRule(eqx.Module):
    """A wiring rule; `build` turns it into a connectivity format.

    `random` (a class attribute) says whether `build` draws from its key; deterministic rules
    (`OneToOne`, `AllToAll`, `FromArrays`) can be built by a `Network` given no key.
    """

    random: ClassVar[bool] = True

    @abc.abstractmethod
    def build(self, n_pre: int, n_post: int, *, key: PRNGKeyArray) -> AbstractConnectivity:
        """The connectivity from `n_pre` to `n_post` neurons, drawn with `key`.

        **Arguments:**
        - `n_pre`, `n_post`: population sizes (>= 1).
        - `key`: a JAX PRNG key; the same key always gives identical arrays.

        **Returns:** a format from `brainsim.ops` with `n_pre` rows and `n_post` columns.
        """


def _as_weight(weight) -> Array:
    """A weight as an array; a Python number becomes a scalar of the default float dtype."""
    if isinstance(weight, int | float) and not isinstance(weight, bool):
        # `device_put` compiles nothing, unlike `jnp.asarray`.
        return jax.device_put(np.asarray(weight, default_float_dtype()))
    if isinstance(weight, np.ndarray | np.generic):
        return jax.device_put(weight)
    return jnp.asarray(weight)


def _require_scalar_weight(weight) -> None:
    if jnp.ndim(weight) != 0:
        raise ValueError(
            f"`weight` must be a scalar (homogeneous weight); got shape {jnp.shape(weight)}. "
            "Use `FromArrays` for per-synapse weights."
        )


def _require_max_active(max_active) -> None:
    if max_active is not None:
        require_positive_int("max_active", max_active)


def _sizes(n_pre, n_post) -> tuple[int, int]:
    return require_positive_int("n_pre", n_pre), require_positive_int("n_post", n_post)


def _key_words(key: PRNGKeyArray) -> tuple[int, ...]:
    """The key's bits, as the seed of a NumPy generator."""
    return tuple(np.asarray(jr.key_data(key), np.uint32).ravel().tolist())


def _numpy_rng(key: PRNGKeyArray) -> np.random.Generator:
    """A NumPy generator seeded by the key's bits (deterministic in `key`)."""
    return np.random.default_rng(_key_words(key))


@ft.lru_cache(maxsize=16)
def _bernoulli_pairs(words, n_pre, n_post, p, exclude_diagonal) -> tuple[np.ndarray, np.ndarray]:
    """`bernoulli_csr` for a key's bits, kept for the last 16 distinct draws (read-only arrays):
    a sweep whose build function rebuilds the same connectivity for every point draws it once
    (COBA N = 4,000: ~10 ms per projection)."""
    pairs = bernoulli_csr(np.random.default_rng(words), n_pre, n_post, p, exclude_diagonal=exclude_diagonal)
    for array in pairs:
        array.flags.writeable = False
    return pairs


def _degree_limit(k: int, population: int, excluded: bool, what: str) -> None:
    """`k` distinct partners out of `population` neurons (one fewer without self connections)."""
    limit = population - 1 if excluded else population
    if k > limit:
        extra = ", minus 1 without self connections" if excluded else ""
        raise ValueError(f"`k` must be <= {limit} (the {what} population size{extra}); got {k}.")


class FixedProbability(AbstractConnectivityRule):
    r"""Each pair $(i, j)$ is connected independently with probability $p$; no duplicate pairs.

    Out-degrees are Binomial($n_\mathrm{post}$, $p$): mean $n_\mathrm{post} p$, variance
    $n_\mathrm{post} p (1 - p)$. Built from geometric gaps between connected pairs, so time and
    memory are O(synapses), not O($n_\mathrm{pre} n_\mathrm{post}$).

    **Fields:**
    - `p`: connection probability, in [0, 1].
    - `weight`: homogeneous weight, in the receiving synapse's unit (nS or pA).
    - `allow_self_connections`: if `False`, no pair $i \to i$.
    - `max_active`: active-row buffer of the built format (default: the format's choice).
    - `seed_stable`: if `True`, build an `ELL` whose width depends on `(n_pre, n_post, p)` only
      (`binomial_row_capacity`: every row fits except with probability <= 1e-9 per build, and
      a row that does not raises a `ValueError`), so networks drawn with different keys have
      identical shapes: a sweep over connectivity seeds compiles once and `vmap`s. The
      synapses are those of the `CSR` drawn with the same key; the slots beyond a row's
      synapses hold the target `n_post`, which every event operator (reference, native and
      fused) skips and whose gradient is zero, so the padding changes no result.

    **Returns** (`build`): `CSR`, or `ELL` with `seed_stable=True`.

    ```python
    conn = FixedProbability(0.02, weight=6.0).build(4000, 4000, key=jax.random.key(0))
    ```
    """

    p: float = eqx.field(converter=float)
    weight: Float[Array, ""] = eqx.field(converter=_as_weight)
    allow_self_connections: bool = True
    max_active: int | None = None
    seed_stable: bool = False

    def __check_init__(self):
        require_in_range("p", self.p, 0.0, 1.0)
        _require_scalar_weight(self.weight)
        _require_max_active(self.max_active)
        if not isinstance(self.seed_stable, bool):
            raise TypeError(f"`seed_stable` must be True or False; got {self.seed_stable!r}.")

    def build(self, n_pre: int, n_post: int, *, key: PRNGKeyArray) -> CSR | ELL:
        n_pre, n_post = _sizes(n_pre, n_post)
        indptr, indices = _bernoulli_pairs(
            _key_words(key), n_pre, n_post, float(self.p), not self.allow_self_connections
        )
        if self.seed_stable:
            width = binomial_row_capacity(n_pre, n_post, self.p)
            targets = csr_to_padded_rows(indptr, indices, width, pad=n_post)
            return ELL(targets, self.weight, n_post, max_active=self.max_active)
        return CSR(indptr, indices, self.weight, n_post, max_active=self.max_active)


class FixedInDegree(AbstractConnectivityRule):
    r"""Each postsynaptic neuron receives exactly $k$ synapses from $k$ distinct presynaptic
    neurons chosen uniformly at random.

    **Fields:**
    - `k`: in-degree, an integer in [0, $n_\mathrm{pre}$] ([0, $n_\mathrm{pre} - 1$] without
      self connections).
    - `weight`: homogeneous weight, in the receiving synapse's unit (nS or pA).
    - `allow_self_connections`: if `False`, no pair $i \to i$.
    - `max_active`: active-row buffer of the built `CSR` (default: the format's choice).

    **Returns** (`build`): `CSR` (rows = presynaptic neurons, as every format).
    """

    k: int
    weight: Float[Array, ""] = eqx.field(converter=_as_weight)
    allow_self_connections: bool = True
    max_active: int | None = None

    def __check_init__(self):
        require_nonnegative_int("k", self.k)
        _require_scalar_weight(self.weight)
        _require_max_active(self.max_active)

    def build(self, n_pre: int, n_post: int, *, key: PRNGKeyArray) -> CSR:
        n_pre, n_post = _sizes(n_pre, n_post)
        _degree_limit(self.k, n_pre, not self.allow_self_connections, "presynaptic")
        sources = distinct_per_row(
            _numpy_rng(key), n_post, self.k, n_pre, exclude_diagonal=not self.allow_self_connections
        )  # (n_post, k): presynaptic partners of each postsynaptic neuron
        indptr, indices = transpose_rows(sources, n_pre)
        del sources  # before the indices are copied to the device
        # Out-degrees are Binomial(n_post, k / n_pre): a row-length bound from the sizes alone
        # keeps the static `max_row_length` (hence the compiled program) the same for every key.
        candidates = n_pre if self.allow_self_connections else max(n_pre - 1, 1)
        stable = binomial_row_capacity(n_pre, n_post, min(1.0, self.k / candidates))
        return CSR(
            indptr,
            indices,
            self.weight,
            n_post,
            max_active=self.max_active,
            max_row_length=max(stable, int(np.diff(indptr).max(initial=0))),
        )


class FixedOutDegree(AbstractConnectivityRule):
    r"""Each presynaptic neuron makes exactly $k$ synapses onto $k$ distinct postsynaptic
    neurons chosen uniformly at random.

    **Fields:**
    - `k`: out-degree, an integer in [0, $n_\mathrm{post}$] ([0, $n_\mathrm{post} - 1$]
      without self connections).
    - `weight`: homogeneous weight, in the receiving synapse's unit (nS or pA).
    - `allow_self_connections`: if `False`, no pair $i \to i$.
    - `max_active`: active-row buffer of the built `ELL` (default: the format's choice).

    **Returns** (`build`): `ELL` with `k` targets per row, sorted.
    """

    k: int
    weight: Float[Array, ""] = eqx.field(converter=_as_weight)
    allow_self_connections: bool = True
    max_active: int | None = None

    def __check_init__(self):
        require_nonnegative_int("k", self.k)
        _require_scalar_weight(self.weight)
        _require_max_active(self.max_active)

    def build(self, n_pre: int, n_post: int, *, key: PRNGKeyArray) -> ELL:
        n_pre, n_post = _sizes(n_pre, n_post)
        _degree_limit(self.k, n_post, not self.allow_self_connections, "postsynaptic")
        targets = distinct_per_row(
            _numpy_rng(key), n_pre, self.k, n_post, exclude_diagonal=not self.allow_self_connections
        )
        return ELL(targets, self.weight, n_post, max_active=self.max_active)


class OneToOne(AbstractConnectivityRule):
    r"""Neuron $i$ projects to neuron $i$ only: $W = w I$. Needs $n_\mathrm{pre} = n_\mathrm{post}$.

    **Fields:**
    - `weight`: homogeneous weight, in the receiving synapse's unit (nS or pA).

    **Returns** (`build`): `ELL` with one target per row.
    """

    random: ClassVar[bool] = False

    weight: Float[Array, ""] = eqx.field(converter=_as_weight)

    def __check_init__(self):
        _require_scalar_weight(self.weight)

    def build(self, n_pre: int, n_post: int, *, key: PRNGKeyArray) -> ELL:
        n_pre, n_post = _sizes(n_pre, n_post)
        if n_pre != n_post:
            raise ValueError(f"`OneToOne` needs `n_pre` == `n_post`; got n_pre={n_pre} and n_post={n_post}.")
        return ELL(np.arange(n_pre, dtype=np.int32)[:, None], self.weight, n_post)


class AllToAll(AbstractConnectivityRule):
    r"""Every presynaptic neuron projects to every postsynaptic neuron with the same weight.

    **Fields:**
    - `weight`: homogeneous weight, in the receiving synapse's unit (nS or pA).
    - `allow_self_connections`: if `False`, the diagonal $i \to i$ is zero (not a synapse).

    **Returns** (`build`): `Dense`, shape `(n_pre, n_post)`.
    """

    random: ClassVar[bool] = False

    weight: Float[Array, ""] = eqx.field(converter=_as_weight)
    allow_self_connections: bool = True

    def __check_init__(self):
        _require_scalar_weight(self.weight)

    def build(self, n_pre: int, n_post: int, *, key: PRNGKeyArray) -> Dense:
        n_pre, n_post = _sizes(n_pre, n_post)
        weight = _concrete(self.weight)
        if weight is None:  # a traced weight (rule built under jit)
            weights = jnp.full((n_pre, n_post), self.weight)
            if not self.allow_self_connections:
                weights = jnp.where(jnp.eye(n_pre, n_post, dtype=bool), 0.0, weights)
            return Dense(weights)
        weights = np.full((n_pre, n_post), weight)  # on the host: nothing compiled
        if not self.allow_self_connections:
            np.fill_diagonal(weights, 0)
        return Dense(jax.device_put(weights))


class FromArrays(AbstractConnectivityRule):
    r"""Explicit synapse list: synapse $s$ goes from `pre[s]` to `post[s]` with weight
    `weight` (or `weight[s]`). Duplicate pairs are kept (their weights add).

    **Fields:**
    - `pre`, `post`: integer arrays of equal length `(n_synapses,)`; checked against the
      population sizes at `build`.
    - `weight`: scalar (homogeneous) or shape `(n_synapses,)`, in the receiving synapse's unit.
    - `max_active`: active-row buffer of the built `CSR` (default: the format's choice).

    **Returns** (`build`): `CSR` (synapses reordered by `pre`, stable).
    """

    random: ClassVar[bool] = False

    pre: Int[np.ndarray, " n_synapses"] = eqx.field(converter=np.asarray)
    post: Int[np.ndarray, " n_synapses"] = eqx.field(converter=np.asarray)
    weight: Float[Array, ""] | Float[Array, " n_synapses"] = eqx.field(converter=_as_weight)
    max_active: int | None = None

    def __check_init__(self):
        for name, value in (("pre", self.pre), ("post", self.post)):
            if value.ndim != 1 or not np.issubdtype(value.dtype, np.integer):
                raise ValueError(
                    f"`{name}` must be a 1-D integer array; got shape {value.shape} and dtype {value.dtype}."
                )
        if self.post.shape != self.pre.shape:
            raise ValueError(
                f"`post` must have the same length as `pre` ({self.pre.shape[0]}); got {self.post.shape[0]}."
            )
        if self.weight.shape not in ((), self.pre.shape):
            raise ValueError(
                f"`weight` must be a scalar or have shape {self.pre.shape} like `pre`; got shape "
                f"{self.weight.shape}."
            )
        _require_max_active(self.max_active)

    def build(self, n_pre: int, n_post: int, *, key: PRNGKeyArray) -> CSR:
        n_pre, n_post = _sizes(n_pre, n_post)
        for name, value, size in (("pre", self.pre, n_pre), ("post", self.post, n_post)):
            if value.size and (value.min() < 0 or value.max() >= size):
                raise ValueError(
                    f"`{name}` must be in [0, {size}) (the `n_{name}` population); got min "
                    f"{value.min()} and max {value.max()}."
                )
        order = np.argsort(self.pre, kind="stable")
        weight = self.weight if self.weight.ndim == 0 else np.asarray(self.weight)[order]  # host gather
        return CSR(
            indptr_from_rows(self.pre, n_pre),
            self.post[order].astype(np.int32, copy=False),
            weight,
            n_post,
            max_active=self.max_active,
        )


__all__ = [
    "AbstractConnectivityRule",
    "AllToAll",
    "FixedInDegree",
    "FixedOutDegree",
    "FixedProbability",
    "FromArrays",
    "OneToOne",
]
