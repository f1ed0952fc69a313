"""One time step of a `Network`, as six named phases over component protocols.

```
read_history -> deliver -> assemble_inputs -> advance_populations (+ emit)
             -> advance_projections -> write_history
```

Each phase is a function of the network's components; a component owns its behaviour (a
synapse its `advance`, a model what it `emits` and how it `advance_population`s), so a new
capability adds a component or registers a rule instead of editing this function.
"""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
from jaxtyping import Array, Bool, PRNGKeyArray

from .advance_projections import advance_projections
from .assemble_inputs import assemble_inputs
from .deliver import deliver
from .emission import advance_on_clock
from .history import read_history, write_history
from .modulation import ScaleLearningRate, ScaleRelease, modulation_factors
from .state import NetworkState, StepRecord


def step(
    network, state: NetworkState, inputs, dt: float, key: PRNGKeyArray
) -> tuple[NetworkState, StepRecord]:
    """Advance `network` by one step of `dt` (ms) from `state`; `inputs` is this step's slice of
    the data channel (a dict, `{}` when nothing streams). `key` is folded with the step index,
    so results do not depend on how a run is chunked."""
    t = state.step.astype(jnp.result_type(float)) * dt
    step_key = jr.fold_in(key, state.step)
    arrived = read_history(network, state)
    release = modulation_factors(network, state, ScaleRelease)
    learning_rate = modulation_factors(network, state, ScaleLearningRate)
    projections, input_states, overflow = deliver(
        network, state, arrived, release, network.emissions(), t, dt, step_key
    )
    drives = assemble_inputs(network, projections, input_states, inputs, t)
    populations, outputs, finite = {}, {}, {}
    for pop in network.populations:
        new, outputs[pop.name] = advance_on_clock(
            pop, state.populations[pop.name], drives.get(pop.name), inputs, state.step, t, dt
        )
        populations[pop.name] = new
        finite[pop.name] = all_finite(new.neuron)
    projections, input_states, delayed_overflow = advance_projections(
        network, projections, input_states, arrived, outputs, learning_rate, state.step, t, dt
    )
    overflow.update(delayed_overflow)
    history = write_history(state, outputs)
    new_state = NetworkState(state.step + 1, populations, projections, input_states, history)
    return new_state, StepRecord(outputs, overflow, finite)


def all_finite(tree) -> Bool[Array, ""]:
    """Whether every floating leaf of `tree` is free of NaN and Inf."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in jtu.tree_leaves(tree) if eqx.is_inexact_array(x)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)
