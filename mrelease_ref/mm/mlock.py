"""mlock and munlock of folios, through a per-CPU batch that holds a reference.

Kernel: mm/mlock.c, mm/internal.h (mlock_vma_folio(), munlock_vma_folio())

Zapping a folio from a VM_LOCKED VMA calls ``munlock_folio()``, which parks the folio in
this CPU's mlock batch with an extra reference until the batch drains. Anything that checks
the refcount in between (``mapping_evict_folio()``) sees that reference.

Limitations:
- The batch records the operation per entry in a parallel list instead of tagging the folio
  pointer's low bits (LRU_FOLIO / NEW_FOLIO) as the kernel does.
- Large PTE-mapped folios are mlocked on fault like small ones; the kernel mlocks them only
  from mlock_pte_range() when fully inside the VMA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mrelease_ref.include.linux.mm_inline import lruvec_add_folio, lruvec_del_folio
from mrelease_ref.include.linux.mm_types import VM_LOCKED, VM_PFNMAP
from mrelease_ref.include.linux.mmzone import NR_MLOCK, FolioBatch, Lruvec, folio_batch_add
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_lru,
    PG_mlocked,
    PG_unevictable,
    folio_test_clear_lru,
)
from mrelease_ref.include.linux.vmstat import count_vm_events
from mrelease_ref.mm.swap import folio_evictable, folio_get, folios_put_refs

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio, VmAreaStruct
    from mrelease_ref.sim.kernel import Kernel

_LRU_FOLIO = "mlock"
_NEW_FOLIO = "mlock_new"
_MUNLOCK = "munlock"


def __mlock_folio(folio: Folio, lruvec: Lruvec) -> None:
    """Kernel: mm/mlock.c:__mlock_folio(): move a now-mlocked folio to the unevictable list."""
    if not folio_test_clear_lru(folio):
        return
    if folio_evictable(folio):
        if folio.flags & PG_unevictable:
            lruvec_del_folio(lruvec, folio)
            folio.flags &= ~PG_unevictable
            lruvec_add_folio(lruvec, folio)
    elif folio.flags & PG_unevictable:
        if folio.flags & PG_mlocked:
            folio.mlock_count += 1
    else:
        lruvec_del_folio(lruvec, folio)
        folio.flags = (folio.flags & ~PG_active) | PG_unevictable
        folio.mlock_count = 1 if folio.flags & PG_mlocked else 0
        lruvec_add_folio(lruvec, folio)
        count_vm_events(folio.kernel, "UNEVICTABLE_PGCULLED", 1 << folio.order)
    folio.flags |= PG_lru


def __mlock_new_folio(folio: Folio, lruvec: Lruvec) -> None:
    """Kernel: mm/mlock.c:__mlock_new_folio(): first LRU placement of a new mlocked folio."""
    if not folio_evictable(folio):
        folio.flags |= PG_unevictable
        folio.mlock_count = 1 if folio.flags & PG_mlocked else 0
        count_vm_events(folio.kernel, "UNEVICTABLE_PGCULLED", 1 << folio.order)
    lruvec_add_folio(lruvec, folio)
    folio.flags |= PG_lru


def __munlock_folio(folio: Folio, lruvec: Lruvec) -> None:
    """Kernel: mm/mlock.c:__munlock_folio(): drop one mlock; rescue the folio when the last."""
    nr = 1 << folio.order
    isolated = folio_test_clear_lru(folio)
    if isolated and folio.flags & PG_unevictable:
        if folio.mlock_count:
            folio.mlock_count -= 1
        if folio.mlock_count:
            folio.flags |= PG_lru
            return
    if folio.flags & PG_mlocked:
        folio.flags &= ~PG_mlocked
        folio.kernel.vmstat[NR_MLOCK] -= nr
        count_vm_events(folio.kernel, "UNEVICTABLE_PGMUNLOCKED", nr)
    if isolated and folio.flags & PG_unevictable and folio_evictable(folio):
        lruvec_del_folio(lruvec, folio)
        folio.flags &= ~PG_unevictable
        lruvec_add_folio(lruvec, folio)
        count_vm_events(folio.kernel, "UNEVICTABLE_PGRESCUED", nr)
    if isolated:
        folio.flags |= PG_lru


def mlock_folio_batch(kernel: Kernel, cpu: int) -> None:
    """Kernel: mm/mlock.c:mlock_folio_batch(): apply the queued operations, drop the refs."""
    fb = kernel.cpu_fbatches[cpu]
    if not fb.mlock.folios:
        return
    lruvec = kernel.lruvec
    for folio, op in zip(fb.mlock.folios, fb.mlock_ops, strict=True):
        if op == _LRU_FOLIO:
            __mlock_folio(folio, lruvec)
        elif op == _NEW_FOLIO:
            __mlock_new_folio(folio, lruvec)
        else:
            __munlock_folio(folio, lruvec)
    batch = FolioBatch(fb.mlock.folios)
    fb.mlock.folios = []
    fb.mlock_ops.clear()
    folios_put_refs(batch, None)


def _queue(folio: Folio, op: str) -> None:
    kernel = folio.kernel
    cpu = kernel.this_cpu()
    fb = kernel.cpu_fbatches[cpu]
    folio_get(folio)
    fb.mlock_ops.append(op)
    if not folio_batch_add(fb.mlock, folio) or folio.order > 0:
        mlock_folio_batch(kernel, cpu)


def mlock_folio(folio: Folio) -> None:
    """Kernel: mm/mlock.c:mlock_folio()"""
    if not folio.flags & PG_mlocked:
        folio.flags |= PG_mlocked
        folio.kernel.vmstat[NR_MLOCK] += 1 << folio.order
        count_vm_events(folio.kernel, "UNEVICTABLE_PGMLOCKED", 1 << folio.order)
    _queue(folio, _LRU_FOLIO)


def mlock_new_folio(folio: Folio) -> None:
    """Kernel: mm/mlock.c:mlock_new_folio()"""
    folio.flags |= PG_mlocked
    folio.kernel.vmstat[NR_MLOCK] += 1 << folio.order
    count_vm_events(folio.kernel, "UNEVICTABLE_PGMLOCKED", 1 << folio.order)
    _queue(folio, _NEW_FOLIO)


def munlock_folio(folio: Folio) -> None:
    """Kernel: mm/mlock.c:munlock_folio()

    Queue the munlock; the folio keeps an extra reference until this CPU's batch drains.
    """
    _queue(folio, _MUNLOCK)


def mlock_vma_folio(folio: Folio, vma: VmAreaStruct) -> None:
    """Kernel: mm/internal.h:mlock_vma_folio()"""
    if (vma.vm_flags & (VM_LOCKED | VM_PFNMAP)) == VM_LOCKED:
        mlock_folio(folio)


def munlock_vma_folio(folio: Folio, vma: VmAreaStruct) -> None:
    """Kernel: mm/internal.h:munlock_vma_folio()"""
    if vma.vm_flags & VM_LOCKED:
        munlock_folio(folio)


def mlock_drain_local(kernel: Kernel) -> None:
    """Kernel: mm/mlock.c:mlock_drain_local()"""
    mlock_folio_batch(kernel, kernel.this_cpu())


def mlock_drain_remote(kernel: Kernel, cpu: int) -> None:
    """Kernel: mm/mlock.c:mlock_drain_remote()"""
    mlock_folio_batch(kernel, cpu)
