"""Initial states held outside the parameter pytree.

An initial state given to a `Population` or `Projection` is copied to the host and kept in a
static field: it is not a leaf of the `Network`, so `jax.grad`, `eqx.filter` and optimisers
never see it as a parameter (a state to start from, not something to train).
"""

import jax
import jax.tree_util as jtu
import numpy as np


class FrozenState:
    """A pytree of host NumPy arrays, hashable by content (a `jit` static value)."""

    def __init__(self, tree, what: str):
        try:
            self.tree = jtu.tree_map(np.asarray, tree)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError) as error:
            raise TypeError(
                f"{what} must be concrete (it is held outside the parameters); to start from a "
                "traced state, pass it to `bs.run(..., initial_state=...)` instead."
            ) from error
        leaves, treedef = jtu.tree_flatten(self.tree)
        self._key = (treedef, tuple((x.shape, x.dtype.str, x.tobytes()) for x in leaves))

    def thaw(self):
        """The state as JAX arrays."""
        return jtu.tree_map(jax.numpy.asarray, self.tree)

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, FrozenState) and self._key == other._key

    def __repr__(self):
        return f"FrozenState({jtu.tree_structure(self.tree)})"


def freeze(tree, what: str) -> FrozenState | None:
    """`tree` held as a `FrozenState` (`None` stays `None`; a `FrozenState` is kept as it is)."""
    return None if tree is None or isinstance(tree, FrozenState) else FrozenState(tree, what)
