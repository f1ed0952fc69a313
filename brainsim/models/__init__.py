"""Ready-made networks: the Brette et al. (2007) benchmarks.

The builders are named `...Network` so they never shadow the synaptic outputs `bs.COBA` and
`bs.CUBA` (conductance- and current-based), from which the benchmarks take their names.
"""

from .coba import COBANetwork as COBANetwork, CUBANetwork as CUBANetwork
from .cobahh import COBAHHNetwork as COBAHHNetwork

__all__ = [
    "COBANetwork",
    "CUBANetwork",
    "COBAHHNetwork",
]
