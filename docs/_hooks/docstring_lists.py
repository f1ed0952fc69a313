"""Griffe extension for the docs build: brainsim's docstring lists render as lists.

brainsim's docstrings follow equinox's Markdown style: a bold heading, then one list item per
argument, field or return value, each with its unit and range:

    **Arguments:**
    - `conn`: a connectivity format (`Dense`, `CSR`, `ELL`).
    - `spikes`: presynaptic values, shape `(n_pre,)`; 0/1 spikes or any float.
      Continuation lines are indented.

Python-Markdown starts a list only after a blank line, so without one the items run on as a
single paragraph. This extension inserts that blank line before the first item of every list
(and after the last, where a paragraph follows at the list's own indentation) when the docs are
built. Nothing else changes: fenced code and `$$` display maths are left alone, and the
docstring in the source is not touched.
"""

import re

import griffe

_ITEM = re.compile(r"^(?P<indent> *)(?:[-*]|\d+\.) +\S")
_FENCE = re.compile(r"^ *(```|~~~)")


def separate_lists(text: str) -> str:
    """`text` with a blank line before each Markdown list that directly follows a paragraph line
    and after each list directly followed by a less-indented paragraph line."""
    out: list[str] = []
    fence = None  # the open fence marker, if inside fenced code
    maths = False  # inside a $$ ... $$ display
    list_indent = None  # indentation of the current list's items, or None outside a list
    for line in text.splitlines():
        stripped = line.strip()
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1) == fence:
                fence = None
            out.append(line)
            continue
        if opened:
            fence = opened.group(1)
            list_indent = None
            out.append(line)
            continue
        if maths or "$$" in line:
            if line.count("$$") % 2 == 1:
                maths = not maths
            out.append(line)
            continue
        item = _ITEM.match(line)
        previous = out[-1] if out else ""
        if not stripped:
            list_indent = None
        elif item and list_indent is None:
            if previous.strip():
                out.append("")
            list_indent = len(item.group("indent"))
        elif list_indent is not None and not item:
            if len(line) - len(line.lstrip(" ")) <= list_indent:
                out.append("")
                list_indent = None
        out.append(line)
    return "\n".join(out)


class DocstringLists(griffe.Extension):
    """Apply `separate_lists` to every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = separate_lists(obj.docstring.value)
