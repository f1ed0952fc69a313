"""`shard_map` across JAX versions: `jax.shard_map` (JAX >= 0.7, `check_vma=`) where it exists,
else `jax.experimental.shard_map.shard_map` (older JAX, `check_rep=`)."""

import importlib
from collections.abc import Callable


def shard_map_function(jax_module) -> Callable:
    """A `shard_map(f, *, mesh, in_specs, out_specs)` for the given `jax` module, with the
    replication check off (the step mixes values all-gathered once per exchange with local
    ones; their replication is by construction, not something the checker can infer)."""
    modern = getattr(jax_module, "shard_map", None)
    if modern is not None:

        def shard_map(f, *, mesh, in_specs, out_specs):
            return modern(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)

        return shard_map
    legacy = importlib.import_module(f"{jax_module.__name__}.experimental.shard_map").shard_map

    def shard_map(f, *, mesh, in_specs, out_specs):
        return legacy(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=False)

    return shard_map
