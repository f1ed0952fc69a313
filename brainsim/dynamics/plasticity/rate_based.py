r"""Rate-based plasticity: plain Hebbian learning and Oja's rule, on a clock over every synapse.

These rules read what the two populations emit rather than spike times
(`event_driven = False`). Each step the traces take the presynaptic values $x_i$ (what
arrived at the projection, after its delay) and the postsynaptic values $y_j$ (what the
postsynaptic population emitted this step); every `clock` steps the rule moves every synapse
over the interval $T = $ `clock` $\Delta t$ (forward Euler: $w \leftarrow w + \dot w\,T$),
O(synapses / `clock`) per step.

By default a trace *holds the latest value* (`tau_pre=None`, `tau_post=None`): right for value
populations (`RateUnit`, `ValueSource`, rates in Hz or any other level). For spiking
populations give a time constant: the trace is then the spike train filtered by
$e^{-t/\tau}/\tau$, a rate estimate in Hz ($x \leftarrow x\,e^{-\Delta t/\tau}$ each step,
$x \leftarrow x + 1000/\tau$ per spike, $\tau$ in ms), whose mean is the firing rate.
"""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._validation import require_positive_int
from .base import AbstractPlasticityRule
from .stdp import _check_amplitudes, _check_bounds, _check_time_constants, fade


class RateTraces(eqx.Module):
    """`pre`: presynaptic values $x_i$, shape `(n_pre,)`; `post`: postsynaptic values $y_j$,
    shape `(n_post,)`; in the populations' output units (Hz for rates, or spike-rate estimates
    in Hz with a time constant)."""

    pre: Float[Array, " n_pre"]
    post: Float[Array, " n_post"]


class _AbstractRateRule(AbstractPlasticityRule):
    """Shared traces of the rate rules: latest values, or filtered spike trains in Hz."""

    eta: eqx.AbstractVar[Float[Array, ""] | float]
    tau_pre: eqx.AbstractVar[Float[Array, ""] | float | None]
    tau_post: eqx.AbstractVar[Float[Array, ""] | float | None]
    clock: eqx.AbstractVar[int]

    event_driven: ClassVar[bool] = False

    def clock_steps(self) -> int:
        return self.clock

    def init_state(self, n_pre: int, n_post: int, synapse_shape=()) -> RateTraces:
        dtype = jnp.result_type(float)
        return RateTraces(jnp.zeros(n_pre, dtype), jnp.zeros(n_post, dtype))

    def decay(self, state: RateTraces, dt: float) -> RateTraces:
        return RateTraces(_fade(state.pre, self.tau_pre, dt), _fade(state.post, self.tau_post, dt))

    def on_pre(self, state, w, pre, post):
        return jnp.zeros_like(w)  # a rate rule: spikes move nothing by themselves (never called)

    def count_pre(self, state, spikes):
        return RateTraces(_take(state.pre, spikes, self.tau_pre), state.post)

    def on_post(self, state, w, pre, post):
        return jnp.zeros_like(w)

    def count_post(self, state, spikes):
        return RateTraces(state.pre, _take(state.post, spikes, self.tau_post))

    def __check_init__(self):
        _check_amplitudes(self, ("eta",))
        for name in ("tau_pre", "tau_post"):
            if getattr(self, name) is not None:
                _check_time_constants(self, (name,))
        _check_bounds(self)
        require_positive_int("clock", self.clock)


class Hebbian(_AbstractRateRule):
    r"""Plain Hebbian learning with hard bounds:

    $$\frac{dw_{ij}}{dt} = \eta\, x_i\, y_j, \qquad w_\min \le w_{ij} \le w_\max,$$

    with $x_i$ the presynaptic and $y_j$ the postsynaptic value (see the module docstring for
    the traces). Every `clock` steps: $w \leftarrow \mathrm{clip}(w + f_j\,\eta\,x_i y_j\,T)$,
    $T = $ `clock` $\Delta t$ (ms), $f_j$ the `ScaleLearningRate` factor (1 without one). Without
    the upper bound the weights of correlated inputs grow without limit; see `Oja`.

    **Fields:**
    - `eta`: learning rate, >= 0, in weight unit / (ms x [x] x [y]) (e.g. pA/Hz per ms per Hz^2
      between rate units).
    - `w_min`, `w_max`: weight bounds, `w_min <= w_max`.
    - `tau_pre`, `tau_post`: `None` (the trace holds the latest value) or a time constant, ms,
      > 0 (the trace is a filtered spike train, Hz).
    - `clock`: steps between updates, >= 1.
    """

    eta: Float[Array, ""] | float = 1e-3
    w_min: Float[Array, ""] | float = 0.0
    w_max: Float[Array, ""] | float = 1.0
    tau_pre: Float[Array, ""] | float | None = None
    tau_post: Float[Array, ""] | float | None = None
    clock: int = eqx.field(static=True, default=1)

    def on_clock(self, state, weights, pre, post, learning_rate, interval):
        x, y = state.pre[pre], state.post[post]
        return state, weights + learning_rate * self.eta * x * y * interval


class Oja(_AbstractRateRule):
    r"""Oja's rule (Oja 1982, J. Math. Biol. 15:267): Hebbian growth with a decay that keeps
    each postsynaptic neuron's weight vector at unit norm,

    $$\frac{dw_{ij}}{dt} = \eta\, y_j\,(x_i - y_j\, w_{ij}).$$

    For a linear unit $y_j = \sum_i w_{ij} x_i$ fed zero-mean inputs with covariance $C$, the
    weight vector of $j$ converges to $\pm$ the leading eigenvector of $C$ (the first principal
    component), with $\lVert w_{\cdot j} \rVert = 1$, at the rate
    $\eta(\lambda_1 - \lambda_2)$. Every `clock` steps: $w \leftarrow w + f_j\,\eta\,y_j
    (x_i - y_j w_{ij})\,T$, $T = $ `clock` $\Delta t$ (ms), $f_j$ the `ScaleLearningRate`
    factor. Stable for $\eta\,\lambda_1 T \ll 1$.

    Oja's normalisation assumes $x$ and $y$ in the same unit, so that $w$ is dimensionless
    (e.g. a linear rate unit whose output in Hz equals its input in pA, with weights in pA/Hz).

    **Fields:**
    - `eta`: learning rate, >= 0, in 1 / (ms x [x]^2).
    - `w_min`, `w_max`: weight bounds, `w_min <= w_max`; default `[-10, 10]` (Oja's rule keeps
      the weights bounded by itself; components of the eigenvector may be negative).
    - `tau_pre`, `tau_post`: `None` (latest value) or a time constant, ms, > 0 (filtered spike
      train, Hz).
    - `clock`: steps between updates, >= 1.

    ??? cite "Reference"
        ```bibtex
        @article{oja1982,
          author = {Oja, Erkki},
          title = {Simplified neuron model as a principal component analyzer},
          journal = {J. Math. Biol.}, volume = {15}, number = {3}, pages = {267--273}, year = {1982}}
        ```
    """

    eta: Float[Array, ""] | float = 1e-3
    w_min: Float[Array, ""] | float = -10.0
    w_max: Float[Array, ""] | float = 10.0
    tau_pre: Float[Array, ""] | float | None = None
    tau_post: Float[Array, ""] | float | None = None
    clock: int = eqx.field(static=True, default=1)

    def on_clock(self, state, weights, pre, post, learning_rate, interval):
        x, y = state.pre[pre], state.post[post]
        return state, weights + learning_rate * self.eta * y * (x - y * weights) * interval


def _fade(trace, tau, dt):
    """Latest-value traces are replaced, not decayed; filtered traces decay exactly."""
    return trace if tau is None else fade(trace, tau, dt)


def _take(trace, values, tau):
    """The latest values, or a spike's jump of 1000 / tau Hz (tau in ms) on the filtered trace."""
    values = values.astype(trace.dtype)
    if tau is None:
        return values
    return trace + values * (1000.0 / jnp.asarray(tau, trace.dtype))
