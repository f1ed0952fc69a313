"""Populations, projections and inputs composed into one steppable, pure `Network`.

A projection is the pipeline `pre -> delay (steps) -> connectivity (event operator) -> synapse
(state per postsynaptic neuron) -> output (CUBA or COBA) -> post`. The network holds parameters
only; its state is a typed `NetworkState` pytree, and one time step

    state, record = network.step(state, inputs, dt, key)

runs six named phases, one module each: `history` (read, then write), `deliver`,
`assemble_inputs`, `emission` (advance populations and emit), `advance_projections`; `step`
composes them.
"""

from .emission import advance_population as advance_population, emits as emits
from .modulation import (
    AbstractModulation as AbstractModulation,
    ScaleLearningRate as ScaleLearningRate,
    ScaleRelease as ScaleRelease,
)
from .network import Network as Network
from .population import Population as Population
from .projection import Projection as Projection
from .state import (
    InputState as InputState,
    NetworkState as NetworkState,
    PopulationState as PopulationState,
    ProjectionState as ProjectionState,
    StepRecord as StepRecord,
)
