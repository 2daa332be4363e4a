"""pandas tables for notebooks: VMAs, meminfo/cachestat snapshots, traces (not kernel code);
and folded views of long tables and sources (:func:`collapsed`, :func:`source`), so a
notebook shows a summary and keeps the full data one call away.

Limitations:
- Presentation only: every number comes from model state or Kernel reports.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pandas as pd

from mrelease_ref.include.linux.mm_types import PMD_SHIFT, Pmd, Pte
from mrelease_ref.viz.glossary import GLOSSARY

if TYPE_CHECKING:
    from mrelease_ref.mm.filemap import Cachestat
    from mrelease_ref.sim.kernel import Kernel
    from mrelease_ref.sim.process import Process


def glossary() -> pd.DataFrame:
    """The vocabulary table: kernel term, Python name (under ``mrelease_ref.``), kernel file."""
    return pd.DataFrame(GLOSSARY, columns=["kernel term", "Python name", "kernel file"])


def _resident(p: Process, start: int, end: int) -> int:
    mm = p.task.mm
    if mm is None:
        return 0
    n = 0
    for idx in range(start >> PMD_SHIFT, ((end - 1) >> PMD_SHIFT) + 1):
        entry = mm.pgd.get(idx)
        if isinstance(entry, Pmd):
            n += 512 if entry.folio is not None else 0
        elif entry is not None:
            base = idx << PMD_SHIFT
            for i, pte in enumerate(entry):
                addr = base + (i << 12)
                if start <= addr < end and type(pte) is Pte and pte.folio is not None:
                    n += 1
    return n


def maps(p: Process) -> pd.DataFrame:
    """The process's VMAs, like ``/proc/<pid>/maps`` plus resident pages."""
    mm = p.task.mm
    rows = []
    for vma in mm.mm_mt if mm is not None else []:
        rows.append({
            "start": f"{vma.vm_start:#x}",
            "end": f"{vma.vm_end:#x}",
            "vma": repr(vma).split(" ", 2)[1],
            "backing": vma.vm_ops or "anon",
            "file": vma.vm_file.f_inode.name if vma.vm_file and vma.vm_file.f_inode else "",
            "pages": (vma.vm_end - vma.vm_start) >> 12,
            "resident": _resident(p, vma.vm_start, vma.vm_end),
        })
    return pd.DataFrame(rows)


MEMINFO_FIELDS = ("MemFree", "Cached", "AnonPages", "Mapped", "Shmem", "Active(file)",
                  "Inactive(file)", "Dirty", "PageTables")


def meminfo_table(
    snapshots: Mapping[str, Mapping[str, int]], fields: Sequence[str] = MEMINFO_FIELDS
) -> pd.DataFrame:
    """Columns = snapshot names, rows = meminfo fields, values in kB."""
    return pd.DataFrame({name: {f: snap[f] for f in fields} for name, snap in snapshots.items()})


def cachestat_table(snapshots: Mapping[str, Cachestat]) -> pd.DataFrame:
    """Columns = snapshot names, rows = cachestat fields (pages)."""
    return pd.DataFrame({name: asdict(cs) for name, cs in snapshots.items()})


def trace_frame(k: Kernel, funcs: Sequence[str] | None = None) -> pd.DataFrame:
    """The trace as a table (time in µs, task, function, details)."""
    rows = [
        {"t_us": e.ts_ns // 1000, "task": f"{e.comm}-{e.pid}", "cpu": e.cpu, "function": e.func,
         "detail": e.detail}
        for e in k.trace
        if funcs is None or e.func in funcs
    ]
    return pd.DataFrame(rows, columns=["t_us", "task", "cpu", "function", "detail"])


class Collapsed:
    """A long table shown folded: the HTML view (report, GitHub, Jupyter) is a
    ``<details>`` element with ``summary`` as its one visible line; the plain-text view
    prints the summary and how to get the full data.

    ``full`` names the one call that returns the whole table (e.g. ``"parity_frame(run)"``).
    """

    def __init__(self, frame: pd.DataFrame, summary: str, full: str = "") -> None:
        self.frame = frame
        self.summary = summary
        self.full = full

    def _title(self) -> str:
        rows = f"{len(self.frame)} rows"
        return f"{self.summary} ({rows}; full data: {self.full})" if self.full else \
            f"{self.summary} ({rows})"

    def _repr_html_(self) -> str:
        import html

        return (f"<details><summary>{html.escape(self._title())}</summary>"
                f"{self.frame.to_html()}</details>")

    def __repr__(self) -> str:
        return self._title()


def collapsed(frame: pd.DataFrame, summary: str, full: str = "") -> Collapsed:
    """``frame`` folded behind a one-line ``summary`` (see :class:`Collapsed`)."""
    return Collapsed(frame, summary, full)


class Source:
    """Functions' sources, folded: HTML shows one ``<details>`` per function with its code,
    plain text the full code (what ``print(inspect.getsource(fn))`` printed)."""

    def __init__(self, *fns: Callable[..., Any]) -> None:
        self.parts = [(f"{fn.__module__.replace('mrelease_ref.', '')}.{fn.__qualname__}",
                       inspect.getsource(fn)) for fn in fns]

    def _repr_html_(self) -> str:
        import html

        return "".join(
            f"<details><summary>source of <code>{html.escape(name)}</code> "
            f"({code.count(chr(10))} lines)</summary><pre>{html.escape(code)}</pre></details>"
            for name, code in self.parts)

    def __repr__(self) -> str:
        return "\n".join(code for _, code in self.parts)


def source(*fns: Callable[..., Any]) -> Source:
    """The source of each of ``fns`` (model functions), folded in HTML views."""
    return Source(*fns)


INFERRED_MARK = " [I]"
_LABEL_COLUMNS = ("version", "kernel", "config", "call")


def _mark(label: object, prefix: str) -> object:
    if isinstance(label, tuple):
        return tuple(_mark(x, prefix) for x in label)
    if isinstance(label, str) and label.startswith(prefix) and not label.endswith(
            INFERRED_MARK):
        return label + INFERRED_MARK
    return label


def mark_inferred(frame: pd.DataFrame, prefix: str = "rfc") -> pd.DataFrame:
    """``frame`` with every RFC row, column and version cell marked **[I]**: the RFC's
    1/3 and 3/3 hunks were not retrieved, so its results rest on the model's reading
    (docs/sources.md §T0, §T7). Labels starting with ``prefix`` get `` [I]`` appended, in
    the index, the columns and the ``version``/``kernel``/``config``/``call`` columns."""
    out = frame.copy()
    out.index = out.index.map(lambda x: _mark(x, prefix))
    out.columns = out.columns.map(lambda x: _mark(x, prefix))
    for col in _LABEL_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(lambda x: _mark(x, prefix))
    return out
