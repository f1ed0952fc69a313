r"""The native fast path of a recurrent LIF layer: all $T$ steps of the forward pass in one call
of a C++ kernel, and all $T$ steps of its reverse pass in another (`train_kernels.cc`).

It takes the layers that `RecurrentSpikingLayer`'s voltage path takes (`LIF` behind an
`InstantaneousSynapse`, plain BPTT, constant parameters) with a `CUBA` output, scalar neuron
parameters and float32/float64 weights, when the native library is loaded. In step $t$, with the
drive $d_t = x_t W_\mathrm{in}$ computed before:

$$I = d_t + s_{t-1} W_\mathrm{rec}, \qquad
v' = \begin{cases} v E + \frac{g_L E_L + I}{C_m}\,\varphi & \text{free} \\ v & \text{held}
\end{cases}, \qquad s_t = H(v' - V_\theta), \qquad v \leftarrow s_t\,?\,V_r : v',$$

with $E = e^{a \Delta t}$, $\varphi = (e^{a \Delta t} - 1)/a$, $a = -g_L/C_m$ (the simulator's
exponential Euler step) and the refractory countdown of `LIF`; the recurrent input is added row
by row for the neurons that spiked (events). The reverse pass is `_voltage_recursion`'s
(two multiply-adds per neuron and step and one dense $g_t W_\mathrm{rec}^\top$ product), with
$\partial v'/\partial v = E$ and $\partial v'/\partial I = \varphi / C_m$ where free (1 and 0
where held) and the surrogate derivative $\psi(v' - V_\theta)$ of every step computed in JAX
from the recorded $v'$, so every surrogate works; it also forms
$\partial L/\partial W_\mathrm{rec} = \sum_t s_{t-1}^\top g_t$ from the spikes (events).

Each thread runs a slice of the batch through all steps, so the steps need no synchronisation.
The kernel sums in its own order, so spikes equal the JAX path's except where a membrane lands
within rounding of the threshold; gradients agree to rounding (`tests/train/test_native_layer.py`).
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..dynamics.base import exponential_euler_update
from ..dynamics.neurons.lif import LIF
from ..dynamics.synapses.base import CUBA
from ..ops import _native


def takes_native_path(layer, dtype) -> bool:
    """Whether a layer that takes the voltage path also takes the native kernel: `CUBA` output,
    scalar `LIF` parameters, weights of `dtype` float32/float64 and the library loaded."""
    neuron = layer.neuron
    scalars = all(
        np.ndim(getattr(neuron, name)) == 0
        for name in ("c_m", "g_leak", "e_leak", "v_threshold", "v_reset", "t_ref")
    )
    weights_ok = layer.recurrent_weights is None or layer.recurrent_weights.dtype == dtype
    return (
        type(layer.output) is CUBA
        and type(neuron) is LIF
        and scalars
        and dtype in (jnp.float32, jnp.float64)
        and layer.weights.dtype == dtype
        and weights_ok
        and _native.request(_native.TRAIN_KERNELS)
    )


def _params(neuron: LIF, dt: float, dtype) -> Float[Array, "8"]:
    """The kernel's constants (E, phi, g_L E_L, C_m, V_th, V_r, t_ref, dt), E and phi from the
    simulator's exponential Euler step in `dtype`."""
    a = jnp.asarray(-neuron.g_leak / neuron.c_m, dtype)
    one, zero = jnp.ones((), dtype), jnp.zeros((), dtype)
    decay = exponential_euler_update(a, one, zero, dt)
    phi = exponential_euler_update(a, zero, one, dt)
    rest = [neuron.g_leak * neuron.e_leak, neuron.c_m, neuron.v_threshold, neuron.v_reset, neuron.t_ref, dt]
    return jnp.stack([decay, phi, *(jnp.asarray(p, dtype) for p in rest)])


def _empty(dtype) -> Array:
    return jnp.zeros((0, 0), dtype)


def _forward(recurrent_weights, drive, neuron: LIF, dt: float):
    _, batch, n = drive.shape
    params = _params(neuron, dt, drive.dtype)
    weights = _empty(drive.dtype) if recurrent_weights is None else recurrent_weights
    v0 = jnp.full((batch, n), neuron.e_leak, drive.dtype)
    ref0 = jnp.zeros((batch, n), drive.dtype)
    return params, _native.lif_layer_forward_call(params, drive, weights, v0, ref0)


@eqx.filter_custom_vjp
def native_lif_layer(weights_and_drive, neuron: LIF, dt: float) -> Float[Array, "time batch n"]:
    """The spikes `(T, batch, n)` of a native-path layer (see the module docstring) for
    `weights_and_drive = (recurrent_weights or None, drive)`, `drive` `(T, batch, n)` the input
    projection of every step, starting from rest."""
    _, (spikes, _, _) = _forward(*weights_and_drive, neuron, dt)
    return spikes


@native_lif_layer.def_fwd
def _(perturbed, weights_and_drive, neuron, dt):
    params, (spikes, v_before_reset, flags) = _forward(*weights_and_drive, neuron, dt)
    sigma = neuron.surrogate.derivative(v_before_reset - jnp.asarray(neuron.v_threshold, spikes.dtype))
    return spikes, (params, flags, sigma)


@native_lif_layer.def_bwd
def _(residuals, g_spikes, perturbed, weights_and_drive, neuron, dt):
    params, flags, sigma = residuals
    recurrent_weights, _ = weights_and_drive
    g_spikes = jnp.zeros_like(sigma) if g_spikes is None else g_spikes
    weights_t = _empty(sigma.dtype) if recurrent_weights is None else recurrent_weights.T
    g_drive, g_recurrent = _native.lif_layer_backward_call(params, weights_t, g_spikes, flags, sigma)
    d_recurrent = g_recurrent if recurrent_weights is not None and perturbed[0] else None
    return d_recurrent, g_drive
