"""`BoundedJit`: `eqx.filter_jit` whose compiled programs are bounded in number, so a loop over
networks of changing shapes does not accumulate memory."""

import collections
from collections.abc import Callable

import equinox as eqx
import jax
import jax.tree_util as jtu


class BoundedJit:
    """`eqx.filter_jit(fn)` with a bounded memory: one `jax.jit` of a closure per signature
    (treedef, array shapes and dtypes, static values), the `size` most recently used kept.

    `eqx.filter_jit` keeps every program it ever compiled (about 6 MB each for COBA N = 1,000),
    so a loop over networks of changing shapes grew without bound; dropping a `jax.jit` object
    here releases its programs and traces, so memory stays flat whatever changes."""

    def __init__(self, fn: Callable, size: int):
        self.fn, self.size, self.programs = fn, size, collections.OrderedDict()

    def __call__(self, *args):
        dynamic, static = eqx.partition(args, eqx.is_array)
        leaves, treedef = jtu.tree_flatten(dynamic)
        key = (
            jtu.tree_structure(static),
            tuple(jtu.tree_leaves(static)),
            treedef,
            tuple((x.shape, x.dtype, getattr(x, "weak_type", False)) for x in leaves),
        )
        jitted = self.programs.pop(key, None)
        if jitted is None:
            fn = self.fn
            jitted = jax.jit(lambda dynamic, static=static: fn(*eqx.combine(dynamic, static)))
        self.programs[key] = jitted
        while len(self.programs) > self.size:
            self.programs.popitem(last=False)
        return jitted(dynamic)
