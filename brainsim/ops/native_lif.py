r"""Fused multi-step LIF network kernel (COBA benchmark family) on the CPU, with a JAX fallback.

Advances $N$ LIF neurons with $C$ exponential conductance channels by `n_steps` steps of `dt`
in one call. Per step, for neurons whose refractory countdown is $\le 10^{-4}$ ms
(exponential Euler, exact for frozen conductances):

$$a = -\frac{g_L + \sum_c g_c}{C_m},\quad b = \frac{g_L E_L + \sum_c g_c E_c + I_b}{C_m},\quad
v \leftarrow v e^{a\,dt} + b\,\frac{e^{a\,dt} - 1}{a};$$

refractory neurons keep $v$ and count down by `dt`. A free neuron with $v > V_\theta$ spikes:
$v \leftarrow V_r$, countdown $\leftarrow t_\mathrm{ref}$. Then $g_c \leftarrow g_c e^{-dt/\tau_c}$
and each spike adds its CSR row of weights to $g$ (one-step delay: they act from the next step on).

The native kernel aliases the state in -> out and returns the spike raster as bool
`(n_steps, N)`. Without the native library (or off CPU) the same step runs as a pure-JAX scan.
No gradients (the raster is boolean); use the differentiable `brainsim` models for training.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from . import _native

__all__ = ["lif_network_steps"]


def _jax_steps(v, refractory, g, indices, weights, rows, decay, e_syn, n_steps, p):
    n_channels, n = g.shape
    g_leak_e_leak = jnp.float32(p["g_leak"]) * jnp.float32(p["e_leak"])

    def step(carry, _):
        v, ref, g = carry
        free = ref <= 1e-4
        g_sum = jnp.float32(p["g_leak"])
        drive = g_leak_e_leak
        for c in range(n_channels):
            g_sum = g_sum + g[c]
            drive = drive + g[c] * e_syn[c]
        drive = drive + p["i_bias"]
        a = -g_sum / p["c_m"]
        b = drive / p["c_m"]
        e = jnp.exp(a * p["dt"])
        v_free = v * e + b * (e - 1.0) / a
        spiked = free & (v_free > p["v_threshold"])
        v = jnp.where(spiked, p["v_reset"], jnp.where(free, v_free, v))
        ref = jnp.where(spiked, p["t_ref"], jnp.where(free, ref, ref - p["dt"]))
        g = g * decay[:, None]
        delivered = jnp.where(spiked[rows], weights, jnp.zeros((), weights.dtype))
        g = g.reshape(-1).at[indices].add(delivered, mode="drop").reshape(n_channels, n)
        return (v, ref, g), spiked

    (v, refractory, g), raster = jax.lax.scan(step, (v, refractory, g), None, length=n_steps)
    return v, refractory, g, raster


def lif_network_steps(
    v: Float[ArrayLike, " n"],
    refractory: Float[ArrayLike, " n"],
    g: Float[ArrayLike, "c n"],
    indptr: Int[ArrayLike, " n_ptr"],
    indices: Int[ArrayLike, " nnz"],
    weights: Float[ArrayLike, " nnz"],
    *,
    n_steps: int,
    dt: float,
    c_m: float,
    g_leak: float,
    e_leak: float,
    v_threshold: float,
    v_reset: float,
    t_ref: float,
    tau_syn: tuple[float, ...],
    e_syn: tuple[float, ...],
    i_bias: float = 0.0,
) -> tuple[Float[Array, " n"], Float[Array, " n"], Float[Array, "c n"], Bool[Array, "k n"]]:
    r"""Advance a LIF network with exponential conductance synapses by `n_steps` steps.

    **Arguments:**
    - `v`: membrane potential, mV, shape `(n,)`.
    - `refractory`: refractory time left, ms, shape `(n,)`; free when <= 1e-4 ms.
    - `g`: synaptic conductances, nS, shape `(c, n)`, one row per channel.
    - `indptr`, `indices`, `weights`: CSR by presynaptic neuron, shapes `(n + 1,)`, `(nnz,)`,
      `(nnz,)`; `indices` address the flattened `g`, i.e. channel `c` of neuron `j` is
      `c * n + j`; weights in nS.
    - `n_steps`: steps per call (static). `dt`: step, ms.
    - `c_m` (pF, > 0), `g_leak` (nS, > 0), `e_leak` (mV), `v_threshold` (mV), `v_reset` (mV),
      `t_ref` (ms, >= 0), `i_bias` (pA): neuron parameters, Python floats.
    - `tau_syn` (ms, > 0) and `e_syn` (mV): one time constant and reversal potential per channel.

    **Returns:** `(v, refractory, g, raster)`, the new state and the bool spike raster of shape
    `(n_steps, n)`. float32 only.
    """
    v = jnp.asarray(v, jnp.float32)
    refractory = jnp.asarray(refractory, jnp.float32)
    g = jnp.asarray(g, jnp.float32)
    indptr = jnp.asarray(indptr, jnp.int32)
    indices = jnp.asarray(indices, jnp.int32)
    weights = jnp.asarray(weights, jnp.float32)
    if len(tau_syn) != g.shape[0] or len(e_syn) != g.shape[0]:
        raise ValueError(
            f"`tau_syn` and `e_syn` need one entry per channel (g.shape[0] = {g.shape[0]}); "
            f"got {len(tau_syn)} and {len(e_syn)}."
        )
    decay = jnp.exp(-dt / jnp.asarray(tau_syn, jnp.float32))
    e_syn_array = jnp.asarray(e_syn, jnp.float32)
    params = dict(
        dt=dt,
        c_m=c_m,
        g_leak=g_leak,
        e_leak=e_leak,
        v_threshold=v_threshold,
        v_reset=v_reset,
        t_ref=t_ref,
        i_bias=i_bias,
    )

    def reference(v, refractory, g, indptr, indices, weights, decay, e_syn_array):
        rows = jnp.cumsum(
            jnp.zeros(indices.shape[0], jnp.int32).at[indptr[1:-1]].add(1, mode="drop")
        )
        return _jax_steps(
            v, refractory, g, indices, weights, rows, decay, e_syn_array, n_steps, params
        )

    operands = (v, refractory, g, indptr, indices, weights, decay, e_syn_array)
    if not _native.request(_native._LIF_NETWORK_KERNEL):
        return reference(*operands)
    return jax.lax.platform_dependent(
        *operands,
        cpu=lambda *a: _native.lif_network_steps_call(*a, n_steps, **params),
        default=reference,
    )
