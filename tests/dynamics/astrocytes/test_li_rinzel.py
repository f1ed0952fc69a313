"""`LiRinzel`: oscillations under constant IP3 against `diffrax.diffeqsolve`, the Hopf window,
glutamate-driven Ca2+ release through a network, gradients, bad input."""

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optimistix as optx
import pytest

import brainsim as bs
from brainsim.dynamics.astrocytes import GapJunctions, LiRinzel, LiRinzelState


def _upward_crossings(ts, c):
    """Times (ms) at which `c` rises through the middle of its range, linearly interpolated."""
    level = 0.5 * (c.max() + c.min())
    up = np.nonzero((c[:-1] < level) & (c[1:] >= level))[0]
    return ts[up] + (level - c[up]) / (c[up + 1] - c[up]) * (ts[up + 1] - ts[up])


def _period_and_amplitude(ts, c):
    crossings = _upward_crossings(ts, c)
    assert crossings.size >= 4, "not oscillating"
    return np.diff(crossings)[-3:].mean(), c.max() - c.min()


def _reference(model, ts, y0=None, args=None):
    """The same vector field by an adaptive `diffeqsolve` at rtol = atol = 1e-12, sampled at `ts`."""
    y0 = model.init_state(1) if y0 is None else y0
    return diffrax.diffeqsolve(
        diffrax.ODETerm(model.vector_field),
        diffrax.Tsit5(),
        0.0,
        float(ts[-1]),
        1.0,
        y0,
        args,
        saveat=diffrax.SaveAt(ts=jnp.asarray(ts)),
        stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-12),
        max_steps=100_000,
    ).ys


def test_constant_ip3_oscillation_matches_diffeqsolve():
    """Period and amplitude of C(t) under constant IP3 from `bs.run` (Tsit5 step by step, dt = 5 ms)
    equal those of an adaptive solve at rtol 1e-8; the fixed-step run reaches ~1e-12."""
    with jax.enable_x64(True):
        astro = LiRinzel(ip3_fixed=0.5)
        dt, duration = 5.0, 80_000.0  # ms
        network = bs.Network([bs.Population("A", 1, astro, solver=diffrax.Tsit5())], [], [])
        c = np.asarray(bs.run(network, duration, dt, key=jr.key(0)).outputs["A"][:, 0])
        assert c.dtype == np.float64
        ts = dt * np.arange(1, c.size + 1)  # the output of step k is the state at (k + 1) dt
        reference = np.asarray(_reference(astro, ts).C[:, 0])
        late = ts > 30_000.0  # past the transient
        period, amplitude = _period_and_amplitude(ts[late], c[late])
        period_ref, amplitude_ref = _period_and_amplitude(ts[late], reference[late])
    assert 5_000.0 < period_ref < 20_000.0 and 0.2 < amplitude_ref < 0.6  # seconds-long Ca2+ cycles
    np.testing.assert_allclose(period, period_ref, rtol=1e-8)
    np.testing.assert_allclose(amplitude, amplitude_ref, rtol=1e-8)


@jax.jit
@jax.vmap
def _fixed_point_max_real_eigenvalue(ip3):
    """Largest real part of the (C, h) Jacobian's eigenvalues at the equilibrium (1/ms), and the
    largest |dy/dt| there (the root's residual)."""

    def field(ch, ip3):
        astro = LiRinzel(ip3_fixed=ip3)
        y = LiRinzelState(C=ch[:1], h=ch[1:], I=jnp.full(1, ip3), gamma_A=jnp.zeros(1))
        dy = astro.vector_field(0.0, y, None)
        return jnp.concatenate([dy.C, dy.h])

    root = optx.root_find(field, optx.Newton(rtol=1e-12, atol=1e-14), jnp.array([0.2, 0.7]), args=ip3).value
    eigenvalues = jnp.linalg.eigvals(jax.jacfwd(field)(root, ip3))
    return jnp.max(jnp.real(eigenvalues)), jnp.max(jnp.abs(field(root, ip3)))


IP3_LEVELS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.2]  # µM; the Hopf window is (0.349, 0.643) µM
INSIDE = [False, False, True, True, True, False, False]


def test_oscillations_only_inside_the_hopf_window():
    """One population of astrocytes at different clamped IP3 levels: Ca2+ oscillates where the
    equilibrium is unstable (linear stability, an independent computation) and settles elsewhere."""
    with jax.enable_x64(True):
        growth, residual = _fixed_point_max_real_eigenvalue(jnp.asarray(IP3_LEVELS))
        assert float(residual.max()) < 1e-12
        stable = np.asarray(growth) < 0
        n = len(IP3_LEVELS)
        astro = LiRinzel(ip3_fixed=jnp.asarray(IP3_LEVELS))
        network = bs.Network([bs.Population("A", n, astro, solver=diffrax.Tsit5())], [], [])
        c = np.asarray(bs.run(network, 200_000.0, 25.0, key=jr.key(0)).outputs["A"])
    amplitude = np.ptp(c[c.shape[0] // 2 :], axis=0)  # the last 100 s
    np.testing.assert_array_equal(~np.asarray(stable), INSIDE)
    assert np.all(amplitude[np.asarray(INSIDE)] > 0.2), amplitude
    assert np.all(amplitude[~np.asarray(INSIDE)] < 1e-4), amplitude


def test_glutamate_from_spikes_raises_ip3_and_releases_calcium():
    """Presynaptic spikes -> glutamate (exponential synapse, tau = 1/Omega_c = 25 ms) -> receptors
    -> IP3 -> Ca2+ release; the same astrocyte without spikes stays at rest."""
    dt, duration = 10.0, 30_000.0  # ms
    n_steps = int(duration / dt)
    spikes = np.zeros((n_steps, 2), np.float32)
    spikes[np.arange(200, n_steps, 100), 0] = 1.0  # neuron 0: 1 Hz from t = 2 s; neuron 1 silent
    network = bs.Network(
        [bs.Population("N", 2, bs.SpikeSource()), bs.Population("A", 2, LiRinzel(), solver=diffrax.Tsit5())],
        [
            bs.Projection(
                "N", "A", bs.OneToOne(weight=500.0), bs.ExponentialSynapse(tau=25.0), bs.CUBA()
            )  # rho_c Y_T = 0.001 x 500 mM = 500 µM per spike (Stimberg et al. 2019, Fig. 2)
        ],
        [],
    )
    result = bs.run(
        network, duration, dt, key=jr.key(0), inputs={"N": jnp.asarray(spikes)}, monitors=["A.I", "A.gamma_A"]
    )
    c, ip3, gamma = (
        np.asarray(x) for x in (result.outputs["A"], result.traces["A.I"], result.traces["A.gamma_A"])
    )
    before = slice(0, 200)  # before the first spike: both astrocytes identical
    np.testing.assert_allclose(c[before, 0], c[before, 1], rtol=1e-5)
    assert gamma[:, 1].max() == 0.0 and gamma[:, 0].max() > 0.1
    assert ip3[:, 0].max() > 1.0 > 0.1 > ip3[:, 1].max()  # µM
    assert c[:, 0].max() > 0.5 > 0.15 > c[:, 1].max()  # a Ca2+ release only where glutamate arrives


@pytest.mark.parametrize("name", ["O_beta", "O_delta"])
def test_gradient_of_final_calcium_matches_finite_differences(name):
    """d C(T) / d parameter through a 5 s run under constant glutamate (a `ConstantCurrent` into
    the astrocytes is glutamate, µM), against central differences, float64."""
    with jax.enable_x64(True):

        def final_calcium(value):
            astro = LiRinzel(**{name: value})
            network = bs.Network(
                [bs.Population("A", 1, astro, solver=diffrax.Tsit5())], [], [bs.ConstantCurrent("A", 2.0)]
            )
            result = bs.run(network, 5_000.0, 10.0, key=jr.key(0), record=False)
            return result.final_state.populations["A"].neuron.C[0]

        x = jnp.asarray({"O_beta": 5.0, "O_delta": 0.2}[name])
        grad = float(jax.jit(jax.grad(final_calcium))(x))
        h = 1e-5 * x
        forward = jax.jit(final_calcium)
        numeric = float((forward(x + h) - forward(x - h)) / (2 * h))
    assert np.isfinite(grad) and abs(grad) > 1e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-5)


def test_jit_vmap_over_parameters_matches_a_heterogeneous_population():
    """`vmap` of a whole run over `O_delta` equals one population with per-astrocyte `O_delta`."""
    values = jnp.array([0.2, 0.6, 1.2])  # µM/s

    def final_state(o_delta):
        network = bs.Network(
            [bs.Population("A", 1, LiRinzel(O_delta=o_delta), solver=diffrax.Tsit5())],
            [],
            [bs.ConstantCurrent("A", 1.0)],  # 1 µM glutamate
        )
        return bs.run(network, 3_000.0, 10.0, key=jr.key(0), record=False).final_state.populations["A"].neuron

    batched = jax.jit(jax.vmap(final_state))(values)
    network = bs.Network(
        [bs.Population("A", 3, LiRinzel(O_delta=values), solver=diffrax.Tsit5())],
        [],
        [bs.ConstantCurrent("A", 1.0)],
    )
    together = bs.run(network, 3_000.0, 10.0, key=jr.key(0), record=False).final_state.populations["A"].neuron
    for name in ("C", "h", "I", "gamma_A"):
        np.testing.assert_allclose(getattr(batched, name)[:, 0], getattr(together, name), rtol=1e-5)
    assert len(set(np.asarray(together.I).round(6))) == 3  # the parameter matters


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"O_P": -0.9}, r"`O_P` must be >= 0 µM/s; got -0.9"),
        ({"Omega_C": -6.0}, r"`Omega_C` must be >= 0 1/s"),
        ({"K_P": 0.0}, r"`K_P` must be > 0 µM"),
        ({"O_2": -0.2}, r"`O_2` must be > 0"),
        ({"ip3_fixed": -0.1}, r"`ip3_fixed` must be >= 0 µM"),
        ({"d_1": jnp.ones((2, 2))}, r"`d_1` must be a scalar or a 1-D"),
        ({"gap_junctions": "ring"}, r"gap_junctions"),  # beartype in tests, our TypeError otherwise
        ({"ip3_fixed": 0.5, "gap_junctions": GapJunctions([[1], [0]])}, r"give one or the other"),
    ],
)
def test_bad_parameters_raise_before_compiling(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LiRinzel(**kwargs)


def test_per_astrocyte_parameters_must_match_the_population():
    with pytest.raises(
        ValueError, match=r"`O_delta` of population `A` must be a scalar or have shape \(3,\)"
    ):
        bs.Population("A", 3, LiRinzel(O_delta=jnp.ones(2)))
