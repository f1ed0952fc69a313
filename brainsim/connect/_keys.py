"""`jax.random.fold_in` computed on the host, for building networks without eager XLA work.

The first eager `jax.random.fold_in` in a process compiles a small XLA program (~0.1 s), which
network construction would pay only to derive per-projection keys. For the default
`threefry2x32` keys the same bits are computed here in NumPy (the Threefry-2x32 hash, 20
rounds, as `jax._src.random.threefry2x32`); other key kinds and traced keys go to
`jax.random.fold_in`. Tests check the two agree bit for bit.
"""

import jax
import jax.random as jr
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry_2x32(key: tuple[int, int], x: tuple[int, int]) -> tuple[int, int]:
    """The Threefry-2x32 block function of one counter pair, as Python ints."""
    mask = 0xFFFFFFFF
    ks = (key[0], key[1], key[0] ^ key[1] ^ 0x1BD11BDA)
    x0, x1 = (x[0] + ks[0]) & mask, (x[1] + ks[1]) & mask
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = (x0 + x1) & mask
            x1 = ((x1 << r | x1 >> (32 - r)) & mask) ^ x0
        x0 = (x0 + ks[(i + 1) % 3]) & mask
        x1 = (x1 + ks[(i + 2) % 3] + i + 1) & mask
    return x0, x1


def _is_host_threefry(key) -> bool:
    if isinstance(key, jax.core.Tracer) or not isinstance(key, jax.Array):
        return False
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key.shape == () and str(jr.key_impl(key)) == "threefry2x32"
    return (  # a raw `jax.random.PRNGKey`: uint32[2] under the default implementation
        key.shape == (2,) and key.dtype == np.uint32 and jax.config.jax_default_prng_impl == "threefry2x32"
    )


def fold_in(key, data: int):
    """`jax.random.fold_in(key, data)` for a Python int `data` in `[0, 2**32)`; bit-identical,
    and on the host (no compilation) for concrete `threefry2x32` keys."""
    if not _is_host_threefry(key) or not 0 <= data <= 0xFFFFFFFF:
        return jr.fold_in(key, data)
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    k0, k1 = (int(v) for v in np.asarray(jr.key_data(key) if typed else key))
    new = np.array(threefry_2x32((k0, k1), (0, int(data))), np.uint32)
    if typed:
        return jr.wrap_key_data(new, impl=jr.key_impl(key))
    return jax.device_put(new)


def zero_key():
    """`jax.random.key(0)` without compiling anything (for the default implementation)."""
    if jax.config.jax_default_prng_impl == "threefry2x32":
        return jr.wrap_key_data(np.zeros(2, np.uint32), impl="threefry2x32")
    return jr.key(0)
