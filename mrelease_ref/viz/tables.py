"""pandas tables for notebooks: VMAs, meminfo/cachestat snapshots, traces (not kernel code).

Limitations:
- Presentation only: every number comes from model state or Kernel reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

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
