"""Render what a patch changes in a model function: a unified diff of two sources.

Not kernel code. ``source_diff(before, after)`` compares ``inspect.getsource()`` of two
functions -- a baseline function and its patched copy under ``mrelease_ref.series`` -- and
returns the unified diff as text, with the functions' module paths as file names.

So that the diff is the posted change and nothing else:

* lines of the model that the posted code does not have are tagged ``# model-only`` in the
  series copies (option switches such as ``Kernel(swapcache_fix=True)``, the model's
  instrumentation counters, the ``!CONFIG_SWAP`` test that stands for an ``#ifdef``); the
  diff leaves them out (a tagged line that opens a block takes its block with it, and an
  ``elif`` after a removed ``if`` becomes the ``if`` it is in the posted code), and lists
  them below it;
* ``# type: ignore[...]`` comments (a Python type-checker's business) are dropped;
* when ``after`` is a series copy, the diff starts with the posting's lore link
  (:func:`posted_message_id`), and says so where that hunk was not retrieved and the copy is
  the model's reading **[I]** (docs/sources.md §T0, §T7).

Limitations:
- Docstring differences show up as changes too; ``strip_docstrings=True`` (the default)
  hides them.
- The diff is Python against Python: the posted C hunk is at the lore link
  (``tests/test_viz_diff.py::test_series_diff_starts_with_the_lore_link``).
"""

from __future__ import annotations

import ast
import difflib
import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any, Final

from mrelease_ref.findings import LORE

MODEL_ONLY: Final = "# model-only"
"""The tag of a line the posted code does not have."""

_TYPE_IGNORE = re.compile(r"\s*# type: ignore(\[[^\]]*\])?")

# (variant, kernel file) -> Message-ID of the posting that changed that file.
_MINCHAN = "minchan@kernel.org"
_RFC, _V1 = "20260413223948.556351-{}-" + _MINCHAN, "20260421230239.172582-{}-" + _MINCHAN
POSTED: Final[dict[tuple[str, str], str]] = {
    ("rfc", "mm/mmu_gather"): _RFC.format(2),
    ("rfc", "mm/swap_state"): _RFC.format(2),
    ("rfc", "include/linux/swap"): _RFC.format(2),
    ("rfc", "arch/s390/tlb"): _RFC.format(2),
    ("rfc", "mm/memory"): _RFC.format(3),
    ("rfc", "mm/oom_kill"): _RFC.format(4),
    ("rfc", "kernel/signal"): _RFC.format(4),
    ("v1", "mm/mmu_gather"): _V1.format(2),
    ("v1", "mm/swap"): _V1.format(2),
    ("v1", "include/linux/swap"): _V1.format(2),
    ("v1", "arch/s390/tlb"): _V1.format(2),
    ("v1", "mm/memory"): _V1.format(3),
    ("v1", "mm/oom_kill"): _V1.format(4),
    ("d", ""): "afFco71vwmpQy3pk@google.com",
    ("v2", ""): "20260429211359.3829683-1-" + _MINCHAN,
    ("v3", ""): "20260511214226.937793-1-" + _MINCHAN,
}
"""Which posting each series copy reproduces (docs/sources.md §T1.1, §T1.3); ``""`` as
file: every file of a single-patch version."""

INFERRED: Final = frozenset({("rfc", "mm/mmu_gather"), ("rfc", "mm/swap_state"),
                             ("rfc", "include/linux/swap"), ("rfc", "mm/oom_kill"),
                             ("rfc", "kernel/signal")})
"""Series copies whose posted hunk was not retrieved (only diffstats and commit messages):
the copy is the model's reading [I] (docs/sources.md §T3.1)."""


def posted_message_id(fn: Callable[..., Any]) -> tuple[str, bool] | None:
    """The Message-ID of the posting a series copy reproduces, and whether its hunk is
    inferred [I]; None for a function outside ``mrelease_ref.series``."""
    parts = fn.__module__.split(".")
    if parts[:2] != ["mrelease_ref", "series"] or len(parts) < 4:
        return None
    variant, file = parts[2], "/".join(parts[3:])
    mid = POSTED.get((variant, file)) or POSTED.get((variant, ""))
    if mid is None:
        return None
    return mid, (variant, file) in INFERRED


def _strip_docstring(src: str) -> str:
    tree = ast.parse(src)
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    if ast.get_docstring(node, clean=False) is None:
        return src
    first = node.body[0]
    lines = src.splitlines(keepends=True)
    start, end = first.lineno - 1, (first.end_lineno or first.lineno)
    return "".join(lines[:start] + lines[end:])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def split_model_only(lines: list[str]) -> tuple[list[str], list[str]]:
    """``lines`` without the ``# model-only`` lines (and the blocks they open), and the
    removed lines; ``# type: ignore`` comments are dropped from what stays."""
    kept: list[str] = []
    removed: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if MODEL_ONLY not in line:
            kept.append(_TYPE_IGNORE.sub("", line.rstrip("\n")) + "\n")
            i += 1
            continue
        removed.append(line)
        code = line.split("#", 1)[0].rstrip()
        i += 1
        if code.endswith(":"):  # the tagged line opens a block: the block goes too
            while i < len(lines) and (not lines[i].strip() or
                                      _indent(lines[i]) > _indent(line)):
                removed.append(lines[i])
                i += 1
            if code.lstrip().startswith("if ") and i < len(lines) and \
                    lines[i].lstrip().startswith("elif ") and \
                    _indent(lines[i]) == _indent(line):
                lines = [*lines[:i], lines[i].replace("elif ", "if ", 1), *lines[i + 1:]]
    return kept, removed


def _source(fn: Callable[..., Any], strip_docstrings: bool) -> tuple[list[str], list[str]]:
    src = textwrap.dedent(inspect.getsource(fn))
    if strip_docstrings:
        src = _strip_docstring(src)
    return split_model_only(src.splitlines(keepends=True))


def source_diff(
    before: Callable[..., Any],
    after: Callable[..., Any],
    *,
    strip_docstrings: bool = True,
    context: int = 3,
) -> str:
    """The unified diff from ``before``'s source to ``after``'s (empty if identical), with
    ``# model-only`` lines left out and listed below, and, for a series copy, the lore link
    of the posting it reproduces above it."""
    a, _ = _source(before, strip_docstrings)
    b, model_only = _source(after, strip_docstrings)
    name_a = f"{before.__module__.replace('mrelease_ref.', '')}.{before.__name__}"
    name_b = f"{after.__module__.replace('mrelease_ref.', '')}.{after.__name__}"
    diff = "".join(difflib.unified_diff(a, b, name_a, name_b, n=context))
    if not diff:
        return ""
    head = ""
    posted = posted_message_id(after)
    if posted is not None:
        mid, inferred = posted
        head = f"posted: {LORE}{mid}" + (
            " (hunk not retrieved: the model's reading [I])\n" if inferred else "\n")
    tail = ""
    if model_only:
        tail = "model-only lines of the copy (not in the posted hunk):\n" + "".join(
            f"  {ln.rstrip()}\n" for ln in textwrap.dedent("".join(model_only)).splitlines())
    return head + diff + tail
