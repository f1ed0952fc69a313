"""What changes during a run: typed per-component sub-states, separate from the parameters."""

from typing import Any

import equinox as eqx
from jaxtyping import Array, Float, Int


class PopulationState(eqx.Module):
    """One population's state: `neuron` (the model's state pytree, e.g. `LIFState`; `None`
    for data sources) and `solver` (the stepper's state, `None` for most)."""

    neuron: Any
    solver: Any = None


class ProjectionState(eqx.Module):
    """One projection's state.

    **Fields:**
    - `synapse`: the synapse state, per postsynaptic neuron (e.g. `ExponentialSynapseState`).
    - `weights`: plastic projections only: the current weights, per synapse, in the layout of
      the connectivity format (`(nnz,)` for `CSR`, `(n_pre, k)` for `ELL`, `(n_pre, n_post)`
      for `Dense`); `None` when the weights are fixed parameters of the connectivity.
    - `pending`: per-synapse delays only: contributions waiting to arrive, a ring buffer of
      shape `(max_delay_steps, n_post)`; `None` otherwise.
    - `plasticity`: the plasticity rule's traces (e.g. `PairTraces`); `None` without a rule.
    - `short_term`: the short-term plasticity state, per presynaptic neuron (e.g.
      `TsodyksMarkramState`); `None` without.
    """

    synapse: Any
    weights: Float[Array, "..."] | None = None
    pending: Float[Array, "ring n_post"] | None = None
    plasticity: Any = None
    short_term: Any = None


class InputState(eqx.Module):
    """One external input's state: `synapse` for event inputs (`PoissonInput`, `SpikeTimes`),
    `None` for current inputs."""

    synapse: Any = None


class NetworkState(eqx.Module):
    """Everything that changes during a run; a pytree of arrays, typed per component.

    **Fields:**
    - `step`: int32 scalar, steps taken.
    - `populations`: `PopulationState` per population name.
    - `projections`: `ProjectionState` per projection name.
    - `inputs`: `InputState` per entry of `Network.inputs`, in order.
    - `history`: per population with outgoing projections of homogeneous delay, its last
      outputs (spikes or values), a ring buffer of shape `(longest delay, n)`.
    """

    step: Int[Array, ""]
    populations: dict[str, PopulationState]
    projections: dict[str, ProjectionState]
    inputs: tuple[InputState, ...]
    history: dict[str, Array]


class StepRecord(eqx.Module):
    """What one step reports.

    **Fields:** `outputs` per population (0/1 spikes, floating point with surrogate gradients,
    or values); `overflow` per projection (more active rows than the event buffer: the exact
    slow path ran); `finite` per population (its state is free of NaN/Inf).
    """

    outputs: dict[str, Array]
    overflow: dict[str, Array]
    finite: dict[str, Array]
