r"""Homeostatic synaptic scaling: a neuron that fires away from its target rate scales all of
its incoming weights by one factor (Turrigiano et al. 1998, Nature 391:892; van Rossum, Bi &
Turrigiano 2000, J. Neurosci. 20:8812)."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._validation import require_nonnegative, require_positive_int
from .base import AbstractPlasticityRule
from .stdp import _check_amplitudes, _check_bounds, _check_scalar, _check_time_constants, fade


class ScalingTraces(eqx.Module):
    """`rate`: the postsynaptic rate estimate $a_j$, Hz, shape `(n_post,)`."""

    rate: Float[Array, " n_post"]


class SynapticScaling(AbstractPlasticityRule):
    r"""Multiplicative synaptic scaling (van Rossum, Bi & Turrigiano 2000).

    Each postsynaptic neuron keeps an estimate of its firing rate, its spike train filtered
    with time constant $\tau_a$ (Hz):

    $$\tau_a \frac{da_j}{dt} = -a_j + \tau_a \sum_k \delta(t - t_j^k) \cdot 1000,$$

    i.e. $a_j \leftarrow a_j e^{-\Delta t/\tau_a}$ each step and $a_j \leftarrow a_j +
    1000/\tau_a$ per spike ($\tau_a$ in ms). It starts at `r_target` (a neutral start). Every
    `clock` steps, over $T = $ `clock` $\Delta t$ (ms), all incoming weights of $j$ are scaled
    by the same factor:

    $$w_{ij} \leftarrow w_{ij}\,\bigl(1 + f_j\,\eta\,(r_\mathrm{target} - a_j)\,T\bigr),$$

    the forward-Euler step of $\dot w_{ij} = \eta\,(r_\mathrm{target} - a_j)\,w_{ij}$
    ($f_j$: the `ScaleLearningRate` factor, 1 without one), then clipped to
    `[w_min, w_max]`. The ratios $w_{ij}/w_{kj}$ of a neuron's inputs are preserved (while no
    bound is reached): scaling changes how strongly a neuron is driven, not what it is tuned
    to. A neuron firing below its target scales its inputs up, one firing above scales them
    down. Not event-driven: the spikes only feed $a_j$; the clock costs O(synapses / `clock`)
    per step. Keep $\eta\,r_\mathrm{target}\,T \ll 1$ (a factor near 1 per tick) and $\tau_a$
    longer than the interval between spikes (van Rossum et al.: $\tau_a$ of seconds, scaling
    over hours; for simulations, scale $\eta$ up).

    **Fields:**
    - `eta`: scaling rate, 1/(Hz ms), >= 0.
    - `r_target`: target rate, Hz, >= 0.
    - `tau_a`: time constant of the rate estimate, ms, > 0 (e.g. 1,000-10,000 ms).
    - `w_min`, `w_max`: weight bounds, `w_min <= w_max` (scaling never changes a weight's sign:
      a factor below 0 is clipped at `w_min`).
    - `clock`: steps between scalings, >= 1.

    ??? cite "References"
        ```bibtex
        @article{turrigiano1998,
          author = {Turrigiano, G. G. and Leslie, K. R. and Desai, N. S. and Rutherford, L. C.
                    and Nelson, S. B.},
          title = {Activity-dependent scaling of quantal amplitude in neocortical neurons},
          journal = {Nature}, volume = {391}, pages = {892--896}, year = {1998}}
        @article{vanrossum2000,
          author = {van Rossum, M. C. W. and Bi, G. Q. and Turrigiano, G. G.},
          title = {Stable Hebbian learning from spike timing-dependent plasticity},
          journal = {J. Neurosci.}, volume = {20}, number = {23}, pages = {8812--8821}, year = {2000}}
        ```
    """

    eta: Float[Array, ""] | float = 1e-5
    r_target: Float[Array, ""] | float = 5.0
    tau_a: Float[Array, ""] | float = 1000.0
    w_min: Float[Array, ""] | float = 0.0
    w_max: Float[Array, ""] | float = 100.0
    clock: int = eqx.field(static=True, default=100)

    event_driven: ClassVar[bool] = False

    def __check_init__(self):
        _check_amplitudes(self, ("eta",))
        _check_scalar("r_target", self.r_target)
        require_nonnegative("r_target", self.r_target, "Hz")
        _check_time_constants(self, ("tau_a",))
        _check_bounds(self)
        require_positive_int("clock", self.clock)

    def clock_steps(self) -> int:
        return self.clock

    def init_state(self, n_pre: int, n_post: int, synapse_shape=()) -> ScalingTraces:
        dtype = jnp.result_type(float)
        return ScalingTraces(jnp.full(n_post, self.r_target, dtype))

    def decay(self, state: ScalingTraces, dt: float) -> ScalingTraces:
        return ScalingTraces(fade(state.rate, self.tau_a, dt))

    def on_pre(self, state, w, pre, post):
        return jnp.zeros_like(w)  # not event-driven: spikes only feed the rate estimate

    def count_pre(self, state, spikes):
        return state

    def on_post(self, state, w, pre, post):
        return jnp.zeros_like(w)

    def count_post(self, state, spikes):
        jump = 1000.0 / jnp.asarray(self.tau_a, state.rate.dtype)
        return ScalingTraces(state.rate + spikes.astype(state.rate.dtype) * jump)

    def on_clock(self, state, weights, pre, post, learning_rate, interval):
        error = self.r_target - state.rate[post]
        return state, weights * (1.0 + learning_rate * self.eta * error * interval)
