"""Izhikevich's simple spiking neuron (2003)."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, Spikes, TimeLike
from ..._validation import require_less, require_parameters, require_positive
from ..surrogate import AbstractSurrogate, SuperSpike, spike_fn
from ..synaptic_input import as_synaptic_input
from .base import AbstractSpikingNeuron

INITIAL_V = -65.0
"""The paper's initial membrane potential for every cell type, mV (Izhikevich 2003, Fig. 3 code)."""


class IzhikevichState(eqx.Module):
    """State of `Izhikevich`, each `(n,)`: `v` membrane potential (mV), `u` recovery variable
    (mV/ms)."""

    v: Float[Array, " n"]
    u: Float[Array, " n"]


class Izhikevich(AbstractSpikingNeuron[IzhikevichState]):
    r"""Izhikevich's two-variable model, in the original 2003 form.

    $$\frac{dv}{dt} = 0.04 v^2 + 5 v + 140 - u + \frac{I_\mathrm{syn}(v)}{C_m}, \qquad
    \frac{du}{dt} = a (b v - u),$$

    $$v \ge 30\ \mathrm{mV} \Rightarrow v \leftarrow c,\ u \leftarrow u + d,$$

    with $t$ in ms and $v$ in mV; the coefficients 0.04 (1/(mV ms)), 5 (1/ms) and 140 (mV/ms)
    are fixed by the model. **Unit convention:** Izhikevich's input $I$ has the units of
    $dv/dt$ (mV/ms). brainsim's inputs are in pA, so the input enters as $I_\mathrm{syn}/C_m$;
    with the default `c_m` = 1 pF an input of 10 pA is the paper's $I = 10$. Conductance-based
    inputs ($I_\mathrm{syn} = I_0 - G v$) are divided by `c_m` in the same way, so choose `c_m`
    to set the cell's sensitivity to synaptic conductances. The recovery variable $u$ has the
    units of $dv/dt$. The defaults are the regular-spiking cortical cell
    ($a = 0.02$, $b = 0.2$, $c = -65$, $d = 8$). The model is not linear in $v$: use a diffrax
    solver, not `ExponentialEuler`.

    **Fields** (floats, or arrays of shape `(n,)` for heterogeneous populations):
    - `recovery_rate`: $a$, the rate of the recovery variable, 1/ms; > 0.
    - `recovery_sensitivity`: $b$, the coupling of $u$ to $v$, 1/ms (any sign).
    - `v_reset`: $c$, the reset potential, mV; < `v_threshold`.
    - `recovery_increment`: $d$, the jump of $u$ at a spike, mV/ms (any sign).
    - `v_threshold`: spike peak, mV (30 in the paper).
    - `c_m`: input scale, pF; > 0 (see the unit convention above).
    - `surrogate`: spike derivative used in the backward pass.

    ??? cite "Reference"
        ```bibtex
        @article{izhikevich2003simple,
          author = {Izhikevich, Eugene M.},
          title = {Simple model of spiking neurons},
          journal = {IEEE Transactions on Neural Networks}, volume = {14}, number = {6},
          pages = {1569--1572}, year = {2003}, doi = {10.1109/TNN.2003.820440}}
        ```
    """

    recovery_rate: Parameter = 0.02
    recovery_sensitivity: Parameter = 0.2
    v_reset: Parameter = -65.0
    recovery_increment: Parameter = 8.0
    v_threshold: Parameter = 30.0
    c_m: Parameter = 1.0
    surrogate: AbstractSurrogate = SuperSpike()

    def __check_init__(self):
        require_parameters(
            self,
            {
                "recovery_rate": "1/ms",
                "recovery_sensitivity": "1/ms",
                "v_reset": "mV",
                "recovery_increment": "mV/ms",
                "v_threshold": "mV",
                "c_m": "pF",
            },
        )
        require_positive("recovery_rate", self.recovery_rate, "1/ms")
        require_positive("c_m", self.c_m, "pF")
        require_less("v_reset", self.v_reset, "v_threshold", self.v_threshold, "mV")

    def init_state(self, n: int, *, key: PRNGKeyArray) -> IzhikevichState:
        """Deterministic, as in the paper's code: `v` = -65 mV for every cell type and `u` = `b v`
        (`key` is unused). Starting at `v_reset` instead would put a chattering cell
        (`v_reset` = -50 mV, `b` = 0.2) exactly on its saddle point, where it never moves."""
        v = jnp.full(n, INITIAL_V)
        return IzhikevichState(v=v, u=self.recovery_sensitivity * v)

    def vector_field(self, t: TimeLike, y: IzhikevichState, args) -> IzhikevichState:
        drive = as_synaptic_input(args)
        dv = 0.04 * y.v**2 + 5.0 * y.v + 140.0 - y.u + drive.current(y.v) / self.c_m
        du = self.recovery_rate * (self.recovery_sensitivity * y.v - y.u)
        return IzhikevichState(v=dv, u=du)

    def spike(self, y: IzhikevichState) -> Spikes:
        return spike_fn(y.v - self.v_threshold, self.surrogate)

    def reset(self, y: IzhikevichState, spiked: Spikes) -> IzhikevichState:
        fired = spiked > 0
        return IzhikevichState(
            v=jnp.where(fired, self.v_reset, y.v),
            u=y.u + spiked * self.recovery_increment,
        )
