"""Tests of `brainsim/dynamics/inputs.py`."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs


def test_poisson_input_mean_and_variance_match_binomial():
    inp = bs.PoissonInput(
        "P", n_sources=200, rate=50.0, weight=0.5, synapse=bs.ExponentialSynapse(), output=bs.CUBA()
    )
    delivered = np.asarray(inp.delivered(0.0, 0.1, 20000, jr.key(0)))
    p = 50.0 * 1e-3 * 0.1
    counts = delivered / 0.5
    assert abs(counts.mean() - 200 * p) < 0.05
    assert abs(counts.var() - 200 * p * (1 - p)) < 0.1


def test_spike_times_delivers_in_the_right_step_only():
    inp = bs.SpikeTimes(
        "P",
        times=[0.25, 0.25, 1.0],
        indices=[1, 1, 2],
        weight=3.0,
        synapse=bs.ExponentialSynapse(),
        output=bs.CUBA(),
    )
    at = {t: np.asarray(inp.delivered(t, 0.1, 4, jr.key(0))) for t in (0.1, 0.2, 0.3, 1.0)}
    np.testing.assert_allclose(at[0.2], [0, 6.0, 0, 0])
    np.testing.assert_allclose(at[0.1] + at[0.3], 0.0)
    np.testing.assert_allclose(at[1.0], [0, 0, 3.0, 0])


def test_current_function_of_time():
    inp = bs.CurrentFunction("P", lambda t: 10.0 * t)
    np.testing.assert_allclose(inp.current_at(2.0, 3), [20.0, 20.0, 20.0])


@pytest.mark.parametrize(
    "make, error, message",
    [
        (
            lambda: bs.PoissonInput(
                "P",
                n_sources=-1,
                rate=1.0,
                weight=1.0,
                synapse=bs.ExponentialSynapse(),
                output=bs.CUBA(),
            ),
            ValueError,
            "`n_sources`",
        ),
        (
            lambda: bs.PoissonInput(
                "P",
                n_sources=5,
                rate=-1.0,
                weight=1.0,
                synapse=bs.ExponentialSynapse(),
                output=bs.CUBA(),
            ),
            ValueError,
            "`rate` must be >= 0 Hz",
        ),
        (
            lambda: bs.SpikeTimes(
                "P",
                times=[1.0, 2.0],
                indices=[0],
                weight=1.0,
                synapse=bs.ExponentialSynapse(),
                output=bs.CUBA(),
            ),
            ValueError,
            "equal length",
        ),
        (
            lambda: bs.SpikeTimes(
                "P",
                times=[-1.0],
                indices=[0],
                weight=1.0,
                synapse=bs.ExponentialSynapse(),
                output=bs.CUBA(),
            ),
            ValueError,
            "`times` must be >= 0 ms",
        ),
        (lambda: bs.ConstantCurrent("P", jnp.nan), ValueError, "`current` must be finite"),
    ],
)
def test_bad_inputs(make, error, message):
    with pytest.raises(error, match=message):
        make()


def _event_inputs():
    synapse, output = bs.ExponentialSynapse(), bs.CUBA()
    poisson = bs.PoissonInput("P", n_sources=10, rate=100.0, weight=0.5, synapse=synapse, output=output)
    given = bs.SpikeTimes("P", times=[0.05], indices=[1], weight=2.0, synapse=synapse, output=output)
    return poisson, given


@pytest.mark.parametrize("x64, expected", [(False, np.float32), (True, np.float64)])
def test_python_float_inputs_take_the_default_float_dtype(x64, expected):
    with jax.enable_x64(x64):
        constant = bs.ConstantCurrent("P", 100.0)
        function = bs.CurrentFunction("P", lambda t: 10.0)
        poisson, given = _event_inputs()
        produced = {
            "ConstantCurrent": constant.current_at(0.0, 3),
            "CurrentFunction": function.current_at(0.0, 3),
            "PoissonInput.delivered": poisson.delivered(0.0, 0.1, 3, jr.key(0)),
            "SpikeTimes.times": given.times,
            "SpikeTimes.delivered": given.delivered(0.0, 0.1, 3, jr.key(0)),
        }
        dtypes = {name: value.dtype for name, value in produced.items()}
    assert dtypes == dict.fromkeys(produced, np.dtype(expected))


def test_a_float32_current_keeps_its_dtype_under_x64():
    with jax.enable_x64(True):
        current = bs.ConstantCurrent("P", jnp.asarray(1.0, jnp.float32)).current_at(0.0, 2)
    assert current.dtype == np.float32


def test_constant_current_stores_its_value_in_current_and_reads_it_with_current_at():
    inp = bs.ConstantCurrent("P", current=jnp.array([1.0, 2.0]))
    np.testing.assert_array_equal(inp.current, [1.0, 2.0])  # the field, pA
    np.testing.assert_array_equal(inp.current_at(0.0, 2), [1.0, 2.0])  # the method
    assert not hasattr(inp, "current_pa")
    assert "current_at" in bs.AbstractCurrentInput.__abstractmethods__


@pytest.mark.parametrize("rate, dt", [(20_000.0, 0.1), (1_001.0, 1.0), (jnp.asarray(1e5), 0.1)])
def test_poisson_check_dt_rejects_more_than_one_spike_per_source_per_step(rate, dt):
    inp = bs.PoissonInput(
        "P", n_sources=5, rate=rate, weight=1.0, synapse=bs.ExponentialSynapse(), output=bs.CUBA()
    )
    allowed = f"[0, {1e3 / dt:g}] Hz at `dt` = {dt:g} ms"
    with pytest.raises(ValueError, match=r"`rate` \* `dt` \* 1e-3 must be <= 1") as info:
        inp.check_dt(dt)
    assert allowed in str(info.value)
    inp.check_dt(0.5 * 1e3 / float(rate))  # the same input with a small enough step is fine


def test_check_dt_accepts_by_default():
    poisson, given = _event_inputs()
    for inp in (poisson, given, bs.ConstantCurrent("P", 1.0), bs.CurrentFunction("P", lambda t: t)):
        assert inp.check_dt(0.1) is None
    given.check_dt(1e6)  # SpikeTimes: any step
