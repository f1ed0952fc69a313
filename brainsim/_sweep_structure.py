"""How the networks of a sweep's points relate: the same structure (compiled once, `vmap`ped),
which leaves vary from point to point (traced and batched), which are shared.

A `Network` is a pytree. Two points share a *signature* when their treedefs (static fields
included) are equal and every array leaf has the same shape and dtype; they then run in one
compiled program. Within a signature, a leaf that differs between points is *swept*: arrays
are stacked along a new leading axis, Python numbers become arrays of the default dtype (so
they are traced, not compile-time constants). Leaves equal in every point are passed once
(arrays) or stay constants (Python numbers and other objects), as `simulate` treats them.
"""

from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np

from .connect._keys import _is_host_threefry, fold_in, threefry_2x32
from .network import Network
from .ops._base import default_float_dtype

_NUMBER_KINDS = ((bool, "bool"), (int, "int"), (float, "float"))


def _number_kind(leaf) -> str | None:
    if isinstance(leaf, np.generic) and leaf.ndim == 0 and not isinstance(leaf, np.ndarray):
        leaf = leaf.item()
    for kind, name in _NUMBER_KINDS:
        if isinstance(leaf, kind):
            return name
    return None


def _is_array(leaf) -> bool:
    return isinstance(leaf, jax.Array | np.ndarray)


def signature(network: Network) -> tuple:
    """Hashable description of what a compiled program depends on besides leaf values."""
    leaves, treedef = jtu.tree_flatten(network)
    described = []
    for leaf in leaves:
        if _is_array(leaf):
            described.append(("array", tuple(leaf.shape), str(leaf.dtype)))
        elif (kind := _number_kind(leaf)) is not None:
            described.append(("number", kind))
        else:
            try:
                hash(leaf)
                described.append(("object", leaf))
            except TypeError:
                described.append(("object-id", id(leaf)))
    return treedef, tuple(described)


def _host(leaf) -> Any:
    if _is_array(leaf):
        return np.asarray(leaf)
    return leaf


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


class Layout:
    """The leaves of a signature's representative network and which of them are swept."""

    def __init__(self, representative: Network):
        leaves, self.treedef = jtu.tree_flatten(representative)
        self.signature = signature(representative)
        self.reference = [_host(x) for x in leaves]
        self.swept: frozenset[int] = frozenset()

    def differing(self, network: Network) -> set[int]:
        """Indices of the leaves of `network` (same signature) that differ from the reference."""
        leaves = jtu.tree_leaves(network)
        return {
            i
            for i, (ref, leaf) in enumerate(zip(self.reference, leaves, strict=True))
            if not _same(ref, _host(leaf))
        }

    def constants(self) -> list:
        """The constant leaves (`None` where a leaf is swept or a shared array)."""
        return [
            None if i in self.swept or self.signature[1][i][0] == "array" else ref
            for i, ref in enumerate(self.reference)
        ]

    def split(self, networks: list[Network]):
        """`(swept, shared, constants)` for a batch of networks of this signature: swept
        leaves stacked `(batch, ...)` as NumPy arrays, shared arrays (from the first network),
        and the constant leaves (`None` where swept or shared)."""
        per_network = [jtu.tree_leaves(net) for net in networks]
        swept, shared, constants = [], [], []
        for i, ref in enumerate(self.reference):
            if i in self.swept:
                values = [_host(leaves[i]) for leaves in per_network]
                kind = self.signature[1][i]
                if kind[0] == "number":
                    dtype = {
                        "bool": np.bool_,
                        "int": np.dtype(jnp.result_type(int)),
                        "float": default_float_dtype(),
                    }
                    swept.append(np.asarray(values, dtype[kind[1]]))
                else:
                    swept.append(np.stack(values))
                constants.append(None)
            elif _is_array(per_network[0][i]):
                shared.append(per_network[0][i])
                constants.append(None)
            else:
                constants.append(ref)
        return swept, shared, constants

    def assemble(self, swept, shared, constants) -> Network:
        """The network from the three parts (inside the traced function: one point of `swept`)."""
        swept, shared = iter(swept), iter(shared)
        leaves = []
        for i, const in enumerate(constants):
            if i in self.swept:
                leaves.append(next(swept))
            elif const is None and self.signature[1][i][0] == "array":
                leaves.append(next(shared))
            else:
                leaves.append(const)
        return jtu.tree_unflatten(self.treedef, leaves)

    def as_traced(self, network: Network) -> Network:
        """`network` with its swept Python numbers made arrays, as the sweep runs it (the
        network whose single `simulate` equals the sweep's point)."""
        swept, shared, constants = self.split([network])
        return self.assemble([jnp.asarray(x[0]) for x in swept], shared, constants)


def point_key(key, k: int):
    """The key of point `k` of a sweep run with `key`: `jax.random.fold_in(key, k)` (computed
    on the host for the default threefry keys)."""
    return fold_in(key, k)


def point_keys(key, indices: list[int]):
    """The keys of points `indices`, stacked, shape `(len(indices),)` (typed keys) or
    `(len(indices), 2)` (legacy `uint32[2]` keys)."""
    if _is_host_threefry(key):
        typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
        k0, k1 = (int(v) for v in np.asarray(jr.key_data(key) if typed else key))
        bits = np.array([threefry_2x32((k0, k1), (0, int(k))) for k in indices], np.uint32)
        return jr.wrap_key_data(bits, impl=jr.key_impl(key)) if typed else jax.device_put(bits)
    return jnp.stack([jr.fold_in(key, k) for k in indices])
