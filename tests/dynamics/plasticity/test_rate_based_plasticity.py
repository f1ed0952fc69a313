"""Rate-based plasticity: Hebbian growth against its exact discrete solution (with the bound
and the clock), Oja's rule extracting the first principal component of correlated inputs,
spike trains read as rates, gradients of the final weights against finite differences."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.dynamics.plasticity.rate_based import Hebbian, Oja
from brainsim.dynamics.synaptic_input import as_synaptic_input


class LinearUnit(bs.AbstractValueNeuron, bs.AbstractLinearInState):
    """tau dr/dt = -r + I: with tau << dt the unit emits its input, r = I (Hz per pA), the
    linear readout y = sum_i w_i x_i of Oja's analysis."""

    tau: float = 1e-3

    def init_state(self, n, *, key=None):
        return bs.RateState(r=jnp.zeros(n))

    def linear_coefficients(self, t, y, args):
        drive = as_synaptic_input(args)
        a = jnp.full_like(y.r, -1.0 / self.tau)
        return bs.RateState(r=a), bs.RateState(
            r=jnp.broadcast_to(drive.current_at_zero, y.r.shape) / self.tau
        )

    def value(self, y):
        return y.r


def _readout(rule, n_in, weights, n_out=1):
    """`x` (a ValueSource of `n_in` channels) -> `y` (`n_out` linear units), all to all, with
    `weights` of shape (n_in, n_out)."""
    pre, post = np.meshgrid(np.arange(n_in), np.arange(n_out), indexing="ij")
    return bs.Network(
        [bs.Population("x", n_in, bs.ValueSource()), bs.Population("y", n_out, LinearUnit())],
        [
            bs.Projection(
                "x",
                "y",
                bs.FromArrays(
                    pre.ravel(), post.ravel(), jnp.asarray(np.ravel(weights), jnp.result_type(float))
                ),
                bs.InstantaneousSynapse(),
                bs.CUBA(),
                plasticity=rule,
            )
        ],
    )


def _final_weights(result, n_in, n_out):
    """Final weights as (n_in, n_out); FromArrays keeps the synapses in row order."""
    return np.asarray(result.final_state.projections["x->y"].weights).reshape(n_in, n_out)


@pytest.mark.parametrize("clock", [1, 5])
def test_hebbian_growth_equals_its_discrete_solution_and_stops_at_w_max(clock):
    """Constant input x into y = w x: each clock tick multiplies w by (1 + eta x^2 T), then the
    bound clips it."""
    dt, n_steps, eta, x = 1.0, 400, 1e-3, 3.0
    w0 = np.array([[0.01, 0.2]])
    rule = Hebbian(eta=eta, w_min=0.0, w_max=1.0, clock=clock)
    network = _readout(rule, 1, w0, n_out=2)
    inputs = {"x": jnp.full((n_steps, 1), x, jnp.float32)}
    result = bs.run(network, n_steps * dt, dt, key=jr.key(0), inputs=inputs)
    w = w0[0].astype(np.float64)
    for k in range(1, n_steps):  # x arrives from step 1 (one step of delay)
        if k % clock == 0:
            w = np.minimum(w * (1 + eta * x * x * clock * dt), 1.0)
    np.testing.assert_allclose(_final_weights(result, 1, 2)[0], w, rtol=2e-4)
    assert w[0] < 1.0 and w[1] == 1.0  # one still growing, one at the bound


def test_oja_rule_extracts_the_first_principal_component():
    """Zero-mean Gaussian inputs with covariance C (eigenvalues 4, 1.5, 0.8, 0.3): the weight
    vector of each of three linear units, from three random starts, converges to +-the
    leading eigenvector of C with unit norm (Oja 1982)."""
    n_in, n_out, n_steps, dt = 4, 3, 6000, 1.0
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(n_in, n_in)))
    covariance = basis @ np.diag([4.0, 1.5, 0.8, 0.3]) @ basis.T
    samples = rng.multivariate_normal(np.zeros(n_in), covariance, size=n_steps).astype(np.float32)
    w0 = rng.normal(scale=0.3, size=(n_in, n_out))
    rule = Oja(eta=1e-3, clock=1)
    result = bs.run(
        _readout(rule, n_in, w0, n_out), n_steps * dt, dt, key=jr.key(0), inputs={"x": jnp.asarray(samples)}
    )
    w = _final_weights(result, n_in, n_out)
    leading = np.linalg.eigh(covariance)[1][:, -1]
    norms = np.linalg.norm(w, axis=0)
    cosines = np.abs(leading @ w) / norms
    assert np.all(cosines > 0.99), cosines
    np.testing.assert_allclose(norms, 1.0, atol=0.05)
    assert np.all(np.abs(leading @ w0) / np.linalg.norm(w0, axis=0) < 0.9)  # not there at the start
    # the emitted y is the readout of what arrived: y_t = w_t . x_{t-1}
    y = np.asarray(result.outputs["y"])
    np.testing.assert_allclose(y[-1], samples[-2] @ w, rtol=1e-3, atol=2e-3)


def test_filtered_traces_read_spike_trains_as_rates():
    """With `tau_pre`/`tau_post`, a regular 40 Hz presynaptic and 25 Hz postsynaptic spike train
    read as 40 and 25 Hz on average (the filtered train's mean is the rate), each spike adding
    1000 / tau Hz, so the periodic peak is (1000 / tau) / (1 - exp(-P / tau))."""
    dt, n_steps, tau = 1.0, 4000, 100.0
    pre = np.zeros((n_steps, 1), np.float32)
    pre[::25] = 1.0
    kick = np.zeros((n_steps, 1), np.float32)
    kick[::40] = 1e5  # pA: one postsynaptic spike in each kicked step
    rule = Hebbian(eta=0.0, tau_pre=tau, tau_post=tau)
    network = bs.Network(
        [bs.Population("a", 1, bs.SpikeSource()), bs.Population("b", 1, bs.LIF(t_ref=1.0))],
        [bs.Projection("a", "b", bs.OneToOne(0.0), bs.ExponentialSynapse(), bs.CUBA(), plasticity=rule)],
        [bs.StreamedCurrent("b", "kick")],
    )
    result = bs.run(
        network,
        n_steps * dt,
        dt,
        key=jr.key(0),
        inputs={"a": jnp.asarray(pre), "kick": jnp.asarray(kick)},
        monitors=[bs.StateMonitor("a->b", "pre"), bs.StateMonitor("a->b", "post")],
    )
    np.testing.assert_array_equal(np.asarray(result.outputs["b"]), kick > 0)
    x = np.asarray(result.traces["a->b.pre"], np.float64)[1000:, 0]
    y = np.asarray(result.traces["a->b.post"], np.float64)[1000:, 0]
    np.testing.assert_allclose(x.mean(), 40.0, rtol=0.02)
    np.testing.assert_allclose(y.mean(), 25.0, rtol=0.02)
    np.testing.assert_allclose(x.max(), 10.0 / (1 - np.exp(-25 / tau)), rtol=1e-4)
    np.testing.assert_allclose(y.max(), 10.0 / (1 - np.exp(-40 / tau)), rtol=1e-4)


def test_gradient_of_final_weights_matches_finite_differences():
    """Through Oja's clock over a closed loop (y depends on the weights): d(loss)/d(eta) in
    float64 against a central difference."""
    n_in, n_out, n_steps = 3, 2, 150
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(n_steps, n_in))
    w0 = rng.normal(scale=0.5, size=(n_in, n_out))

    def loss(eta):
        result = bs.run(
            _readout(Oja(eta=eta), n_in, w0, n_out),
            float(n_steps),
            1.0,
            key=jr.key(0),
            inputs=inputs,
            record=False,
        )
        w = result.final_state.projections["x->y"].weights
        return jnp.sum(w * jnp.arange(1.0, 1.0 + w.size, dtype=w.dtype))

    with jax.enable_x64(True):
        inputs = {"x": jnp.asarray(samples, jnp.float64)}
        eta = jnp.float64(5e-3)
        grad = float(jax.grad(loss)(eta))
        h = 1e-7
        fd = float((loss(eta + h) - loss(eta - h)) / (2 * h))
        np.testing.assert_allclose(grad, fd, rtol=1e-6)
        assert abs(grad) > 1e-3


def test_bad_parameters_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match="`eta`"):
        Oja(eta=-1.0)
    with pytest.raises(ValueError, match="`tau_pre`"):
        Hebbian(tau_pre=0.0)
    with pytest.raises(ValueError, match="`tau_post`"):
        Oja(tau_post=-5.0)
    with pytest.raises(ValueError, match="`w_min`"):
        Hebbian(w_min=1.0, w_max=0.0)
    with pytest.raises(ValueError, match="`clock`"):
        Oja(clock=0)
    assert not Oja.event_driven and Oja().clock_steps() == 1 and Hebbian(clock=7).clock_steps() == 7


def test_a_learning_rate_modulation_scales_the_clock_update_per_postsynaptic_neuron():
    """`ScaleLearningRate` with a domain: unit 0 learns at 2.5x, unit 1 is gated off."""
    dt, n_steps, eta, x = 1.0, 200, 1e-3, 2.0
    rule = Hebbian(eta=eta, w_min=0.0, w_max=10.0)
    pre, post = np.array([0, 0]), np.array([0, 1])
    network = bs.Network(
        [
            bs.Population("x", 1, bs.ValueSource()),
            bs.Population("y", 2, LinearUnit()),
            bs.Population("m", 2, bs.ValueSource()),
        ],
        [
            bs.Projection(
                "x", "y", bs.FromArrays(pre, post, 0.1), bs.InstantaneousSynapse(), bs.CUBA(), plasticity=rule
            )
        ],
        modulations=[bs.ScaleLearningRate("m", "x->y", domain=[0, 1])],
    )
    inputs = {
        "x": jnp.full((n_steps, 1), x, jnp.float32),
        "m": jnp.tile(jnp.array([[2.5, 0.0]], jnp.float32), (n_steps, 1)),
    }
    result = bs.run(network, n_steps * dt, dt, key=jr.key(0), inputs=inputs)
    w = np.asarray(result.final_state.projections["x->y"].weights)
    np.testing.assert_allclose(w, [0.1 * (1 + 2.5 * eta * x * x * dt) ** (n_steps - 1), 0.1], rtol=2e-4)
