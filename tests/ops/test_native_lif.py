"""Fused LIF network kernel (`brainsim/ops/native_lif.py`) against a pure-JAX step written here."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainsim.ops import _native
from brainsim.ops.native_lif import lif_network_steps

PARAMS = dict(
    dt=0.1,
    c_m=200.0,
    g_leak=10.0,
    e_leak=-60.0,
    v_threshold=-50.0,
    v_reset=-60.0,
    t_ref=5.0,
    i_bias=120.0,
)
TAU_SYN, E_SYN = (5.0, 10.0), (0.0, -80.0)


def _network(n=500, p=0.02, w_e=3.0, w_i=30.0, seed=0):
    """E/I network (80 % excitatory), CSR by presynaptic neuron; inhibitory rows offset by n."""
    rng = np.random.default_rng(seed)
    n_e = int(0.8 * n)
    adjacency = rng.random((n, n)) < p
    np.fill_diagonal(adjacency, False)
    pre, post = np.nonzero(adjacency)
    indptr = np.concatenate([[0], np.cumsum(adjacency.sum(1))]).astype(np.int32)
    inhibitory = pre >= n_e
    indices = (post + n * inhibitory).astype(np.int32)
    weights = np.where(inhibitory, w_i, w_e).astype(np.float32) * rng.uniform(0.5, 1.5, pre.size)
    v = rng.uniform(-60.0, -50.0, n).astype(np.float32)
    return v, np.zeros(n, np.float32), np.zeros((2, n), np.float32), indptr, indices, weights


def _reference_run(v, ref, g, indptr, indices, weights, n_steps, p):
    """Independent pure-JAX step, written out per channel (2 channels: excitatory, inhibitory)."""
    n = v.shape[0]
    rows = jnp.asarray(np.repeat(np.arange(n), np.diff(indptr)))
    decay_e = jnp.exp(-p["dt"] / jnp.float32(TAU_SYN[0]))
    decay_i = jnp.exp(-p["dt"] / jnp.float32(TAU_SYN[1]))

    def step(carry, _):
        v, ref, g = carry
        g_e, g_i = g[0], g[1]
        free = ref <= 1e-4
        a = -(jnp.float32(p["g_leak"]) + g_e + g_i) / p["c_m"]
        drive = (
            jnp.float32(p["g_leak"]) * jnp.float32(p["e_leak"])
            + g_e * E_SYN[0]
            + g_i * E_SYN[1]
            + p["i_bias"]
        )
        b = drive / p["c_m"]
        e = jnp.exp(a * p["dt"])
        v_new = v * e + b * (e - 1.0) / a
        spike = free & (v_new > p["v_threshold"])
        v = jnp.where(spike, p["v_reset"], jnp.where(free, v_new, v))
        ref = jnp.where(spike, p["t_ref"], jnp.where(free, ref, ref - p["dt"]))
        g = jnp.stack([g_e * decay_e, g_i * decay_i]).reshape(-1)
        g = g.at[jnp.asarray(indices)].add(jnp.where(spike[rows], jnp.asarray(weights), 0.0))
        return (v, ref, g.reshape(2, n)), spike

    (v, ref, g), raster = jax.lax.scan(step, (v, ref, g), None, length=n_steps)
    return v, ref, g, raster


def _fused_run(state, connectivity, n_steps, per_call):
    def chunk(carry, _):
        v, ref, g = carry
        v, ref, g, raster = lif_network_steps(
            v, ref, g, *connectivity, n_steps=per_call, tau_syn=TAU_SYN, e_syn=E_SYN, **PARAMS
        )
        return (v, ref, g), raster

    (v, ref, g), rasters = jax.lax.scan(chunk, state, None, length=n_steps // per_call)
    return v, ref, g, rasters.reshape(n_steps, -1)


@pytest.mark.skipif(not _native.available(_native._LIF_NETWORK_KERNEL), reason="not built")
@pytest.mark.parametrize("per_call", [1, 10])
def test_fused_kernel_matches_jax_step(per_call):
    v, ref, g, indptr, indices, weights = _network()
    n_steps = 1000
    expected = jax.jit(lambda *s: _reference_run(*s, indptr, indices, weights, n_steps, PARAMS))(
        v, ref, g
    )
    fused = jax.jit(lambda *s: _fused_run(s, (indptr, indices, weights), n_steps, per_call))(
        v, ref, g
    )
    raster, expected_raster = np.asarray(fused[3]), np.asarray(expected[3])
    rate_hz = expected_raster.mean() / (PARAMS["dt"] * 1e-3)
    assert 2.0 < rate_hz < 200.0, rate_hz  # the network is active, not silent or saturated
    assert raster.dtype == np.bool_ and raster.shape == (n_steps, 500)
    assert np.array_equal(raster, expected_raster), np.argwhere(raster != expected_raster)[:5]
    np.testing.assert_allclose(np.asarray(fused[0]), np.asarray(expected[0]), atol=1e-3)
    np.testing.assert_allclose(np.asarray(fused[2]), np.asarray(expected[2]), rtol=1e-4, atol=1e-4)
