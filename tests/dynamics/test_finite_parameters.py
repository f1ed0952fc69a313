"""Every neuron, synapse and input rejects NaN/Inf parameters (and matrix-shaped ones) by name."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs

MODELS = {
    bs.LIF: ["c_m", "g_leak", "e_leak", "v_threshold", "v_reset", "t_ref"],
    bs.ALIF: [
        "c_m",
        "g_leak",
        "e_leak",
        "v_threshold",
        "v_reset",
        "t_ref",
        "tau_adaptation",
        "threshold_increment",
    ],
    bs.AdEx: [
        "c_m",
        "g_leak",
        "e_leak",
        "v_rheobase",
        "slope_factor",
        "v_threshold",
        "v_reset",
        "t_ref",
        "tau_w",
        "adaptation_conductance",
        "adaptation_increment",
    ],
    bs.Izhikevich: [
        "recovery_rate",
        "recovery_sensitivity",
        "v_reset",
        "recovery_increment",
        "v_threshold",
        "c_m",
    ],
    bs.HodgkinHuxley: [
        "c_m",
        "g_leak",
        "e_leak",
        "g_na",
        "g_k",
        "e_na",
        "e_k",
        "v_rate_offset",
        "v_threshold",
    ],
    bs.ExponentialSynapse: ["tau"],
    bs.AlphaSynapse: ["tau"],
    bs.DualExponentialSynapse: ["tau_rise", "tau_decay"],
}
CASES = [(model, name) for model, names in MODELS.items() for name in names]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("model, name", CASES, ids=[f"{m.__name__}-{n}" for m, n in CASES])
def test_models_reject_non_finite_parameters(model, name, bad):
    with pytest.raises(ValueError, match=f"`{name}` must be finite"):
        model(**{name: bad})


@pytest.mark.parametrize("model, name", CASES, ids=[f"{m.__name__}-{n}" for m, n in CASES])
def test_models_reject_non_finite_entries_of_per_neuron_arrays(model, name):
    default = float(getattr(model(), name))
    with pytest.raises(ValueError, match=f"`{name}` must be finite"):
        model(**{name: jnp.array([default, jnp.nan])})


@pytest.mark.parametrize("model, name", CASES, ids=[f"{m.__name__}-{n}" for m, n in CASES])
def test_models_reject_matrix_shaped_parameters(model, name):
    default = float(getattr(model(), name))
    with pytest.raises(ValueError, match=f"`{name}` must be a scalar or a 1-D"):
        model(**{name: jnp.full((2, 3), default)})


def test_lif_with_infinite_leak_potential_is_rejected_not_silently_firing():
    # before: LIF(e_leak=inf) built fine and fired at 480 Hz with no input
    with pytest.raises(ValueError, match="`e_leak` must be finite mV; got inf"):
        bs.LIF(e_leak=float("inf"))


def test_checks_skip_traced_values():
    def build(e_leak):
        return bs.LIF(e_leak=e_leak).e_leak  # e_leak is a tracer here: no value check

    np.testing.assert_array_equal(jax.jit(jax.vmap(build))(jnp.array([-70.0, jnp.inf])), [-70.0, np.inf])


def _poisson(**kwargs):
    base = dict(n_sources=5, rate=10.0, weight=1.0, synapse=bs.ExponentialSynapse(), output=bs.CUBA())
    return bs.PoissonInput("P", **{**base, **kwargs})


def _spike_times(**kwargs):
    base = dict(times=[1.0], indices=[0], weight=1.0, synapse=bs.ExponentialSynapse(), output=bs.CUBA())
    return bs.SpikeTimes("P", **{**base, **kwargs})


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: _poisson(rate=np.nan), "rate"),
        (lambda: _poisson(rate=np.inf), "rate"),
        (lambda: _poisson(weight=np.inf), "weight"),
        (lambda: _spike_times(times=[np.inf]), "times"),
        (lambda: _spike_times(times=[np.nan]), "times"),
        (lambda: _spike_times(weight=np.nan), "weight"),
        (lambda: bs.ConstantCurrent("P", np.inf), "current"),
    ],
)
def test_inputs_reject_non_finite_parameters(make, name):
    with pytest.raises(ValueError, match=f"`{name}` must be finite"):
        make()
