"""Tests of `brainsim/dynamics/neurons/elm.py`: shapes, the memory units' impulse responses
against their analytic decay, one step against the paper's discrete update, gradients against
finite differences, a `Network` population, and bad parameters."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.base import exponential_euler_step


def _silent_mlp(elm: bs.ELM) -> bs.ELM:
    """The ELM with its MLP's last layer zeroed: Delta m = 0, the memory only decays."""
    last = elm.integration.layers[-1]
    return eqx.tree_at(
        lambda e: (e.integration.layers[-1].weight, e.integration.layers[-1].bias),
        elm,
        (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)),
    )


def test_shapes_and_initial_timescales():
    elm = bs.ELM(6, key=jr.key(0), tau_min=2.0, tau_max=500.0)
    y = elm.init_state(4)
    assert y.m.shape == (4, 6) and elm.n_memory == 6
    assert elm.value(y).shape == (4,)
    a, b = elm.linear_coefficients(0.0, y, jnp.ones(4))
    assert a.m.shape == b.m.shape == (4, 6)
    # the paper's initialisation: log-spaced over [tau_min, tau_max] (the end units within
    # 1e-3 relative: float32 sigmoid of a logit near +-14)
    np.testing.assert_allclose(np.asarray(elm.memory.tau), np.geomspace(2.0, 500.0, 6), rtol=1e-3)


def test_memory_impulse_responses_decay_with_their_own_timescales():
    """With Delta m = 0 an impulse m(0) = 1 decays as exp(-t / tau_k) in unit k, each unit with
    its own tau_k from 1 ms to 1 s."""
    with jax.enable_x64(True):
        elm = _silent_mlp(bs.ELM(5, key=jr.key(1), dtype=jnp.float64))
        dt, steps = 0.5, 400

        def body(y, _):
            y = exponential_euler_step(elm, 0.0, dt, y, jnp.zeros(1))
            return y, y.m[0]

        _, m = jax.lax.scan(body, bs.ELMState(m=jnp.ones((1, 5))), None, length=steps)
        t = dt * np.arange(1, steps + 1)[:, None]
        expected = np.exp(-t / np.asarray(elm.memory.tau)[None, :])
        np.testing.assert_allclose(np.asarray(m), expected, rtol=1e-10, atol=1e-300)
        # the fastest unit has forgotten (tau ~ 1 ms), the slowest has not (tau ~ 1 s)
        assert m[-1, 0] < 1e-60 and m[-1, -1] > 0.8


def test_one_step_is_the_papers_update():
    """m_t = kappa m_{t-1} + lambda (1 - kappa) Delta m, kappa = exp(-dt / tau_m), Delta m =
    1.7159 tanh(2/3 MLP([I, m]))."""
    with jax.enable_x64(True):
        elm = bs.ELM(4, key=jr.key(2), memory_scale=3.0, dtype=jnp.float64)
        m = jr.normal(jr.key(3), (3, 4), jnp.float64)
        current = jnp.array([0.5, -1.0, 2.0])
        dt = 1.0
        new = exponential_euler_step(elm, 0.0, dt, bs.ELMState(m=m), current).m
        kappa = np.exp(-dt / np.asarray(elm.memory.tau))
        features = np.concatenate([np.asarray(current)[:, None], np.asarray(m)], axis=1)
        hidden = np.maximum(
            features @ np.asarray(elm.integration.layers[0].weight).T
            + np.asarray(elm.integration.layers[0].bias),
            0.0,
        )
        out = hidden @ np.asarray(elm.integration.layers[1].weight).T + np.asarray(
            elm.integration.layers[1].bias
        )
        delta = 1.7159 * np.tanh(2.0 / 3.0 * out)
        expected = kappa * np.asarray(m) + 3.0 * (1.0 - kappa) * delta
        # exponential Euler forms (exp(x) - 1) / a, not expm1: ~1e-12 relative in float64
        np.testing.assert_allclose(np.asarray(new), expected, rtol=1e-10)


def test_gradient_equals_finite_differences():
    """float64: d(loss)/d(parameters) along a random direction of every array (MLP, readout,
    memory-timescale logits) equals a central difference."""
    with jax.enable_x64(True):
        elm = bs.ELM(3, key=jr.key(4), tau_min=1.0, tau_max=50.0, dtype=jnp.float64)
        currents = jr.normal(jr.key(5), (20, 2), jnp.float64)

        def loss(model):
            def body(y, current):
                y = exponential_euler_step(model, 0.0, 1.0, y, current)
                return y, model.value(y)

            _, ys = jax.lax.scan(body, model.init_state(2), currents)
            return jnp.sum(ys**2)

        params, static = eqx.partition(elm, eqx.is_inexact_array)
        grads = jax.grad(lambda p: loss(eqx.combine(p, static)))(params)
        leaves, treedef = jax.tree_util.tree_flatten(params)
        keys = jr.split(jr.key(6), len(leaves))
        direction = jax.tree_util.tree_unflatten(
            treedef, [jr.normal(k, x.shape, x.dtype) for k, x in zip(keys, leaves, strict=True)]
        )
        eps = 1e-5
        shifted = lambda s: eqx.combine(
            jax.tree_util.tree_map(lambda p, d: p + s * d, params, direction), static
        )  # noqa: E731
        numeric = (loss(shifted(eps)) - loss(shifted(-eps))) / (2 * eps)
        analytic = sum(
            jnp.sum(g * d)
            for g, d in zip(
                jax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(direction), strict=True
            )
        )
        assert abs(float(analytic)) > 1e-3
        np.testing.assert_allclose(float(analytic), float(numeric), rtol=1e-6)
        assert np.all(np.isfinite(np.asarray(grads.memory.logit))) and np.any(
            np.asarray(grads.memory.logit) != 0
        )


def test_population_in_a_network_emits_the_readout_of_decaying_memory():
    """A `Population` of ELMs (default `ExponentialEuler`) started from m = 1 with a silent MLP
    and readout w_y = e_k, b_y = 0 emits exp(-t / tau_k)."""
    with jax.enable_x64(True):
        elm = _silent_mlp(bs.ELM(4, key=jr.key(7), tau_min=5.0, tau_max=200.0, dtype=jnp.float64))
        k = 2
        elm = eqx.tree_at(
            lambda e: (e.readout.weight, e.readout.bias),
            elm,
            (jnp.eye(4, dtype=jnp.float64)[k][None, :], jnp.zeros(1, jnp.float64)),
        )
        pop = bs.Population("elm", 3, elm, initial_state=bs.ELMState(m=jnp.ones((3, 4))))
        out = bs.run(bs.Network([pop]), 50.0, 1.0, key=jr.key(0)).outputs["elm"]
        t = np.arange(1, 51)[:, None]
        np.testing.assert_allclose(
            np.asarray(out), np.broadcast_to(np.exp(-t / float(elm.memory.tau[k])), (50, 3)), rtol=1e-10
        )


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_memory": 0}, "n_memory"),
        ({"tau_min": 0.0}, "tau_min"),
        ({"tau_min": 10.0, "tau_max": 5.0}, "tau_max"),
        ({"memory_scale": -1.0}, "memory_scale"),
        ({"hidden": 0}, "hidden"),
    ],
)
def test_bad_parameters_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        bs.ELM(key=jr.key(0), **kwargs)


def test_memory_timescales_outside_their_bounds_raise():
    with pytest.raises(ValueError, match="`tau`"):
        bs.MemoryTimescales(jnp.array([0.5, 10.0]), tau_min=1.0, tau_max=100.0)
