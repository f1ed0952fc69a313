"""Ready-made networks: the Brette et al. (2007) benchmarks."""

from .coba import COBA as COBA, CUBA as CUBA
from .cobahh import COBAHH as COBAHH
