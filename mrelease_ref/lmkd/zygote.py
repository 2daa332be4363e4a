"""The zygote and how an app process comes to share its memory: ``fork()``.

Not kernel code. On Android every app is forked from the zygote, which preloaded the boot
image, framework jars and shared libraries and built a heap; the child inherits all of it
(docs/sources.md §L3.3: 85-99 % of an app's file RSS is shared this way). What the series
changes depends on exactly this sharing: a folio that another address space maps is
neither evicted (patch 1) nor skipped for aging (patch 2), and an anonymous page shared
copy-on-write is only unmapped by a reap, not freed.

:func:`build_zygote` gives the zygote (``zygote64``, root) two mappings:

* ``pool``: the preloaded framework files, one file mapped private and read-only, faulted
  in and ``MAP_LOCKED`` (the device's hot working set, which reclaim keeps);
* ``heap``: ``DeviceConfig.zygote_anon_mb`` of anonymous memory it has written (boot-image
  heap and zygote space; launcher3's ``.art`` "shared dirty" is 16 MB, docs/sources.md
  §L3.1).

:func:`zygote_fork` is ``Process.fork()`` of the zygote with a ``setuid()`` to the app's
uid (model: kernel/fork.c ``copy_process()`` and mm/mmap.c ``dup_mmap()``): the child
shares every heap page write-protected (``copy_present_ptes()``), does not inherit the
pool's VM_LOCKED, and gets no page-table entries for the pool (``vma_needs_copy()``: a file
VMA without anonymous pages), so it maps the framework pages it touches as it faults them.
The app then writes ``DeviceConfig.cow_frac`` of the heap: those writes copy pages
(``wp_page_copy()``), its own; the rest stays the zygote's. A reap of the app frees its
copies and only unmaps the rest (``folio_remove_rmap_ptes()`` leaves the zygote's
reference), so a victim's RssAnon overstates what its kill frees by the heap pages it
still shares (:func:`exclusive_anon_pages` counts what it does free).

Limitations:
- One zygote (no zygote32, no app zygotes, no USAP pool); the app's own files are mapped
  after the fork (the model's fork copies, it does not exec).
- The zygote reaps its dead children (``waitpid()``) when the simulation sees them exit,
  not from a SIGCHLD handler; a zombie holds no memory, so nothing depends on when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.fs.proc.task_mmu import smap_gather_stats

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode
    from mrelease_ref.include.linux.mm_types import MmStruct
    from mrelease_ref.lmkd.device import Device
    from mrelease_ref.sim.kernel import Kernel
    from mrelease_ref.sim.process import Mapping, Process


def build_zygote(k: Kernel, pool_pages: int, heap_pages: int
                 ) -> tuple[Process, Inode, Mapping, Mapping]:
    """Spawn ``zygote64`` with its preloaded files (``pool``, locked, faulted in) and a
    written anonymous heap; returns (zygote, pool file, pool, heap)."""
    zygote = k.spawn("zygote64", uid=0)
    pool_file = k.create_file("framework.art", max(1, pool_pages))
    pool = zygote.mmap(pool_file.i_size, file=pool_file, write=False, locked=True)
    heap = zygote.mmap(max(1, heap_pages))
    for m, write in ((pool, False), (heap, True)):
        done = zygote.touch(m, write=write)
        if done != m.nr_pages:
            raise RuntimeError(f"zygote64: faulted {done} of {m.nr_pages} pages")
    return zygote, pool_file, pool, heap


def zygote_fork(dev: Device, name: str, uid: int) -> Process:
    """An app process forked from ``dev.zygote`` (setuid to ``uid``). It inherits
    ``dev.pool`` (not faulted in: the app touches the part it uses) and ``dev.heap``
    (shared copy-on-write: the app's writes copy pages)."""
    return dev.zygote.fork(name, uid=uid)


def cow_pages(dev: Device) -> int:
    """Heap pages an app writes, and so copies, after the fork."""
    return round(dev.heap.nr_pages * dev.cfg.cow_frac)


def exclusive_anon_pages(mm: MmStruct) -> int:
    """Anonymous pages mapped by ``mm`` alone: what unmapping them frees. Each anonymous
    VMA's smaps walk (``smap_gather_stats()``): Private_Clean + Private_Dirty. The
    zygote's heap pages an app has not copied are Shared, and a kill does not free them.
    Works on a detached mm too (the walk reads its page tables)."""
    total = 0
    for vma in mm.mm_mt:
        if vma.vm_file is None:
            mss = smap_gather_stats(vma)
            total += (mss.private_clean + mss.private_dirty) // mm.kernel.pg.PAGE_SIZE
    return total
