"""Training: spiking layers, checkpointed BPTT and an optax `fit` loop (see docs/training.md)."""

from .bptt import backward_temp_bytes as backward_temp_bytes, checkpointed_scan as checkpointed_scan
from .layers import (
    AbstractLayer as AbstractLayer,
    LeakyReadout as LeakyReadout,
    RecurrentSpikingLayer as RecurrentSpikingLayer,
    Sequential as Sequential,
    SpikingLayer as SpikingLayer,
    rest_state as rest_state,
    stack as stack,
)
from .fit import (
    EarlyStopping as EarlyStopping,
    fit as fit,
    make_eval as make_eval,
    make_step as make_step,
    minibatches as minibatches,
)
