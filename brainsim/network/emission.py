"""What a population's model emits, and how a population advances one step (phase 4).

Both are `functools.singledispatch` functions over the model's type, so a new kind of model
(an astrocyte, a discrete map) registers its own rule instead of adding a branch to the step:

- spiking neurons: integrate, `spike`, `reset`; emit 0/1 spikes (surrogate gradients);
- value neurons (`AbstractValueNeuron`): integrate; emit `value(y)` (a rate, a level);
- threshold units (`ThresholdUnit`): read this step's input (no integration), emit spikes;
- data sources (`SpikeSource`, `ValueSource`): emit row `t` of the data channel.
"""

import functools as ft
from typing import Literal

import jax
import jax.numpy as jnp

from ..dynamics import AbstractSpikingNeuron
from ..dynamics.neurons.base import AbstractValueNeuron
from ..dynamics.neurons.threshold import ThresholdUnit, ThresholdUnitState
from ..dynamics.streams import SpikeSource, ValueSource
from ..dynamics.synaptic_input import as_synaptic_input
from .state import PopulationState

Emission = Literal["spikes", "values"]


@ft.singledispatch
def emits(model) -> Emission:
    """`"spikes"` or `"values"`: what a population of `model` passes to its projections."""
    raise TypeError(f"no emission rule for {type(model).__name__}; register one with `emits.register`.")


@emits.register(AbstractSpikingNeuron)
@emits.register(SpikeSource)
def _(model) -> Emission:
    return "spikes"


@emits.register(AbstractValueNeuron)
@emits.register(ValueSource)
def _(model) -> Emission:
    return "values"


def advance_on_clock(pop, state: PopulationState, drive, data, step, t, dt):
    """`advance_population` on the population's clock: every step, or (a slow clock,
    `Population.every = k`) by `k * dt` in steps `step % k == 0`, holding between updates
    (`held_output`). `lax.cond` runs one branch, so a slow population costs 1/k of a fast one."""
    if pop.every == 1:
        return advance_population(pop.neuron, pop, state, drive, data, t, dt)

    def tick():
        return advance_population(pop.neuron, pop, state, drive, data, t, dt * pop.every)

    shape = jax.eval_shape(tick)[1]

    def hold():
        return state, held_output(pop.neuron, state, shape)

    return jax.lax.cond(step % pop.every == 0, tick, hold)


@ft.singledispatch
def held_output(model, state: PopulationState, shape):
    """What a slow population emits between its updates: no spikes (spiking models)."""
    return jnp.zeros(shape.shape, shape.dtype)


@held_output.register
def _(model: AbstractValueNeuron, state, shape):
    """A value population keeps emitting the value of its current state."""
    return model.value(state.neuron).astype(shape.dtype)


@ft.singledispatch
def advance_population(model, pop, state: PopulationState, drive, data, t, dt):
    """`(state, output)` after the step `[t, t + dt)` of population `pop` (whose model is
    `model`) under input `drive`; `data` is this step's slice of the data channel."""
    raise TypeError(
        f"no advance rule for {type(model).__name__}; register one with `advance_population.register`."
    )


@advance_population.register
def _(model: AbstractSpikingNeuron, pop, state, drive, data, t, dt):
    y, solver_state = pop.solver.step(model, t, dt, state.neuron, drive, state.solver)
    fired = model.spike(y)
    # the reset is detached (no gradient through `fired`), as SuperSpike and snnTorch do:
    # with it, recurrent networks' gradients explode (see `brainsim.dynamics.surrogate`)
    return PopulationState(model.reset(y, jax.lax.stop_gradient(fired)), solver_state), fired


@advance_population.register
def _(model: AbstractValueNeuron, pop, state, drive, data, t, dt):
    y, solver_state = pop.solver.step(model, t, dt, state.neuron, drive, state.solver)
    return PopulationState(y, solver_state), model.value(y)


@advance_population.register(SpikeSource)
@advance_population.register(ValueSource)
def _(model, pop, state, drive, data, t, dt):
    return state, jnp.asarray(data[pop.name], jnp.result_type(float))


@advance_population.register
def _(model: ThresholdUnit, pop, state, drive, data, t, dt):
    """The unit reads its input instead of integrating it; its solver is not used."""
    x = jnp.broadcast_to(as_synaptic_input(drive).current_at_zero, (pop.n,)).astype(state.neuron.x.dtype)
    y = ThresholdUnitState(x=x)
    return PopulationState(y, state.solver), model.spike(y)
