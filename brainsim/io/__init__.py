"""Reading and writing: checkpoints of a run (`save_checkpoint`, `load_checkpoint`, and
`simulate(checkpoint_every=..., checkpoint_dir=..., resume_from=...)`), networks, simulation
results as `.npz` (`save_result`, `load_result`), and NIR model interchange (`brainsim.io.nir`,
imported on first use: it loads h5py)."""

import importlib

from ._manifest import FileFormatError as FileFormatError
from .checkpoint import (
    Checkpoint as Checkpoint,
    load_checkpoint as load_checkpoint,
    load_network as load_network,
    save_checkpoint as save_checkpoint,
    save_network as save_network,
)
from .results import load_result as load_result, save_result as save_result

__all__ = [
    "Checkpoint",
    "FileFormatError",
    "load_checkpoint",
    "load_network",
    "load_result",
    "nir",
    "save_checkpoint",
    "save_network",
    "save_result",
]


def __getattr__(name: str):
    """Import `nir` on first use."""
    if name == "nir":
        module = importlib.import_module(".nir", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'brainsim.io' has no attribute {name!r}")
