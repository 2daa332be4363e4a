"""Render what a patch changes in a model function: a unified diff of two sources.

Not kernel code. ``source_diff(before, after)`` compares ``inspect.getsource()`` of two
functions -- a baseline function and its patched copy under ``mrelease_ref.series`` -- and
returns the unified diff as text, with the functions' module paths as file names, so a
notebook shows exactly the hunk a version of the series applies.

Limitations:
- Docstring differences show up as changes too; ``strip_docstrings=True`` hides them.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import textwrap
from collections.abc import Callable
from typing import Any


def _source(fn: Callable[..., Any], strip_docstrings: bool) -> list[str]:
    src = textwrap.dedent(inspect.getsource(fn))
    if strip_docstrings:
        tree = ast.parse(src)
        node = tree.body[0]
        assert isinstance(node, ast.FunctionDef)
        doc = ast.get_docstring(node, clean=False)
        if doc is not None:
            first = node.body[0]
            lines = src.splitlines(keepends=True)
            start, end = first.lineno - 1, (first.end_lineno or first.lineno)
            src = "".join(lines[:start] + lines[end:])
    return src.splitlines(keepends=True)


def source_diff(
    before: Callable[..., Any],
    after: Callable[..., Any],
    *,
    strip_docstrings: bool = True,
    context: int = 3,
) -> str:
    """The unified diff from ``before``'s source to ``after``'s (empty if identical)."""
    a = _source(before, strip_docstrings)
    b = _source(after, strip_docstrings)
    name_a = f"{before.__module__.replace('mrelease_ref.', '')}.{before.__name__}"
    name_b = f"{after.__module__.replace('mrelease_ref.', '')}.{after.__name__}"
    return "".join(difflib.unified_diff(a, b, name_a, name_b, n=context))
