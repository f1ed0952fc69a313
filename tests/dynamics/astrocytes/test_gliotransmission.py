"""Gliotransmission: release events at upward Ca2+ threshold crossings, Stimberg et al. 2019's
release amounts through a Tsodyks-Markram projection, and presynaptic receptors' closed form."""

import diffrax
import jax
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.astrocytes import GliotransmitterRelease, LiRinzel, PresynapticReceptors

U_A, OMEGA_E, RELEASED = 0.6, 60.0, 6.5e-4 * 200e3  # 1, 1/s, rho_e G_T in µM (Stimberg et al. 2019)
OMEGA_A = 0.1  # 1/s; slower than their 0.6/s, so that resources are still depleted at the next release


def _gliotransmission_run(dt=10.0, duration=60_000.0):
    """An oscillating astrocyte (IP3 clamped at 0.5 µM, C between ~0.1 and ~0.45 µM) releasing at
    C_theta = 0.3 µM into one receptor unit; a plain `LiRinzel` twin records C."""
    astro = LiRinzel(ip3_fixed=0.5)
    network = bs.Network(
        [
            bs.Population("A", 1, GliotransmitterRelease(astro, C_theta=0.3), solver=diffrax.Tsit5()),
            bs.Population("twin", 1, astro, solver=diffrax.Tsit5()),
            bs.Population("R", 1, PresynapticReceptors(alpha=1.0)),
        ],
        [
            bs.Projection(
                "A",
                "R",
                bs.OneToOne(weight=RELEASED),
                bs.ExponentialSynapse(tau=1e3 / OMEGA_E),
                bs.CUBA(),
                short_term=bs.TsodyksMarkram(U=U_A, tau_d=1e3 / OMEGA_A, tau_f=1e-6),
            )
        ],
        [],
    )
    result = bs.run(network, duration, dt, key=jr.key(0), monitors=["A->R.g"])
    return (
        np.asarray(result.outputs["A"][:, 0]),
        np.asarray(result.outputs["twin"][:, 0]),
        np.asarray(result.traces["A->R.g"][:, 0]),
        np.asarray(result.outputs["R"][:, 0]),
    )


def test_release_events_are_the_upward_threshold_crossings_and_release_stimbergs_amounts():
    dt = 10.0
    with jax.enable_x64(True):
        released, calcium, gliotransmitter, u_0 = _gliotransmission_run(dt)
    above = calcium > 0.3
    crossings = np.nonzero(above & ~np.concatenate([[above[0]], above[:-1]]))[0]
    events = np.nonzero(released > 0)[0]
    assert events.size >= 4  # one per Ca2+ oscillation
    np.testing.assert_array_equal(events, crossings)
    # G_A: what arrived in step k is g[k] e^{dt/tau} - g[k-1] (delivery, then the step's decay)
    decay = np.exp(-dt * OMEGA_E * 1e-3)
    arrived = gliotransmitter / decay - np.concatenate([[0.0], gliotransmitter[:-1]])
    # Stimberg et al.: x_A recovers at Omega_A; each release is rho_e G_T U_A x_A, then x_A -= U_A x_A
    x, last, expected = 1.0, None, np.zeros_like(arrived)
    for k in events:
        if last is not None:
            x = 1.0 - (1.0 - x) * np.exp(-(k - last) * dt * OMEGA_A * 1e-3)
        expected[k + 1] = RELEASED * U_A * x  # one step of delay
        x -= U_A * x
        last = k
    np.testing.assert_allclose(arrived, expected, rtol=1e-9, atol=1e-9)
    assert expected[events[-1] + 1] < 0.95 * RELEASED * U_A  # depleted resources release less
    # release-increasing gliotransmission (alpha = 1): U_0 rises from U_0* after the first release
    assert u_0[events[0]] == pytest.approx(0.6) and u_0.max() > 0.6 + 1e-3


def test_presynaptic_receptors_follow_their_closed_form_under_constant_gliotransmitter():
    """dGamma/dt = O_G G (1 - Gamma) - Omega_G Gamma: Gamma = Gamma_inf (1 - exp(-k t))."""
    g_a, dt, duration = 2.0, 100.0, 20_000.0  # µM, ms, ms
    with jax.enable_x64(True):
        receptors = PresynapticReceptors(U_0_star=0.6, alpha=0.1, O_G=1.5, Omega_G=0.5)
        network = bs.Network([bs.Population("R", 1, receptors)], [], [bs.ConstantCurrent("R", g_a)])
        u_0 = np.asarray(bs.run(network, duration, dt, key=jr.key(0)).outputs["R"][:, 0])
    k = (1.5 * g_a + 0.5) * 1e-3  # 1/ms
    t = dt * np.arange(1, u_0.size + 1)
    gamma = 1.5 * g_a * 1e-3 / k * (1.0 - np.exp(-k * t))
    np.testing.assert_allclose(u_0, (1.0 - gamma) * 0.6 + 0.1 * gamma, rtol=1e-12)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: GliotransmitterRelease(C_theta=0.0), r"`C_theta` must be > 0 µM"),
        (lambda: GliotransmitterRelease(astrocyte=bs.LIF()), r"astrocyte"),
        (lambda: PresynapticReceptors(U_0_star=1.5), r"`U_0_star` must be in \[0.0, 1.0\]"),
        (lambda: PresynapticReceptors(alpha=-0.1), r"`alpha` must be in \[0.0, 1.0\]"),
        (lambda: PresynapticReceptors(O_G=-1.5), r"`O_G` must be >= 0 1/\(µM s\)"),
        (lambda: PresynapticReceptors(Omega_G=-1.0), r"`Omega_G` must be >= 0 1/s"),
    ],
)
def test_bad_parameters_raise(build, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build()
