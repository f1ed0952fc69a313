"""Connectivity formats and the event-driven operators that propagate spikes through them.

One file per format (`dense.py`, `csr.py`, `ell.py`, `procedural.py`), the contract and the
structural operations in `_base.py`, the active-row compaction in `_compaction.py`.
`event_matvec(..., kernel=...)` chooses among `KERNELS`; the Pallas kernel (`kernel="pallas"`)
lives in `brainsim.ops.pallas_event`, imported on first use."""

from ._base import (
    AbstractConnectivity as AbstractConnectivity,
    default_max_active as default_max_active,
    n_synapses as n_synapses,
    scale_weights as scale_weights,
    stored_synapses as stored_synapses,
    stored_weights as stored_weights,
    to_coo as to_coo,
    to_dense as to_dense,
)
from .csr import CSR as CSR
from .delayed import event_scatter_delayed as event_scatter_delayed
from .dense import Dense as Dense
from .ell import ELL as ELL
from .event import (
    KERNELS as KERNELS,
    active_count_exceeds_buffer as active_count_exceeds_buffer,
    event_matmat as event_matmat,
    event_matvec as event_matvec,
)
from .event_dense import EVENT_DENSITY as EVENT_DENSITY, event_dense_matmul as event_dense_matmul
from .procedural import Procedural as Procedural
