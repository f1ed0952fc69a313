r"""Exact spike times of one neuron from adaptive `diffrax.diffeqsolve` calls with events.

Between spikes the state follows $dy/dt = f(t, y, I)$ exactly (to the solver's tolerances); a
spike is an upward zero crossing of a continuous *threshold distance* ($v - V_\theta$ for
integrate-and-fire models), located by a root find on the solver's dense output. The neuron is
then reset and the integration restarts from the spike time. This is for single neurons and
small studies (a handful of neurons via `jax.vmap`): networks use the fixed-step `simulate`.
"""

import functools as ft

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import optimistix as optx
from jaxtyping import Array, Float, Int

from .._custom_types import TimeLike
from .._validation import require_positive, require_positive_int
from ..dynamics.neurons.adex import AdEx, AdExState
from ..dynamics.neurons.alif import ALIF, ALIFState
from ..dynamics.neurons.base import AbstractSpikingNeuron
from ..dynamics.neurons.hodgkin_huxley import HodgkinHuxley, HodgkinHuxleyState
from ..dynamics.neurons.izhikevich import Izhikevich, IzhikevichState
from ..dynamics.neurons.lif import LIF, LIFState


@ft.singledispatch
def threshold_distance(neuron: AbstractSpikingNeuron, y) -> Float[Array, " n"]:
    """A continuous function of the state whose upward zero crossings are `spike_times`' events.

    Registered per model (`threshold_distance.register`), as lineax registers operations per
    operator type, so a new model is supported without editing this module. For most models it
    is the distance to threshold, `v - v_threshold` (mV); see `on_threshold_crossing` for what
    happens at a crossing.
    """
    raise TypeError(
        f"`spike_times` does not know where {type(neuron).__name__} fires. Register it: "
        "`@brainsim.integrate.spike_times.threshold_distance.register` on a function "
        "`(neuron, y) -> v - v_threshold` (mV), shape `(n,)`."
    )


@ft.singledispatch
def on_threshold_crossing(neuron: AbstractSpikingNeuron, y):
    """`(y_after, fired)` at an upward crossing of `threshold_distance`; `fired` is 0/1, `(n,)`.

    Default: every crossing is a spike, and the state is `neuron.reset(y, 1)`. A model whose
    crossings are not all spikes (`HodgkinHuxley` re-arms on the way down) registers its own.
    """
    fired = jnp.ones_like(neuron.spike(y))
    return neuron.reset(y, fired), fired


@threshold_distance.register
def _(neuron: LIF, y: LIFState):
    return y.v - neuron.v_threshold


@threshold_distance.register
def _(neuron: ALIF, y: ALIFState):
    return y.v - (neuron.v_threshold + y.adaptation)


@threshold_distance.register
def _(neuron: AdEx, y: AdExState):
    return y.v - neuron.v_threshold


@threshold_distance.register
def _(neuron: Izhikevich, y: IzhikevichState):
    return y.v - neuron.v_threshold


@threshold_distance.register
def _(neuron: HodgkinHuxley, y: HodgkinHuxleyState):
    # Below threshold, wait for the upward crossing (a spike); above it, for the downward one.
    return jnp.where(y.above > 0, neuron.v_threshold - y.v, y.v - neuron.v_threshold)


@on_threshold_crossing.register
def _(neuron: HodgkinHuxley, y: HodgkinHuxleyState):
    # Flip `above` directly: at the root `v` equals the threshold, so `v > v_threshold` is moot.
    fired = 1.0 - y.above
    return HodgkinHuxleyState(v=y.v, m=y.m, h=y.h, n=y.n, above=fired), fired


_TSIT5 = diffrax.Tsit5()


class _Carry(eqx.Module):
    t: Float[Array, ""]
    y: object
    times: Float[Array, " max_spikes"]
    count: Int[Array, ""]
    crossings: Int[Array, ""]


def spike_times(
    neuron: AbstractSpikingNeuron,
    y0,
    args,
    t1: TimeLike,
    *,
    solver: diffrax.AbstractAdaptiveSolver = _TSIT5,
    rtol: float | None = None,
    atol: float | None = None,
    max_spikes: int = 100,
    dt0: float = 0.01,
    max_steps: int = 4096,
) -> tuple[Float[Array, " max_spikes"], Int[Array, ""]]:
    r"""Spike times of one neuron over $[0, t_1]$, each located to the solver's tolerance.

    Integrates `neuron.vector_field` with `solver` under a PID step-size controller, stopping at
    each upward crossing of `threshold_distance(neuron, y)` (a `diffrax.Event` whose time is
    root-found with `optimistix.Newton` on the dense output). At a crossing the neuron is reset
    (`on_threshold_crossing`) and the integration restarts there, so refractory countdowns are
    integrated like any other state variable. The loop over spikes is a `lax.while_loop`:
    `spike_times` can be `jax.jit`-ed and `jax.vmap`-ed over inputs or parameters, and
    differentiated in forward mode (`jax.jvp`, `jax.jacfwd`; the derivative of a spike time
    comes from the implicit function theorem at the root). Reverse mode (`jax.grad`) is not
    supported, as for any `lax.while_loop`.

    Use float64 (`jax.enable_x64(True)`) for precise times. A refractory period ends when its
    countdown reaches `brainsim.dynamics.neurons.refractory.REFRACTORY_TOLERANCE` (1e-4 ms), as
    in stepped simulations, so each period lasts `t_ref - 1e-4` ms.

    **Arguments:**
    - `neuron`: a spiking model with `threshold_distance` registered (`LIF`, `ALIF`, `AdEx`,
      `Izhikevich`, `HodgkinHuxley`).
    - `y0`: its state at t = 0, leaves of shape `(1,)` or `()` (one neuron).
    - `args`: its input, held constant: a `SynapticInput` or a current in pA.
    - `t1`: end time, ms; > 0.
    - `solver`: an adaptive diffrax solver.
    - `rtol`, `atol`: tolerances of the step-size controller and of the root find (mV, ms);
      default 1e-8 for a float64 state and 1e-5 for float32, whose resolution is about 1e-7
      relative (tighter float32 tolerances make the controller run out of `max_steps`).
    - `max_spikes`: length of the output, >= 1; the integration stops at the `max_spikes`-th
      spike.
    - `dt0`: first step, ms; > 0.
    - `max_steps`: most solver steps between two crossings.

    **Returns:** `(times, count)`: spike times in ms, shape `(max_spikes,)`, ascending, with
    `inf` in the unused slots; and the number of spikes, an integer scalar.

    !!! Example

        ```python
        lif = brainsim.LIF(t_ref=2.0)
        y0 = brainsim.LIFState(v=jnp.full(1, -70.0), refractory=jnp.zeros(1))
        with jax.enable_x64(True):
            times, count = spike_times(lif, y0, 300.0, 100.0)
        # first spike at 20 ln(3) = 21.97 ms, then every 1.9999 + 20 ln(2) = 15.86 ms
        ```
    """
    max_spikes = require_positive_int("max_spikes", max_spikes)
    max_steps = require_positive_int("max_steps", max_steps)
    require_positive("t1", t1, "ms")
    require_positive("dt0", dt0, "ms")
    size = jnp.size(threshold_distance(neuron, y0))
    if size != 1:
        raise ValueError(
            f"`spike_times` integrates one neuron; got a state of {size} neurons. "
            "Use `jax.vmap` over independent neurons instead."
        )
    dtype = jnp.result_type(*jtu.tree_leaves(y0))
    default_tolerance = 1e-8 if jnp.finfo(dtype).bits == 64 else 1e-5
    rtol = default_tolerance if rtol is None else rtol
    atol = default_tolerance if atol is None else atol
    t1 = jnp.asarray(t1, dtype)
    term = diffrax.ODETerm(neuron.vector_field)
    event = diffrax.Event(
        lambda t, y, args, **kwargs: jnp.reshape(threshold_distance(neuron, y), ()),
        root_finder=optx.Newton(rtol=rtol, atol=atol),
        direction=True,
    )
    controller = diffrax.PIDController(rtol=rtol, atol=atol)

    def keep_going(carry: _Carry):
        # A crossing that is not a spike (a re-arm) is followed by a spike or by `t1`.
        return (carry.t < t1) & (carry.count < max_spikes) & (carry.crossings <= 2 * max_spikes)

    def next_crossing(carry: _Carry) -> _Carry:
        solution = diffrax.diffeqsolve(
            term,
            solver,
            carry.t,
            t1,
            dt0,
            carry.y,
            args,
            saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=controller,
            event=event,
            max_steps=max_steps,
            adjoint=diffrax.ForwardMode(),
        )
        t = solution.ts[-1]
        y = jtu.tree_map(lambda leaf: leaf[-1], solution.ys)
        crossed = solution.event_mask
        y_after, fired = on_threshold_crossing(neuron, y)
        fired = crossed & (jnp.reshape(fired, ()) > 0)
        times = carry.times.at[carry.count].set(jnp.where(fired, t, carry.times[carry.count]))
        return _Carry(
            t=jnp.where(crossed, t, t1),
            y=jtu.tree_map(lambda a, b: jnp.where(crossed, a, b), y_after, y),
            times=times,
            count=carry.count + fired.astype(carry.count.dtype),
            crossings=carry.crossings + crossed.astype(carry.crossings.dtype),
        )

    init = _Carry(
        t=jnp.zeros((), dtype),
        y=y0,
        times=jnp.full(max_spikes, jnp.inf, dtype),
        count=jnp.zeros((), jnp.int32),
        crossings=jnp.zeros((), jnp.int32),
    )
    final = jax.lax.while_loop(keep_going, next_crossing, init)
    return final.times, final.count
