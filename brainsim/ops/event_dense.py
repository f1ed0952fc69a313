r"""Products of mostly-zero inputs (spikes) with dense, trainable weights: $Y = X W$.

A spiking layer's input projection multiplies a `(T * batch, n_in)` matrix of spikes, about 5%
of them nonzero, by dense weights. A dense product does all $m k n$ multiply-adds; the native
kernel (`train_kernels.cc`) reads only the nonzero entries of $X$ and adds their rows of $W$,
$\mathrm{nnz}(X)\, n$ multiply-adds, and its weight gradient $X^\top G$ scatters the rows of
$G$ the same way. The input gradient $G W^\top$ is dense and left to XLA (and dropped by XLA
when $X$ is data, not a function of the parameters).

`event_dense_matmul` takes the event kernel when the native library is loaded, the operands
share a float32/float64 dtype and a sample of $X$ (up to 64 evenly spaced rows) is at most
`EVENT_DENSITY` nonzero; otherwise it is XLA's dense product. Both compute the same product;
they round differently (float summation order), so a result can differ in the last bits with the
branch. Forward-mode differentiation (`jax.jvp`) of the event branch is not defined.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from . import _native

EVENT_DENSITY = 0.1
"""The largest sampled fraction of nonzero inputs for which the event kernel is used (it beats
XLA's dense product up to about 0.15 on a 2-core x86-64 CPU; see `benchmarks/train_step.py`)."""

_SAMPLE_ROWS = 64


@jax.custom_vjp
def _event_product(x, w):
    return _native.event_matmul_call(x, w)


def _event_product_fwd(x, w):
    return _native.event_matmul_call(x, w), (x, w)


def _event_product_bwd(residuals, g):
    x, w = residuals
    return g @ w.T, _native.event_matmul_t_call(x, g)


_event_product.defvjp(_event_product_fwd, _event_product_bwd)


def _native_ok(x, w) -> bool:
    return (
        x.dtype == w.dtype
        and x.dtype in (jnp.float32, jnp.float64)
        and _native.request(_native.TRAIN_KERNELS)
    )


def _sample_density(x: Float[Array, "m k"]) -> Float[Array, ""]:
    step = max(1, x.shape[0] // _SAMPLE_ROWS)
    return jnp.mean(x[::step] != 0)


def event_dense_matmul(x: Float[Array, "*batch k"], w: Float[Array, "k_w n"]) -> Float[Array, "*batch n"]:
    r"""$X W$ for inputs `x` `(..., k)` that are mostly zeros and dense weights `w` `(k, n)`,
    differentiable in both (reverse mode). See the module docstring for when the event kernel
    runs.

    **Returns:** shape `x.shape[:-1] + (n,)`.
    """
    if jnp.ndim(w) != 2 or jnp.ndim(x) < 1 or jnp.shape(x)[-1] != jnp.shape(w)[0]:
        raise ValueError(
            f"`x` must have shape (..., k) and `w` (k, n); got {jnp.shape(x)} and {jnp.shape(w)}."
        )
    x, w = jnp.asarray(x), jnp.asarray(w)
    lead = x.shape[:-1]
    rows = int(np.prod(lead, dtype=np.int64))
    if rows == 0 or not _native_ok(x, w):
        return x @ w
    flat = x.reshape(rows, x.shape[-1])
    y = jax.lax.cond(_sample_density(flat) <= EVENT_DENSITY, _event_product, jnp.matmul, flat, w)
    return y.reshape(*lead, w.shape[1])


__all__ = ["EVENT_DENSITY", "event_dense_matmul"]
