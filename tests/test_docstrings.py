"""House style: every kernel-mirroring module and function says where in the kernel it
comes from (docs/conventions.md §C1).

Scope: modules under ``mrelease_ref/{mm,kernel,include,fs,arch}/`` (``__init__.py``
excluded). Only functions defined in the module itself count, not names it imports.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

import mrelease_ref

PACKAGE_ROOT = Path(mrelease_ref.__file__).parent
KERNEL_SUBPACKAGES = ("mm", "kernel", "include", "fs", "arch")

# ``Kernel: <path>:<name>()`` with a .c or .h path, or a SYSCALL_DEFINE citation
KERNEL_LINE = re.compile(r"^Kernel:\s+\S+\.[ch]:[A-Za-z_][A-Za-z0-9_]*\(\)")
SYSCALL_LINE = re.compile(r"^Kernel:\s+\S+:.*SYSCALL_DEFINE")
LIST_ITEM = re.compile(r"^[-*] ")


def _module_names() -> list[str]:
    names = []
    for sub in KERNEL_SUBPACKAGES:
        for path in sorted((PACKAGE_ROOT / sub).rglob("*.py")):
            if path.name == "__init__.py":
                continue
            rel = path.relative_to(PACKAGE_ROOT.parent).with_suffix("")
            names.append(".".join(rel.parts))
    return names


MODULES = _module_names()


def _import(name: str) -> ModuleType:
    return importlib.import_module(name)


def test_the_kernel_mirroring_tree_is_not_empty() -> None:
    """Guard for the two tests below: they must have modules to look at."""
    for sub in KERNEL_SUBPACKAGES:
        assert any(m.startswith(f"mrelease_ref.{sub}.") for m in MODULES), sub


def _limitations_problem(doc: str | None) -> str | None:
    """Why ``doc`` does not end with a "Limitations:" list, or None if it does."""
    if not doc or not doc.strip():
        return "no module docstring"
    lines = inspect.cleandoc(doc).splitlines()
    heads = [i for i, line in enumerate(lines) if line.strip() == "Limitations:"]
    if not heads:
        return "no 'Limitations:' section"
    rest = [line for line in lines[heads[-1] + 1:] if line.strip()]
    if not rest:
        return "'Limitations:' has no items"
    if not LIST_ITEM.match(rest[0]):
        return f"'Limitations:' is not followed by a list item: {rest[0]!r}"
    for line in rest[1:]:
        if not (LIST_ITEM.match(line) or line[:1].isspace()):
            return f"another section follows 'Limitations:': {line!r}"
    return None


@pytest.mark.parametrize("name", MODULES)
def test_module_docstring_ends_with_limitations(name: str) -> None:
    """docs/conventions.md §C1: every module docstring ends with a Limitations list: the last
    section is ``Limitations:`` followed only by list items (and their continuation lines)."""
    problem = _limitations_problem(_import(name).__doc__)
    assert problem is None, f"{name}: {problem}"


def _wants_citation(fname: str) -> bool:
    if fname.startswith("__") and fname.endswith("__"):
        return False  # Python dunders, not kernel names
    return not fname.startswith("_") or fname.startswith("__")


def _has_citation(doc: str) -> bool:
    for line in doc.splitlines():
        line = line.strip()
        if KERNEL_LINE.match(line) or SYSCALL_LINE.match(line):
            return True
    return False


def _offenders() -> list[str]:
    out = []
    for name in MODULES:
        module = _import(name)
        for fname, obj in vars(module).items():
            if not inspect.isfunction(obj) or obj.__module__ != name:
                continue
            if not _wants_citation(fname):
                continue
            doc = inspect.getdoc(obj) or ""
            if doc.startswith("Model helper"):
                continue
            if not _has_citation(doc):
                first = doc.splitlines()[0] if doc else "(no docstring)"
                out.append(f"{name}.{fname}: {first}")
    return out


def test_every_kernel_function_cites_its_source() -> None:
    """docs/conventions.md §C1: every public function has a Kernel: line: each public
    function (and each ``__name``, which are kernel names) defined in a kernel-mirroring
    module has a line ``Kernel: <path>.c|.h:<name>()`` (or a SYSCALL_DEFINE citation), unless
    its docstring starts with "Model helper"."""
    offenders = _offenders()
    assert not offenders, "functions without a Kernel: citation:\n" + "\n".join(offenders)


def test_citation_patterns() -> None:
    """The citation check accepts the house forms and rejects near misses."""
    good = [
        "Kernel: mm/oom_kill.c:__oom_reap_task_mm()",
        "Kernel: include/linux/mm.h:folio_put() (an inline)",
        "Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease)",
        "Kernel: kernel/signal.c:SYSCALL_DEFINE2(kill) via kill_something_info()",
    ]
    bad = [
        "Kernel: mm/oom_kill.c",  # no function
        "Kernel: mm/oom_kill.py:__oom_reap_task_mm()",  # not a .c/.h path
        "Kernel: mm/oom_kill.c:__oom_reap_task_mm",  # no ()
        "See mm/oom_kill.c:__oom_reap_task_mm()",  # not a Kernel: line
    ]
    assert all(_has_citation(d) for d in good)
    assert not any(_has_citation(d) for d in bad)
    assert _wants_citation("folio_put") and _wants_citation("__oom_reap_task_mm")
    assert not _wants_citation("_queue") and not _wants_citation("__repr__")
