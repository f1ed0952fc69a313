r"""Neuron-astrocyte wiring: astrocyte domains (NEST's `third_factor_bernoulli_with_pool` pools),
the tripartite rule on a given neuron-neuron connectivity, and astrocyte gap-junction neighbours.

Each neuron has a *pool* of `pool_size` astrocytes: the astrocytes whose domain covers it. As in
NEST (`TripartiteConnect` with `third_factor_bernoulli_with_pool`):

- `pool_type="random"`: each neuron's pool is `pool_size` astrocytes drawn uniformly without
  replacement, independently per neuron.
- `pool_type="block"`, `pool_size=1`: consecutive blocks of $N/N_A$ neurons share one astrocyte
  (neurons $0..N/N_A - 1$ the first, and so on); $N$ must be a multiple of $N_A$.
- `pool_type="block"`, `pool_size` > 1: neuron $j$'s pool is astrocytes
  $j\,s, \dots, (j + 1)s - 1$ with $s$ = `pool_size`; $N s = N_A$ is required.

`AstrocyteDomains` is a connectivity rule, so it can be a `Projection`'s connectivity directly
(neurons -> astrocytes, glutamate; or astrocytes -> neurons, gliotransmission or a slow inward
current, with `direction="to_neurons"`). `AstrocyteDomains.tripartite` applies NEST's rule to the
synapses of a built neuron-neuron connectivity: each synapse $i \to j$ is paired with probability
`p_third_if_primary` with one astrocyte drawn from $j$'s pool, which then receives from $i$ and
projects to $j$.

Building runs on the host in NumPy, seeded from a JAX key: the same key gives identical arrays.
"""

import equinox as eqx
import jax
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._validation import require_in_range, require_positive_int
from ..ops import CSR, ELL, AbstractConnectivity, stored_synapses
from ..ops._base import default_float_dtype
from .builders import AbstractConnectivityRule

_POOL_TYPES = ("random", "block")
_DIRECTIONS = ("to_astrocytes", "to_neurons")


def _numpy_rng(key: PRNGKeyArray) -> np.random.Generator:
    """A NumPy generator seeded by the key's bits (deterministic in `key`)."""
    return np.random.default_rng(np.asarray(jr.key_data(key), np.uint32).ravel().tolist())


def _weight(weight) -> Array:
    if isinstance(weight, int | float) and not isinstance(weight, bool):
        return jax.device_put(np.asarray(weight, default_float_dtype()))
    return jax.device_put(np.asarray(weight)) if isinstance(weight, np.ndarray | np.generic) else weight


def _csr_from_pairs(pre: np.ndarray, post: np.ndarray, weights, n_pre: int, n_post: int) -> CSR:
    """A `CSR` holding the synapses `pre[s] -> post[s]` (duplicates kept), sorted by `pre`."""
    order = np.argsort(pre, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=n_pre))]).astype(np.int32)
    if np.ndim(weights) > 0:
        weights = jax.device_put(np.asarray(weights)[order])
    return CSR(indptr, post[order].astype(np.int32), weights, n_post)


class Tripartite(eqx.Module):
    """The result of `AstrocyteDomains.tripartite`: the astrocyte of each neuron-neuron synapse
    and the two connectivities it implies.

    **Fields:**
    - `synapse_astrocyte`: the astrocyte paired with each stored synapse of the primary
      connectivity, in its stored layout (`(nnz,)` for `CSR`, `(n_pre, k)` for `ELL`), int32;
      `n_astrocytes` where the synapse has no astrocyte (unpaired, or an `ELL` padding slot).
    - `to_astrocytes`: `CSR`, presynaptic neurons -> astrocytes, one synapse per paired
      primary synapse (a neuron paired twice with an astrocyte has two; their weights add).
    - `to_neurons`: `CSR`, astrocytes -> postsynaptic neurons, likewise.
    - `n_astrocytes`: number of astrocytes (static).
    """

    synapse_astrocyte: Int[np.ndarray, "*stored"]
    to_astrocytes: CSR
    to_neurons: CSR
    n_astrocytes: int = eqx.field(static=True)


class AstrocyteDomains(AbstractConnectivityRule):
    r"""Which astrocytes cover which neurons: NEST's astrocyte pools, as a connectivity rule.

    Neuron $j$ connects to every astrocyte of its pool (`direction="to_astrocytes"`,
    `build(n_neurons, n_astrocytes)`), or every astrocyte to the neurons it covers
    (`direction="to_neurons"`, `build(n_astrocytes, n_neurons)`). Built with the same key, the
    two directions are transposes of each other (block pools need no key at all).

    **Fields:**
    - `n_astrocytes`: number of astrocytes, an integer >= 1.
    - `pool_size`: astrocytes per neuron, an integer in [1, `n_astrocytes`]; for `"block"`,
      1 (then the number of neurons must be a multiple of `n_astrocytes`) or exactly
      `n_astrocytes / n_neurons`.
    - `pool_type`: `"block"` (default) or `"random"`, as NEST's (module docstring).
    - `weight`: homogeneous weight, in the receiving synapse's unit (for glutamate into a
      `LiRinzel` through `CUBA`, µM per unit of the presynaptic signal).
    - `direction`: `"to_astrocytes"` (default) or `"to_neurons"`.
    - `normalize`: if `True`, each synapse's weight is divided by the number of synapses its
      receiver has, so each astrocyte receives the *mean* over its domain (as Stimberg et al.
      2019 average glutamate over an astrocyte's synapses) and each neuron the mean over its pool.
    - `p_third_if_primary`: for `tripartite` only: probability, in [0, 1], that a
      neuron-neuron synapse is paired with an astrocyte (default 1).

    **Returns** (`build`): `ELL` (`"to_astrocytes"`, one row per neuron, its pool) or `CSR`
    (`"to_neurons"`).

    ```python
    domains = AstrocyteDomains(4, pool_type="block")  # 4 astrocytes, each covering a block of neurons
    to_astrocytes = domains.build(20, 4, key=jax.random.key(0))  # neurons 0-4 -> astrocyte 0, ...
    ```

    ??? cite "Reference"
        NEST Simulator documentation, "Connectivity concepts", section "Third-factor Bernoulli
        with pool" (`TripartiteConnect`, `third_factor_bernoulli_with_pool`), NEST 3.8.
    """

    n_astrocytes: int
    pool_size: int = 1
    pool_type: str = "block"
    weight: Float[Array, ""] | float = eqx.field(default=1.0, converter=_weight)
    direction: str = "to_astrocytes"
    normalize: bool = False
    p_third_if_primary: float = eqx.field(default=1.0, converter=float)

    @property
    def random(self) -> bool:
        """Whether `build` draws from its key: random pools do, block pools need no key."""
        return self.pool_type == "random"

    def __check_init__(self):
        require_positive_int("n_astrocytes", self.n_astrocytes)
        require_positive_int("pool_size", self.pool_size)
        if self.pool_size > self.n_astrocytes:
            raise ValueError(
                f"`pool_size` must be in [1, {self.n_astrocytes}] (`n_astrocytes`): a domain cannot "
                f"hold more astrocytes than the population has; got {self.pool_size}."
            )
        if self.pool_type not in _POOL_TYPES:
            raise ValueError(f"`pool_type` must be 'block' or 'random'; got {self.pool_type!r}.")
        if self.direction not in _DIRECTIONS:
            raise ValueError(f"`direction` must be 'to_astrocytes' or 'to_neurons'; got {self.direction!r}.")
        if not isinstance(self.normalize, bool):
            raise TypeError(f"`normalize` must be True or False; got {self.normalize!r}.")
        if np.ndim(self.weight) != 0:
            raise ValueError(
                f"`weight` must be a scalar (homogeneous weight); got shape {np.shape(self.weight)}."
            )
        require_in_range("p_third_if_primary", self.p_third_if_primary, 0.0, 1.0)

    def pools(
        self, n_neurons: int, *, key: PRNGKeyArray | None = None
    ) -> Int[np.ndarray, "n_neurons pool_size"]:
        """The astrocytes covering each neuron: int32, shape `(n_neurons, pool_size)`, each row
        distinct and sorted. `key` is needed for `"random"` pools only."""
        n_neurons = require_positive_int("n_neurons", n_neurons)
        n_a, size = self.n_astrocytes, self.pool_size
        if self.pool_type == "block":
            if size == 1:
                if n_neurons % n_a:
                    raise ValueError(
                        f"block pools with `pool_size=1` need the number of neurons ({n_neurons}) to be a "
                        f"multiple of `n_astrocytes` ({n_a}): each astrocyte covers n_neurons / n_astrocytes "
                        "consecutive neurons."
                    )
                return (np.arange(n_neurons) // (n_neurons // n_a)).astype(np.int32)[:, None]
            if n_neurons * size != n_a:
                raise ValueError(
                    f"block pools with `pool_size={size}` need n_neurons x pool_size == `n_astrocytes`; "
                    f"got {n_neurons} x {size} != {n_a}. Use `pool_size={n_a // n_neurons}` if it divides, "
                    "or `pool_type='random'`."
                )
            return np.arange(n_a, dtype=np.int32).reshape(n_neurons, size)
        if key is None:
            raise ValueError("random pools are drawn: pass `key=`.")
        if size == n_a:  # every neuron's pool is every astrocyte (NEST's default pool)
            return np.tile(np.arange(n_a, dtype=np.int32), (n_neurons, 1))
        rng = _numpy_rng(key)
        # `size` distinct astrocytes per neuron: the `size` smallest of n_a uniform draws, a
        # uniformly random subset; rows in chunks so the draws stay under ~2**22 numbers.
        chunk = max(1, (1 << 22) // n_a)
        chosen = [
            np.argpartition(rng.random((min(chunk, n_neurons - start), n_a)), size - 1, axis=1)[:, :size]
            for start in range(0, n_neurons, chunk)
        ]
        return np.sort(np.concatenate(chosen), axis=1).astype(np.int32)

    def domain_index(
        self, n_neurons: int, *, key: PRNGKeyArray | None = None
    ) -> Int[np.ndarray, " n_neurons"]:
        """The astrocyte covering each neuron, int32, shape `(n_neurons,)`: for couplings that act
        per (presynaptic) neuron, such as release modulation. Needs `pool_size=1`."""
        if self.pool_size != 1:
            raise ValueError(
                "`domain_index` gives one astrocyte per neuron and needs `pool_size=1`; got "
                f"{self.pool_size}. Use `pools` for larger pools."
            )
        return self.pools(n_neurons, key=key)[:, 0]

    def _weights(self, receivers: np.ndarray, n_receivers: int) -> np.ndarray | Array:
        """Per synapse onto `receivers[s]`: the weight, divided by the receiver's number of
        incoming synapses when `normalize` (each receiver gets the mean of its senders)."""
        if not self.normalize:
            return self.weight
        counts = np.bincount(receivers, minlength=n_receivers)
        return np.asarray(self.weight) / counts[receivers].astype(default_float_dtype())

    def build(self, n_pre: int, n_post: int, *, key: PRNGKeyArray) -> AbstractConnectivity:
        n_pre, n_post = require_positive_int("n_pre", n_pre), require_positive_int("n_post", n_post)
        n_neurons, n_astro = (n_pre, n_post) if self.direction == "to_astrocytes" else (n_post, n_pre)
        if n_astro != self.n_astrocytes:
            side = "post" if self.direction == "to_astrocytes" else "pre"
            raise ValueError(
                f"`n_{side}` (the astrocyte population, direction {self.direction!r}) must equal "
                f"`n_astrocytes` = {self.n_astrocytes}; got {n_astro}."
            )
        pools = self.pools(n_neurons, key=key)
        if self.direction == "to_astrocytes":
            weights = self._weights(pools.ravel(), n_astro)
            weights = weights if np.ndim(weights) == 0 else jax.device_put(np.reshape(weights, pools.shape))
            return ELL(pools, weights, n_astro)
        neurons = np.repeat(np.arange(n_neurons, dtype=np.int32), self.pool_size)
        astrocytes = pools.ravel()
        return _csr_from_pairs(astrocytes, neurons, self._weights(neurons, n_neurons), n_astro, n_neurons)

    def tripartite(
        self,
        primary: AbstractConnectivity,
        *,
        key: PRNGKeyArray,
        weight_to_astrocytes: float = 1.0,
        weight_to_neurons: float = 1.0,
    ) -> Tripartite:
        r"""NEST's tripartite rule on the synapses of `primary` (neurons $S \to T$, already built):
        each synapse $i \to j$ is paired, with probability `p_third_if_primary`, with one
        astrocyte drawn uniformly from $j$'s pool; the pair adds $i \to$ astrocyte and
        astrocyte $\to j$.

        **Arguments:**
        - `primary`: a `CSR` or `ELL` (or any format `stored_synapses` knows) from $S$ to $T$.
        - `key`: a JAX key; pools (if random), pairings and choices are drawn from it.
        - `weight_to_astrocytes`, `weight_to_neurons`: homogeneous weights of the two new
          connectivities (each divided by its receiver's synapse count if `normalize`).

        **Returns:** a `Tripartite`.
        """
        pre, post, valid = (np.asarray(a) for a in stored_synapses(primary))
        n_pre, n_post = primary.n_pre, primary.n_post
        pool_key, pair_key = jr.split(key)
        pools = self.pools(n_post, key=pool_key)
        rng = _numpy_rng(pair_key)
        paired = valid & (rng.random(valid.shape) < self.p_third_if_primary)
        choice = rng.integers(0, self.pool_size, size=valid.shape)
        astrocyte = np.where(paired, pools[np.where(valid, post, 0), choice], self.n_astrocytes).astype(
            np.int32
        )
        a, i, j = astrocyte[paired], pre[paired].astype(np.int32), post[paired].astype(np.int32)
        into, out = (
            eqx.tree_at(lambda r: r.weight, self, _weight(w))
            for w in (weight_to_astrocytes, weight_to_neurons)
        )
        return Tripartite(
            synapse_astrocyte=astrocyte,
            to_astrocytes=_csr_from_pairs(
                i, a, into._weights(a, self.n_astrocytes), n_pre, self.n_astrocytes
            ),
            to_neurons=_csr_from_pairs(a, j, out._weights(j, n_post), self.n_astrocytes, n_post),
            n_astrocytes=self.n_astrocytes,
        )


def ring_neighbours(n: int, k: int = 1) -> Int[np.ndarray, "n two_k"]:
    """Gap-junction neighbours of `n` astrocytes on a ring: the `k` nearest on each side, shape
    `(n, 2k)`, int32 (as Stimberg et al. 2019, Fig. 5, with `k=1`). Needs `n` > 2k."""
    n, k = require_positive_int("n", n), require_positive_int("k", k)
    if n <= 2 * k:
        raise ValueError(f"`n` must be > 2k = {2 * k} for {k} distinct neighbours on each side; got {n}.")
    offsets = np.concatenate([-np.arange(k, 0, -1), np.arange(1, k + 1)])
    return ((np.arange(n)[:, None] + offsets[None, :]) % n).astype(np.int32)


def grid_neighbours(rows: int, cols: int) -> Int[np.ndarray, "n 4"]:
    """Gap-junction neighbours on a `rows` x `cols` lattice (astrocyte `r * cols + c`), the four
    nearest (up, down, left, right), no wrap-around: shape `(rows * cols, 4)`, int32, with
    `rows * cols` (padding) where a neighbour falls off the edge."""
    rows, cols = require_positive_int("rows", rows), require_positive_int("cols", cols)
    n = rows * cols
    r, c = np.divmod(np.arange(n), cols)
    table = []
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        rr, cc = r + dr, c + dc
        inside = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        table.append(np.where(inside, rr * cols + cc, n))
    return np.stack(table, axis=1).astype(np.int32)


__all__ = ["AstrocyteDomains", "Tripartite", "grid_neighbours", "ring_neighbours"]
