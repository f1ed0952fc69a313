"""Griffe extension for the docs build: `from ._x import name as name` marks a public name.

brainsim follows equinox and diffrax: a package's public API is the names it re-exports with the
redundant `as` (`from .plotting import plot_raster as plot_raster`), and `__all__`, where a
package defines one, lists them too. Griffe treats imported names as private unless `__all__`
lists them, so a package without `__all__` would render empty. For such a package this extension
marks its redundant-`as` imports public; a package with `__all__` is left to `__all__`.
"""

import ast

import griffe


def reexported_names(module: ast.Module) -> list[str]:
    """Names bound by `from ... import name as name` at the top level of `module`."""
    return [
        alias.asname
        for node in module.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname is not None and alias.asname == alias.name
    ]


class RedundantAliasExports(griffe.Extension):
    """Mark the redundant-`as` re-exports of a module without `__all__` as public."""

    def on_module_members(self, *, node: ast.AST | griffe.ObjectNode, mod: griffe.Module, **kwargs) -> None:
        if mod.exports is not None or not isinstance(node, ast.Module):
            return
        for name in reexported_names(node):
            if name in mod.members:
                mod.members[name].public = True
