"""Connectivity formats and the event-driven operators that propagate spikes through them.

`event_matvec(..., kernel=...)` chooses among `KERNELS`; the Pallas kernel (`kernel="pallas"`)
lives in `brainsim.ops.pallas_event`, imported on first use."""

from .delayed import event_scatter_delayed as event_scatter_delayed
from .event import (
    KERNELS as KERNELS,
    active_count_exceeds_buffer as active_count_exceeds_buffer,
    event_matmat as event_matmat,
    event_matvec as event_matvec,
)
from .formats import (
    CSR as CSR,
    ELL as ELL,
    AbstractConnectivity as AbstractConnectivity,
    Dense as Dense,
    default_max_active as default_max_active,
    n_synapses as n_synapses,
    scale_weights as scale_weights,
    to_coo as to_coo,
    to_dense as to_dense,
)
from .procedural import Procedural as Procedural
