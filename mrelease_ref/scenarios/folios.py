"""Page-cache folio sizes: the lab's folio cases run on the model.

Not kernel code. A :class:`mrelease_ref.lab.folios.Case` (file size, access pattern,
madvise() hint) is the shared description; :func:`run_model_case` builds it on a fresh
``Kernel()`` (the default: readahead chooses the orders) and returns the same
:class:`FolioObs` that :func:`run_kernel_case` reads from the live kernel
(:func:`mrelease_ref.lab.folios.run_case`). :func:`stored_cases` gives the stored live
measurement (``lab/data/folios.json``) in the same form, so the model can be held to it
without root.

``layout`` is the page cache as runs of ``first+count x order`` (one token per run of
equal-order folios), e.g. ``0+2048x0 2048+512x2``; ``orders`` counts folios per order.

Limitations:
    - The model's ``read`` pattern is :func:`read_file`, the page-cache side of
      ``filemap_read()`` (``filemap_get_pages()`` and ``ra->prev_pos``); data copying and
      ``folio_mark_accessed()`` are left out (they do not change folio sizes).
    - ``rss_kb`` is the mapping's RssFile; the lab reads the VMA's ``Rss`` in smaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mrelease_ref.include.linux.fs import FMODE_READ, File
from mrelease_ref.include.linux.mm_types import PMD_SHIFT, Pmd
from mrelease_ref.lab.folios import Case, load_folios, runs_to_orders, touch_order

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode
    from mrelease_ref.sim.kernel import Kernel

__all__ = ("FolioObs", "layout_of", "read_file", "run_kernel_case", "run_model_case",
           "stored_cases")

_MADV = {"hugepage": 14, "sequential": 2, "random": 1}  # MADV_* values (asm-generic/mman)


@dataclass(frozen=True, slots=True)
class FolioObs:
    """What a case leaves: cached pages, layout runs ``[first, order, count]``, the touched
    mapping's FilePmdMapped and Rss in kB (0 for ``read``)."""

    cached_pages: int
    runs: tuple[tuple[int, int, int], ...]
    file_pmd_mapped_kb: int
    rss_kb: int

    @property
    def orders(self) -> str:
        """Folios per order as ``order:count`` tokens, e.g. ``0:2048 9:12``."""
        return " ".join(f"{o}:{n}" for o, n in runs_to_orders(self.runs).items())

    @property
    def layout(self) -> str:
        """The runs as ``first+count x order`` tokens."""
        return " ".join(f"{first}+{count}x{order}" for first, order, count in self.runs)

    @property
    def pmd_mapped(self) -> int:
        """Number of PMD mappings (FilePmdMapped / 2 MiB)."""
        return self.file_pmd_mapped_kb // 2048


def layout_of(inode: Inode) -> tuple[tuple[int, int, int], ...]:
    """The model's page cache of ``inode`` as runs ``(first, order, count)``."""
    runs: list[list[int]] = []
    for folio in sorted(inode.i_mapping.i_pages.values(), key=lambda f: f.index):
        if runs and runs[-1][1] == folio.order and \
                runs[-1][0] + (runs[-1][2] << folio.order) == folio.index:
            runs[-1][2] += 1
        else:
            runs.append([folio.index, folio.order, 1])
    return tuple((a, b, c) for a, b, c in runs)


def read_file(k: Kernel, inode: Inode, chunk: int) -> File:
    """``read()`` the whole file in ``chunk``-byte calls through one open file: the
    page-cache side of mm/filemap.c:filemap_read() (each call loops over
    ``filemap_get_pages()`` batches and then sets ``ra->prev_pos`` to the last byte read).
    Returns the open file."""
    from mrelease_ref.mm.filemap import filemap_get_pages

    file = File(inode.kind, inode, f_mode=FMODE_READ)
    page_size = k.pg.PAGE_SIZE  # 16 KiB on Kernel.android()
    size = inode.i_size * page_size
    pos = 0
    while pos < size:
        end = pos + chunk
        while pos < end and pos < size:
            batch = filemap_get_pages(file, pos, end - pos)
            if not batch:
                raise MemoryError("filemap_get_pages() found no memory")
            for folio in batch:
                folio_end = (folio.index + (1 << folio.order)) * page_size
                if pos >= min(end, size) or folio_end <= pos:
                    break
                pos = min(folio_end, end, size)
        file.f_ra.prev_pos = pos
    k._after_api()
    return file


def _pmd_kb(k: Kernel, start: int, end: int) -> int:
    """FilePmdMapped of ``[start, end)`` in the only process's page tables, in kB."""
    total = 0
    for mm in k.mms:
        for idx in range(start >> PMD_SHIFT, (end + (1 << PMD_SHIFT) - 1) >> PMD_SHIFT):
            e = mm.pgd.get(idx)
            if isinstance(e, Pmd) and e.folio is not None:
                total += 2048
    return total


def run_model_case(case: Case, **kernel_options: Any) -> FolioObs:
    """Build ``case`` on a fresh ``Kernel(**kernel_options)`` and read what it left."""
    from mrelease_ref.sim.kernel import Kernel

    k = Kernel(seed=0, **kernel_options)
    inode = k.create_file("folios.dat", case.nr_pages)
    pmd_kb = rss_kb = 0
    if case.pattern == "read":
        read_file(k, inode, case.chunk)
    else:
        p = k.spawn("folios", uid=0)
        m = p.mmap(case.nr_pages, file=inode, shared=False, write=False)
        if case.advice in _MADV:
            p.madvise(m, _MADV[case.advice])
        if case.pattern == "seq":
            p.touch(m)
        else:
            for i in touch_order(case.nr_pages, case.pattern, case.seed):
                p.touch(m, start=i, nr_pages=1)
        pmd_kb = _pmd_kb(k, m.start, m.end)
        rss_kb = p.status()["RssFile"]
    runs = layout_of(inode)
    return FolioObs(sum(c << o for _, o, c in runs), runs, pmd_kb, rss_kb)


def run_kernel_case(case: Case, directory: str = "/var/tmp") -> FolioObs:
    """Measure ``case`` on the live kernel (root) as a :class:`FolioObs`."""
    from mrelease_ref.lab.folios import run_case

    r = run_case(case, directory)
    return FolioObs(r.cached_pages, tuple((a, b, c) for a, b, c in r.runs),
                    r.file_pmd_mapped_kb, r.rss_kb)


def stored_cases(data: dict[str, Any] | None = None) -> list[tuple[Case, FolioObs]]:
    """The stored live measurement as (case, observation) pairs."""
    data = data if data is not None else load_folios()
    out = []
    for c in data["cases"]:
        case = Case(**c["case"])
        obs = FolioObs(c["cached_pages"], tuple((a, b, n) for a, b, n in c["runs"]),
                       c["file_pmd_mapped_kb"], c["rss_kb"])
        out.append((case, obs))
    return out


def compare(pairs: Sequence[tuple[Case, FolioObs]]) -> list[tuple[str, bool]]:
    """Model vs each stored/live observation: (case name, layout and PMD kB equal)."""
    out = []
    for case, obs in pairs:
        mine = run_model_case(case)
        out.append((case.name, mine.runs == obs.runs
                    and mine.file_pmd_mapped_kb == obs.file_pmd_mapped_kb))
    return out
