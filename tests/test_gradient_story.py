"""The recurrent E/I rate-tuning story, with default settings: the surrogate gradient of the
mean E rate has the sign of a finite-difference estimate at 20, 100 and 200 ms, and Adam tunes
the rate to 15 Hz.

A single key's rate is a spike count, piecewise constant in the parameter: its derivative is 0
almost everywhere and a small-step finite difference is noise. What the surrogate gradient
estimates is the derivative of the rate averaged over keys, which is smooth; the reference is
therefore a central difference with a wide step (5%) over 8 keys, the same keys on both sides
so that their noise cancels.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import brainsim as bs

DT, TARGET = 0.1, 15.0


def _network():
    """200 E / 50 I default LIFs, COBA, 10% recurrent connectivity, Poisson drive (2.5-4 Hz)."""
    lif = bs.LIF()
    synapse = {"E": bs.ExponentialSynapse(tau=5.0), "I": bs.ExponentialSynapse(tau=10.0)}
    output = {"E": bs.COBA(e_rev=0.0), "I": bs.COBA(e_rev=-80.0)}
    weight = {"E": 1.0, "I": 6.0}  # nS
    projections = [
        bs.Projection(s, d, bs.FixedProbability(0.1, weight=weight[s]), synapse[s], output[s])
        for s in ("E", "I")
        for d in ("E", "I")
    ]
    inputs = [
        bs.PoissonInput(t, 100, 10.0, 0.6, bs.ExponentialSynapse(tau=5.0), bs.COBA(e_rev=0.0))
        for t in ("E", "I")
    ]
    return bs.Network(
        [bs.Population("E", 200, lif), bs.Population("I", 50, lif)], projections, inputs, key=jr.key(42)
    )


def _rate(net, theta, key, duration):
    """Mean E rate (Hz) with the Poisson weights scaled by `theta`."""
    for i in range(len(net.inputs)):
        net = eqx.tree_at(lambda n, i=i: n.inputs[i].weight, net, theta * net.inputs[i].weight)
    return bs.run(net, duration, DT, key=key, record=False).rates["E"]


@pytest.mark.slow
@pytest.mark.parametrize("duration", [20.0, 100.0, 200.0])
def test_surrogate_gradient_has_the_sign_of_a_smoothed_finite_difference(duration):
    net, keys, theta, eps = _network(), jr.split(jr.key(7), 8), 1.0, 0.05
    f = lambda th, k: _rate(net, th, k, duration)
    rate, d_rate = jax.jit(jax.vmap(jax.value_and_grad(f), in_axes=(None, 0)))(theta, keys)
    batch = jax.jit(jax.vmap(f, in_axes=(None, 0)))
    up, down = batch(theta + eps, keys), batch(theta - eps, keys)
    assert np.all(np.isfinite(d_rate))
    fd = (np.mean((up - TARGET) ** 2) - np.mean((down - TARGET) ** 2)) / (2 * eps)
    surrogate = float(np.mean(2 * (rate - TARGET) * d_rate))
    assert fd < 0 and surrogate < 0  # below the target, more drive lowers the loss
    assert abs(surrogate) < 20 * abs(fd)  # no explosion (measured 0.9x, 1.6x, 2.5x)


@pytest.mark.slow
def test_adam_tunes_the_rate_to_15_hz_with_default_settings():
    net = _network()
    grad = jax.jit(jax.grad(lambda th, k: (_rate(net, th, k, 200.0) - TARGET) ** 2))
    optimiser = optax.adam(0.05)
    theta = jnp.asarray(1.0)
    state = optimiser.init(theta)
    for i in range(25):
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
            updates, state = optimiser.update(grad(theta, jr.key(100 + i)), state)
            theta = optax.apply_updates(theta, updates)
    final = jax.jit(jax.vmap(lambda k: _rate(net, theta, k, 200.0)))(jr.split(jr.key(1), 8))
    assert abs(float(np.mean(final)) - TARGET) < 2.0
