"""Tests of brainsim/dynamics/neurons/lmu.py: Legendre memory units in a `Network`, against the
`LMU` layer (brainsim/train/cells_recurrent.py) and the delay they approximate."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jaxtyping
import numpy as np
import pytest

import brainsim as bs
import brainsim.train as bst
from brainsim.dynamics.neurons import LegendreMemory, LMUInput, LMUUnit, MemoryEncoder


def _identity(x):
    return x


def _lmu_network(lmu: bst.LMU) -> bs.Network:
    """The layer as a `Network`: input -> CUBA (W_x) and MemoryEncoder (every column e_x), the
    population's own outputs back through CUBA (W_h) and MemoryEncoder (e_h), delay 1 step."""
    n_in, n = lmu.n_in, lmu.n_out

    def encoder(e):
        return bs.Dense(jnp.broadcast_to(e[:, None], (e.shape[0], n)))

    projections = [
        bs.Projection(pre, "lmu", conn, bs.InstantaneousSynapse(), out, name=f"{pre}:{kind}")
        for pre, weights, enc in (
            ("in", lmu.input_weights, lmu.input_encoder),
            ("lmu", lmu.hidden_weights, lmu.hidden_encoder),
        )
        for kind, conn, out in (
            ("hidden", bs.Dense(weights), bs.CUBA()),
            ("memory", encoder(enc), MemoryEncoder()),
        )
    ]
    populations = [
        bs.Population("in", n_in, bs.ValueSource()),
        bs.Population("lmu", n, lmu.unit, solver=bst.DiscreteTimeUpdate()),
    ]
    return bs.Network(populations, projections, key=jr.key(0))


def _shifted(x):
    """The input delayed by one step (a `ValueSource` projection delivers row t in step t + 1)."""
    return jnp.concatenate([jnp.zeros_like(x[:1]), x[:-1]])


def _layer_with_memory_encoder(key_layer, key_em, **kw):
    lmu = bst.LMU(3, 5, order=4, theta=10.0, key=key_layer, dtype=jnp.float64, **kw)
    return eqx.tree_at(lambda m: m.memory_encoder, lmu, 0.5 * jr.normal(key_em, (4,), jnp.float64))


def test_lmu_layer_equals_a_network_of_lmu_units():
    n_steps = 30
    with jax.enable_x64(True):
        lmu = _layer_with_memory_encoder(jr.key(1), jr.key(2))  # every encoder and weight non-zero
        x = 2.0 * jr.normal(jr.key(3), (n_steps, 3), jnp.float64)
        net = _lmu_network(lmu)
        out = bs.run(net, float(n_steps), 1.0, key=jr.key(0), inputs={"in": x}).outputs["lmu"]
        h, m = lmu.memory(_shifted(x)[:, None, :])
        # the host driver, in chunks that do not divide the run, records the same values
        simulated = bs.simulate(
            net, float(n_steps), 1.0, key=jr.key(0), inputs={"in": x}, chunk_steps=7, progress=False
        ).values["lmu"]
    np.testing.assert_allclose(np.asarray(out), np.asarray(h[:, 0]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(simulated), np.asarray(out), rtol=1e-12, atol=1e-14)
    assert np.abs(np.asarray(m)).max() > 0.1 and np.std(np.asarray(out)) > 0.1  # a non-trivial run


def test_network_gradients_equal_the_layer_gradients():
    """jax.grad through `bs.run` w.r.t. the layer whose weights build the network: the same
    gradients as the layer's own for the shifted input (encoder columns' gradients add up)."""
    n_steps = 12
    with jax.enable_x64(True):
        lmu = _layer_with_memory_encoder(jr.key(4), jr.key(5))
        x = jr.normal(jr.key(6), (n_steps, 3), jnp.float64)

        def network_loss(layer):
            run = bs.run(_lmu_network(layer), float(n_steps), 1.0, key=jr.key(0), inputs={"in": x})
            return jnp.sum(run.outputs["lmu"] ** 2)

        def layer_loss(layer):
            return jnp.sum(layer(_shifted(x)[:, None, :]) ** 2)

        g_net = eqx.filter_grad(network_loss)(lmu)
        g_layer = eqx.filter_grad(layer_loss)(lmu)
    names = ("input_encoder", "hidden_encoder", "memory_encoder", "input_weights", "hidden_weights")
    for name in (*names, "memory_weights", "bias"):
        got, want = np.asarray(getattr(g_net, name)), np.asarray(getattr(g_layer, name))
        assert np.all(np.isfinite(got)) and np.abs(want).max() > 0, name
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12, err_msg=name)
    assert np.all(np.asarray(g_net.memory_a) == 0.0)  # the delay system stays fixed


def test_network_gradients_finite_in_float32_under_jit_vmap():
    lmu = bst.LMU(2, 4, order=6, theta=8.0, key=jr.key(7))
    xs = jr.normal(jr.key(8), (3, 20, 2))  # 3 independent input sequences

    def loss(weights, x):
        layer = eqx.tree_at(lambda m: m.memory_weights, lmu, weights)
        run = bs.run(_lmu_network(layer), 20.0, 1.0, key=jr.key(0), inputs={"in": x})
        return jnp.sum(run.outputs["lmu"])

    g = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0)))(lmu.memory_weights, xs)
    assert g.shape == (3, *lmu.memory_weights.shape) and bool(jnp.all(jnp.isfinite(g)))
    assert float(jnp.abs(g).min(axis=(1, 2)).max()) > 0


def test_network_memory_is_a_delay_line():
    """Units with identity activation whose readouts are the shifted Legendre polynomials
    decode the delayed input: unit 0 reads channel 0 and unit 1 channel 1 with P(1) (delay
    theta), unit 2 channel 0 with P(1/2) (delay theta / 2); each memory holds its own signal.
    The reference is the analytic steady state of the discrete system and its distance to the
    true delay (Voelker et al. 2019: the memory is the Pade approximant of exp(-theta s))."""
    order, theta, dt, n_steps = 12, 50.0, 0.5, 1000
    freqs = np.array([[0.3, 0.8, 1.5], [0.5, 1.1, 0.2]]) / theta  # cycles/ms, per channel
    amps, phases = np.array([1.0, 0.7, 0.5]), np.array([[0.1, 1.3, 2.0], [0.7, 0.2, 2.5]])
    t = np.arange(n_steps) * dt

    def signal(channel, tt):
        return (amps * np.sin(2 * np.pi * freqs[channel] * tt[:, None] + phases[channel])).sum(-1)

    with jax.enable_x64(True):
        a_bar, b_bar = bst.zero_order_hold(*bst.legendre_delay_system(order, theta), dt)
        decoders = np.asarray(bst.shifted_legendre(order, jnp.array([1.0, 0.5])))
        readout = jnp.asarray(np.stack([decoders[0], decoders[0], decoders[1]], axis=1))
        unit = LMUUnit(LegendreMemory(a_bar, b_bar, jnp.zeros(order), readout), activation=_identity)
        net = bs.Network(
            [
                bs.Population("in", 2, bs.ValueSource()),
                bs.Population("lmu", 3, unit, solver=bst.DiscreteTimeUpdate()),
            ],
            [
                bs.Projection(
                    "in",
                    "lmu",
                    bs.Dense(jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])),
                    bs.InstantaneousSynapse(),
                    MemoryEncoder(),
                )
            ],
            key=jr.key(0),
        )
        x = jnp.asarray(np.stack([signal(0, t), signal(1, t)], axis=1))
        out = np.asarray(bs.run(net, n_steps * dt, dt, key=jr.key(0), inputs={"in": x}).outputs["lmu"])
    a_bar, b_bar = np.asarray(a_bar), np.asarray(b_bar)
    late = t >= 5 * theta  # transients (slowest pole ~ theta / 10) have died out
    for unit_index, channel, r in ((0, 0, 1.0), (1, 1, 1.0), (2, 0, 0.5)):
        decoder = decoders[0] if r == 1.0 else decoders[1]
        # steady state: H(z) = P(r) (zI - A_bar)^-1 z B_bar, times z^-1 for the projection's step
        z = np.exp(2j * np.pi * freqs[channel] * dt)
        h_d = np.array([decoder @ np.linalg.solve(zk * np.eye(order) - a_bar, zk * b_bar) for zk in z])
        phase = 2 * np.pi * freqs[channel] * t[:, None] + phases[channel]
        steady = (amps * np.imag(h_d / z * np.exp(1j * phase))).sum(-1)
        np.testing.assert_allclose(out[late, unit_index], steady[late], atol=1e-6)
        # the delayed input u(t - dt - r theta), within the analytic Pade/ZOH bound
        bound = (amps * np.abs(h_d - np.exp(-2j * np.pi * freqs[channel] * r * theta))).sum()
        error = np.abs(out[late, unit_index] - signal(channel, t[late] - dt - r * theta)).max()
        assert error <= bound + 1e-6
        assert bound < 0.03 * amps.sum()


def test_update_and_routing_by_hand():
    """One step of a single unit against the equations written out."""
    with jax.enable_x64(True):
        memory = LegendreMemory.delay(2, order=3, theta=4.0, key=jr.key(9), dt=0.5)
        memory = eqx.tree_at(lambda m: m.encoder, memory, jnp.array([0.3, -0.2, 0.1]))
        unit = LMUUnit(memory, bias=jnp.array([0.1, -0.4]))
        m0 = jr.normal(jr.key(10), (2, 3), jnp.float64)
        drive = MemoryEncoder().apply(
            bs.CUBA().apply(unit.zero_input(2, jnp.float64), jnp.array([0.5, 1.0])), jnp.array([2.0, -1.0])
        )
        new = unit.update(bs.dynamics.neurons.LMUUnitState(m=m0, h=jnp.zeros(2)), drive)
    a, b, e, w = (np.asarray(v) for v in (memory.a_bar, memory.b_bar, memory.encoder, memory.readout))
    for j, (a_h, a_m, bias) in enumerate(((0.5, 2.0, 0.1), (1.0, -1.0, -0.4))):
        u = a_m + e @ np.asarray(m0[j])
        m = a @ np.asarray(m0[j]) + b * u
        np.testing.assert_allclose(new.m[j], m, rtol=1e-12)
        np.testing.assert_allclose(new.h[j], np.tanh(a_h + w[:, j] @ m + bias), rtol=1e-12)
    assert isinstance(drive, LMUInput)
    with pytest.raises(TypeError, match="no membrane potential"):
        bs.COBA(e_rev=0.0).apply(drive, jnp.ones(2))


@pytest.mark.parametrize(
    "build, error, match",
    [
        (
            lambda: LegendreMemory.delay(2, order=0, theta=1.0, key=jr.key(0)),
            ValueError,
            "`order` must be an integer >= 1",
        ),
        (
            lambda: LegendreMemory.delay(2, order=2, theta=-1.0, key=jr.key(0)),
            ValueError,
            "`theta` must be > 0 ms",
        ),
        (
            lambda: LegendreMemory.delay(2, order=2, theta=1.0, dt=0.0, key=jr.key(0)),
            ValueError,
            "`dt` must be > 0 ms",
        ),
        (
            lambda: LegendreMemory.delay(0, order=2, theta=1.0, key=jr.key(0)),
            ValueError,
            "`n` must be an integer >= 1",
        ),
        (
            lambda: LegendreMemory(jnp.eye(3), jnp.ones(2), jnp.ones(2), jnp.ones((2, 4))),
            ValueError,
            r"`a_bar` must have shape \(2, 2\)",
        ),
        (
            lambda: LegendreMemory(jnp.eye(2), jnp.ones(2), jnp.ones(3), jnp.ones((2, 4))),
            ValueError,
            r"`encoder` must have shape \(2,\)",
        ),
        (
            lambda: LegendreMemory(jnp.eye(2), jnp.ones(2), jnp.ones(2), jnp.ones((3, 4))),
            ValueError,
            "`readout` must have shape",
        ),
        (
            lambda: LMUUnit(
                LegendreMemory.delay(2, order=2, theta=1.0, key=jr.key(0)), bias=jnp.ones((2, 2))
            ),
            ValueError,
            "`bias`",
        ),
        (
            lambda: LMUUnit(LegendreMemory.delay(2, order=2, theta=1.0, key=jr.key(0)), bias=jnp.nan),
            ValueError,
            "`bias`",
        ),
        (lambda: LMUUnit(jnp.eye(2)), TypeError, "`memory` must be a `LegendreMemory`"),
    ],
)
def test_bad_parameters_raise_naming_the_argument(build, error, match):
    # what a user sees: the tests' jaxtyping/beartype hook would raise its own TypeError first
    previous = jaxtyping.config.jaxtyping_disable
    jaxtyping.config.update("jaxtyping_disable", True)
    try:
        with pytest.raises(error, match=match):
            build()
    finally:
        jaxtyping.config.update("jaxtyping_disable", previous)


def test_population_and_solver_mismatches_raise():
    unit = LMUUnit(LegendreMemory.delay(3, order=2, theta=4.0, key=jr.key(0)))
    with pytest.raises(ValueError, match=r"`memory.readout` must have one column per unit, shape \(2, 4\)"):
        unit.init_state(4)
    with pytest.raises(TypeError, match="DiscreteTimeUpdate"):
        unit.vector_field(0.0, unit.init_state(3), None)
    net = bs.Network([bs.Population("lmu", 4, unit, solver=bst.DiscreteTimeUpdate())], key=jr.key(0))
    with pytest.raises(ValueError, match="`memory.readout` must have one column per unit"):
        bs.run(net, 2.0, 1.0, key=jr.key(0))
