"""`brainsim/analysis/phase_plane.py` and `plot_phase_plane`: the sampled vector field is the
model's, and the drawn nullclines lie on the closed-form ones (Izhikevich, AdEx, and a
FitzHugh-Nagumo model defined here as any user would)."""

import equinox as eqx
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

import brainsim as bs
import brainsim.analysis as ba
from brainsim.dynamics.synaptic_input import as_synaptic_input


class FitzHughState(eqx.Module):
    v: jnp.ndarray
    w: jnp.ndarray


class FitzHughNagumo(bs.AbstractNeuron):
    """dv/dt = v - v^3/3 - w + I, dw/dt = (v + a - b w) / tau (dimensionless, t in ms)."""

    a: float = 0.7
    b: float = 0.8
    tau: float = 12.5

    def init_state(self, n, *, key):
        return FitzHughState(v=jnp.zeros(n), w=jnp.zeros(n))

    def vector_field(self, t, y, args):
        current = as_synaptic_input(args).current_at_zero
        return FitzHughState(v=y.v - y.v**3 / 3 - y.w + current, w=(y.v + self.a - self.b * y.w) / self.tau)


def _nullcline_vertices(ax):
    """Vertices `(k, 2)` of each drawn zero contour, in drawing order (x first, then y)."""
    from matplotlib.contour import ContourSet

    sets = [c for c in ax.collections if isinstance(c, ContourSet)]
    return [np.concatenate([p.vertices for p in c.get_paths() if len(p.vertices)]) for c in sets]


CASES = {
    "izhikevich": (
        bs.Izhikevich(),
        dict(x_range=(-80.0, -30.0), y_range=(-20.0, 0.0), current=5.0, variables=("v", "u")),
        lambda v, i: 0.04 * v**2 + 5 * v + 140 + i,  # u on the v-nullcline (c_m = 1 pF)
        lambda v, i: 0.2 * v,  # u on the u-nullcline
    ),
    "adex": (
        bs.AdEx(),
        dict(x_range=(-75.0, -45.0), y_range=(-100.0, 300.0), current=100.0, variables=("v", "w")),
        lambda v, i: -30.0 * (v + 70.6) + 30.0 * 2.0 * np.exp((v + 50.4) / 2.0) + i,
        lambda v, i: 4.0 * (v + 70.6),
    ),
    "fitzhugh_nagumo": (
        FitzHughNagumo(),
        dict(x_range=(-2.5, 2.5), y_range=(-1.0, 2.0), current=0.5, variables=("v", "w")),
        lambda v, i: v - v**3 / 3 + i,
        lambda v, i: (v + 0.7) / 0.8,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_drawn_nullclines_lie_on_the_closed_form_ones(case):
    model, kwargs, x_nullcline, y_nullcline = CASES[case]
    plane = ba.phase_plane(model, resolution=201, **kwargs)
    ax = ba.plot_phase_plane(plane)
    drawn = _nullcline_vertices(ax)
    assert len(drawn) == 2
    y_span = kwargs["y_range"][1] - kwargs["y_range"][0]
    for vertices, closed_form in zip(drawn, (x_nullcline, y_nullcline), strict=True):
        error = np.abs(vertices[:, 1] - closed_form(vertices[:, 0], kwargs["current"]))
        assert np.max(error) < 0.01 * y_span  # within a grid cell (the grid is 1/200 of the span)
    assert f"I = {kwargs['current']:g} pA" in ax.get_title()
    plt.close("all")


def test_the_sampled_field_is_the_models_vector_field():
    plane = ba.phase_plane(
        bs.Izhikevich(), x_range=(-70.0, -50.0), y_range=(-15.0, -5.0), current=10.0, resolution=5
    )
    v, u = np.meshgrid(plane.x, plane.y)
    np.testing.assert_allclose(plane.dx, 0.04 * v**2 + 5 * v + 140 - u + 10.0, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(plane.dy, 0.02 * (0.2 * v - u), rtol=1e-4, atol=1e-6)
    assert repr(plane) == "PhasePlane(Izhikevich, v in [-70, -50], u in [-15, -5], 5x5 grid, I = 10 pA)"


def test_a_nullcline_outside_the_window_is_named_not_dropped():
    # the v-nullcline dips to -16.25 mV/ms here; the u-nullcline u = 0.2 v stays above -14
    plane = ba.phase_plane(bs.Izhikevich(), x_range=(-70.0, -60.0), y_range=(-17.0, -14.5))
    ax = ba.plot_phase_plane(plane, trajectory=(np.array([-65.0, -62.0]), np.array([-16.0, -15.0])))
    assert "du/dt = 0 not in this window" in ax.get_title()
    assert [h.get_text() for h in ax.get_legend().get_texts()] == ["dv/dt = 0", "trajectory"]
    plt.close("all")


def test_unknown_variable_is_named():
    with pytest.raises(ValueError, match="`variables` names `u`, which is not a field of AdExState"):
        ba.phase_plane(bs.AdEx(), x_range=(-70.0, -50.0), y_range=(0.0, 100.0))


def test_ranges_and_current_may_be_numpy_or_jax_scalars():
    w = jnp.array([10.0, 90.0])
    plane = ba.phase_plane(
        bs.AdEx(),
        x_range=(np.float32(-70.0), -50.0),
        y_range=(w.min(), w.max()),
        current=jnp.asarray(100.0),
        variables=("v", "w"),
        resolution=3,
    )
    np.testing.assert_allclose(plane.y, [10.0, 50.0, 90.0])
    assert plane.current == 100.0
