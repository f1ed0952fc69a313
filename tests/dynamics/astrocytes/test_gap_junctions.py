"""`GapJunctions`: IP3 diffusion between astrocytes (Goldberg et al. 2010) against a hand-written
two-cell ODE solved by `diffrax.diffeqsolve`, conservation, the neighbour table, bad input."""

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.connect.astrocytes import grid_neighbours, ring_neighbours
from brainsim.dynamics.astrocytes import GapJunctions, LiRinzel, LiRinzelState

F, I_THETA, OMEGA_I = 0.09, 0.3, 0.05  # µM/s, µM, µM (Stimberg et al. 2019)
NO_IP3_METABOLISM = dict(O_beta=0.0, O_delta=0.0, O_3K=0.0, Omega_5P=0.0)  # IP3 moves only by diffusion


def _two_cell_ip3(t, ip3, args):
    """dI/dt (µM/ms) of two coupled cells, written from Goldberg et al. 2010's flux."""
    gradient = ip3[1] - ip3[0]
    into_first = F / 2 * (1 + jnp.tanh((jnp.abs(gradient) - I_THETA) / OMEGA_I)) * jnp.sign(gradient)
    return 1e-3 * jnp.stack([into_first, -into_first])


def _run_pair(gap_junctions, duration, dt):
    astro = LiRinzel(**NO_IP3_METABOLISM, gap_junctions=gap_junctions)
    start = LiRinzelState(
        C=jnp.full(2, 0.05), h=jnp.full(2, 0.9), I=jnp.array([2.0, 0.2]), gamma_A=jnp.zeros(2)
    )
    network = bs.Network([bs.Population("A", 2, astro, solver=diffrax.Tsit5(), initial_state=start)], [], [])
    result = bs.run(network, duration, dt, key=jr.key(0), monitors=["A.I"])
    return np.asarray(result.traces["A.I"])


def test_two_coupled_astrocytes_equalise_ip3_as_the_two_cell_ode():
    with jax.enable_x64(True):
        dt, duration = 10.0, 30_000.0  # ms
        ip3 = _run_pair(GapJunctions([[1], [0]], F=F, I_theta=I_THETA, omega_I=OMEGA_I), duration, dt)
        ts = dt * np.arange(1, ip3.shape[0] + 1)
        reference = diffrax.diffeqsolve(
            diffrax.ODETerm(_two_cell_ip3),
            diffrax.Tsit5(),
            0.0,
            duration,
            1.0,
            jnp.array([2.0, 0.2]),
            saveat=diffrax.SaveAt(ts=jnp.asarray(ts)),
            stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-12),
            max_steps=100_000,
        ).ys
        uncoupled = _run_pair(None, duration, dt)
    np.testing.assert_allclose(ip3, np.asarray(reference), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ip3.sum(axis=1), 2.2, rtol=1e-12)  # each junction moves IP3, never makes it
    gap = ip3[:, 0] - ip3[:, 1]
    assert gap[0] > 1.7 and np.all(np.diff(gap) <= 0)  # the gradient only shrinks...
    # ...fast above the threshold I_theta, then hardly at all (flux ~ F exp(-2 (I_theta - gap) / omega_I))
    assert 0.1 < gap[-1] < I_THETA
    np.testing.assert_array_equal(uncoupled, np.broadcast_to([2.0, 0.2], uncoupled.shape))


def test_flux_matches_the_sum_over_neighbours_and_conserves_ip3():
    with jax.enable_x64(True):
        ip3 = jr.uniform(jr.key(0), (12,), jnp.float64, 0.0, 2.0)
        for table in (ring_neighbours(12, k=2), grid_neighbours(3, 4)):
            flux = np.asarray(GapJunctions(table).flux(ip3))
            expected = np.zeros(12)
            values = np.asarray(ip3)
            for i in range(12):
                for j in table[i]:
                    if 0 <= j < 12:
                        d = values[j] - values[i]
                        expected[i] += F / 2 * (1 + np.tanh((abs(d) - I_THETA) / OMEGA_I)) * np.sign(d)
            np.testing.assert_allclose(flux, expected, rtol=1e-12, atol=1e-15)
            assert abs(flux.sum()) < 1e-12


def test_minus_one_is_padding_too():
    ip3 = jnp.array([1.0, 0.0, 0.5])
    padded_with_n = GapJunctions([[1, 3], [0, 2], [1, 3]]).flux(ip3)
    padded_with_minus_one = GapJunctions([[1, -1], [0, 2], [1, -1]]).flux(ip3)
    np.testing.assert_array_equal(padded_with_n, padded_with_minus_one)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"neighbours": [[0], [1]]}, r"must not couple an astrocyte to itself"),
        ({"neighbours": [[5], [0]]}, r"`neighbours` entries must be astrocyte indices in \[0, 2\)"),
        ({"neighbours": [1, 0]}, r"`neighbours` must be an integer array of shape \(n, k\)"),
        ({"neighbours": [[1], [0]], "F": -0.09}, r"`F` must be >= 0 µM/s; got -0.09"),
        ({"neighbours": [[1], [0]], "omega_I": 0.0}, r"`omega_I` must be > 0 µM"),
        ({"neighbours": [[1], [0]], "I_theta": -0.3}, r"`I_theta` must be >= 0 µM"),
    ],
)
def test_bad_gap_junctions_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GapJunctions(**kwargs)


def test_neighbour_table_must_have_a_row_per_astrocyte():
    astro = LiRinzel(gap_junctions=GapJunctions(ring_neighbours(5)))
    with pytest.raises(ValueError, match=r"has 5 rows but the population has 4 astrocytes"):
        astro.init_state(4)
