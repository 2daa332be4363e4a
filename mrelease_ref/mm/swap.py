"""LRU batching, ``folio_mark_accessed()`` and the batched release of folios.

Kernel: mm/swap.c (plus ``folio_get()``/``folio_put()`` from include/linux/mm.h)

Two reference-holding mechanisms meet here, and both decide whether a clean page-cache folio
can be evicted later:

* the per-CPU folio batches (``cpu_fbatches``): ``__folio_batch_add_and_move()`` takes a
  reference and keeps it until the batch is drained (when full, for a large folio at once,
  or by ``lru_add_drain()``);
* ``folios_put_refs()``: drops references and, for folios that reach zero, takes them off
  the LRU and hands them to the page allocator.

Variants: the series' ``free_pages_and_caches()`` lands in this file (patch 1); the baseline
has no such function.

Multi-gen LRU (``Kernel(lru_gen=True)``): ``folio_mark_accessed()`` returns after
``lru_gen_inc_refs()``, which only counts the access in the folio's flags (PG_referenced,
then the LRU_REFS counter, then PG_workingset): no activation, no per-CPU batch, no
reference taken. ``folio_add_lru()`` marks a folio added during a page fault with recency
PG_active, so it joins one of the two youngest generations. ``lru_gen_clear_refs()`` is what
``folio_deactivate()``, ``deactivate_file_folio()`` and ``lru_lazyfree()`` use to forget the
accesses (v6.18, after the 6.14 rework of the refs bits).

Limitations:
- Only the lru_add and lru_activate batches (plus mlock's); lru_deactivate, lru_lazyfree
  and lru_move_tail are not needed on this path.
- Multi-gen LRU: ``lru_deactivate_file()``/``deactivate_file_folio()`` and
  ``folio_rotate_reclaimable()`` are not modelled (no path of the model calls them); the
  ``PF_MEMALLOC`` exception in ``folio_add_lru()`` does not arise (reclaim never faults).
- ``lru_cache_disabled()`` is always false.
- Follows v6.18 after "mm: revert mm/gup: clear the LRU flag of a page before adding to LRU
  batch" and ``folio_may_be_lru_cached()``: a batched folio keeps PG_lru until the drain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mrelease_ref.include.linux.mm_inline import (
    folio_is_file_lru,
    folio_lru_gen,
    lru_gen_enabled,
    lru_gen_from_seq,
    lru_gen_in_fault,
    lruvec_add_folio,
    lruvec_del_folio,
)
from mrelease_ref.include.linux.mmzone import (
    LRU_REFS_FLAGS,
    LRU_REFS_MASK,
    LRU_REFS_PGOFF,
    NR_LRU_BASE,
    PAGEVEC_SIZE,
    FolioBatch,
    LruList,
    Lruvec,
    folio_batch_add,
)
from mrelease_ref.include.linux.page_flags import (
    PG_active,
    PG_anon,
    PG_dropbehind,
    PG_freed,
    PG_lru,
    PG_mlocked,
    PG_referenced,
    PG_swapbacked,
    PG_swapcache,
    PG_unevictable,
    PG_workingset,
    folio_test_clear_lru,
)
from mrelease_ref.include.linux.vmstat import count_vm_events
from mrelease_ref.mm.page_alloc import free_unref_folios
from mrelease_ref.mm.workingset import workingset_activation

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio, VmAreaStruct
    from mrelease_ref.sim.kernel import Kernel

MoveFn = Callable[[Lruvec, "Folio"], None]
_INACTIVE_ANON = int(LruList.LRU_INACTIVE_ANON)
_INACTIVE_FILE = int(LruList.LRU_INACTIVE_FILE)


class KernelBug(AssertionError):
    """Raised where the kernel would hit ``VM_BUG_ON()``/``BUG()``: the model state is broken."""


def folio_get(folio: Folio) -> None:
    """Kernel: include/linux/mm.h:folio_get()"""
    if folio._refcount <= 0:
        raise KernelBug(f"folio_get on a free folio: {folio!r}")
    folio._refcount += 1


def folio_put(folio: Folio) -> None:
    """Kernel: include/linux/mm.h:folio_put()"""
    folios_put_refs(FolioBatch([folio]), None)


def folio_evictable(folio: Folio) -> bool:
    """Kernel: mm/internal.h:folio_evictable()"""
    from mrelease_ref.include.linux.fs import AddressSpace, mapping_unevictable

    mapping = folio.mapping
    if isinstance(mapping, AddressSpace) and mapping_unevictable(mapping):
        return False
    return not folio.flags & PG_mlocked


def lru_add(lruvec: Lruvec, folio: Folio) -> None:
    """Kernel: mm/swap.c:lru_add()

    Put a new folio on its LRU list; an mlocked (or otherwise unevictable) one goes to the
    unevictable list instead.
    """
    if folio.flags & PG_lru:
        raise KernelBug(f"lru_add of a folio already on the LRU: {folio!r}")
    folio.flags &= ~PG_unevictable
    if not folio_evictable(folio):
        folio.flags = (folio.flags & ~PG_active) | PG_unevictable
    lruvec_add_folio(lruvec, folio)


def lru_activate(lruvec: Lruvec, folio: Folio) -> None:
    """Kernel: mm/swap.c:lru_activate()"""
    if folio.flags & (PG_active | PG_unevictable):
        return
    lruvec_del_folio(lruvec, folio)
    folio.flags |= PG_active
    lruvec_add_folio(lruvec, folio)
    count_vm_events(folio.kernel, "PGACTIVATE", 1 << folio.order)


def folio_batch_move_lru(fbatch: FolioBatch, move_fn: MoveFn) -> None:
    """Kernel: mm/swap.c:folio_batch_move_lru()

    Apply ``move_fn`` to every folio and set PG_lru, then drop the batch's references.
    Except for ``lru_add``, a folio is moved only if this drain can clear its PG_lru (it is
    still on the LRU: nobody isolated it meanwhile); otherwise it is skipped.
    """
    if not fbatch.folios:
        return
    lruvec = fbatch.folios[0].kernel.lruvec
    flags_values = fbatch.folios[0].kernel.folio_flags_values
    for folio in fbatch.folios:
        # block memcg migration while the folio moves between lru
        if move_fn is not lru_add and not folio_test_clear_lru(folio):
            continue
        move_fn(lruvec, folio)
        flags = folio.flags | PG_lru
        folio.flags = flags_values.setdefault(flags, flags)  # most folios keep these flags
    folios = FolioBatch(fbatch.folios)
    fbatch.folios = []
    folios_put_refs(folios, None)


def folio_may_be_lru_cached(folio: Folio) -> bool:
    """Kernel: include/linux/swap.h:folio_may_be_lru_cached(): large folios are never
    parked in a per-CPU batch."""
    return folio.order == 0


def __folio_batch_add_and_move(fbatch: FolioBatch, folio: Folio, move_fn: MoveFn) -> None:
    """Kernel: mm/swap.c:__folio_batch_add_and_move()

    Take a reference and park the folio in this CPU's batch (its PG_lru stays set until the
    drain). A large folio, or a batch that just filled up, is moved at once. (The kernel's
    ``disable_irq`` argument only picks the local lock.)
    """
    folio_get(folio)
    if not folio_batch_add(fbatch, folio) or not folio_may_be_lru_cached(folio):
        folio_batch_move_lru(fbatch, move_fn)


def folio_add_lru(folio: Folio) -> None:
    """Kernel: mm/swap.c:folio_add_lru()

    Multi-gen LRU: a folio added during a page fault of a VMA with recency is marked
    PG_active, so it joins a young generation (see ``lru_gen_folio_seq()``).
    """
    if folio.flags & PG_lru:
        raise KernelBug(f"folio_add_lru of a folio on the LRU: {folio!r}")
    k = folio.kernel
    if lru_gen_enabled(k) and not folio.flags & PG_unevictable and lru_gen_in_fault(k):
        folio.flags |= PG_active
    __folio_batch_add_and_move(k.this_cpu_fbatches().lru_add, folio, lru_add)


def folio_add_lru_vma(folio: Folio, vma: VmAreaStruct) -> None:
    """Kernel: mm/swap.c:folio_add_lru_vma()

    A new folio in an mlocked VMA goes through the mlock batch instead.
    """
    from mrelease_ref.include.linux.mm_types import VM_LOCKED, VM_PFNMAP
    from mrelease_ref.mm.mlock import mlock_new_folio

    if (vma.vm_flags & (VM_LOCKED | VM_PFNMAP)) == VM_LOCKED:
        mlock_new_folio(folio)
    else:
        folio_add_lru(folio)


def folio_activate(folio: Folio) -> None:
    """Kernel: mm/swap.c:folio_activate() (CONFIG_SMP)"""
    if folio.flags & (PG_active | PG_unevictable) or not folio.flags & PG_lru:
        return
    k = folio.kernel
    __folio_batch_add_and_move(k.this_cpu_fbatches().lru_activate, folio, lru_activate)


def __lru_cache_activate_folio(folio: Folio) -> None:
    """Kernel: mm/swap.c:__lru_cache_activate_folio()

    The folio is not on the LRU yet; if it still sits in *this* CPU's lru_add batch, mark it
    active so the drain puts it on the active list. A folio in another CPU's batch is missed.
    """
    for f in reversed(folio.kernel.this_cpu_fbatches().lru_add.folios):
        if f is folio:
            folio.flags |= PG_active
            return


def lru_gen_inc_refs(folio: Folio) -> None:
    """Kernel: mm/swap.c:lru_gen_inc_refs()

    Count one more access through a file descriptor (or an unmap with a young PTE): the
    first sets PG_referenced (and clears the counter), each later one adds to the
    LRU_REFS counter, and once the counter is full PG_workingset is set. Nothing moves
    between lists; eviction reads the count later (the folio's tier) and may protect it.
    """
    flags = folio.flags
    if flags & PG_unevictable:
        return
    if not flags & PG_referenced:
        folio.flags = (flags & ~LRU_REFS_MASK) | PG_referenced  # set_mask_bits()
        return
    if flags & LRU_REFS_MASK == LRU_REFS_MASK:
        folio.flags = flags | PG_workingset
        return
    folio.flags = flags + (1 << LRU_REFS_PGOFF)


def lru_gen_clear_refs(folio: Folio) -> bool:
    """Kernel: mm/swap.c:lru_gen_clear_refs()

    Forget the folio's accesses (LRU_REFS_FLAGS and PG_workingset). Returns True when the
    folio has no generation, or is already in the oldest one of its type: then there is
    nothing to move and the caller's deactivation batch is skipped.
    """
    gen = folio_lru_gen(folio)
    if gen < 0:
        return True
    folio.flags &= ~(LRU_REFS_FLAGS | PG_workingset)
    lrugen = folio.kernel.lruvec.lrugen
    assert lrugen is not None
    return gen == lru_gen_from_seq(lrugen.min_seq[int(folio_is_file_lru(folio))])


def folio_mark_accessed(folio: Folio) -> None:
    """Kernel: mm/swap.c:folio_mark_accessed()

    Classic LRU aging: inactive,unreferenced -> inactive,referenced -> active,unreferenced
    -> active,referenced. The activation step queues the folio on a per-CPU batch, which
    holds a reference until drained. With the multi-gen LRU the call ends in
    ``lru_gen_inc_refs()``: a flag update, no activation and no batch.

    Variants: patch 2 of the series skips the call from the zap path for exclusive file
    folios; the function itself never changes.
    """
    k = folio.kernel
    k.vm_events["MARK_ACCESSED"] = k.vm_events.get("MARK_ACCESSED", 0) + 1
    flags = folio.flags
    if flags & PG_dropbehind:
        return
    if k.config.lru_gen:  # lru_gen_enabled()
        lru_gen_inc_refs(folio)
        return
    if not flags & PG_referenced:
        folio.flags = flags | PG_referenced
    elif flags & PG_unevictable:
        pass  # the unevictable list is never rotated
    elif not flags & PG_active:
        if flags & PG_lru:
            folio_activate(folio)
        else:
            __lru_cache_activate_folio(folio)
        folio.flags &= ~PG_referenced
        workingset_activation(folio)


def __page_cache_release(folio: Folio, lruvec: Lruvec) -> None:
    """Kernel: mm/swap.c:__page_cache_release(): take a dying folio off its LRU list."""
    if folio.flags & PG_lru:
        lruvec_del_folio(lruvec, folio)
        folio.flags &= ~(PG_lru | PG_active | PG_unevictable)  # __folio_clear_lru_flags()


def folios_put_refs(folios: FolioBatch, refs: Sequence[int] | None) -> None:
    """Kernel: mm/swap.c:folios_put_refs()

    Drop ``refs[i]`` references from each folio (one if ``refs`` is None). Folios that
    reach zero leave the LRU and go to the page allocator in one batch.
    """
    batch = folios.folios
    if not batch:
        return
    k = batch[0].kernel
    lruvec = k.lruvec
    huge_zero = k.huge_zero_folio
    classic = lruvec.lrugen is None
    vmstat = k.vmstat
    free: list[Folio] = []
    for folio, nr_refs in zip(batch, refs if refs is not None else [1] * len(batch), strict=True):
        if folio is huge_zero:
            continue
        refcount = folio._refcount - nr_refs
        folio._refcount = refcount
        if refcount > 0:
            continue
        flags = folio.flags
        if refcount < 0 or flags & PG_freed:
            raise KernelBug(f"folio refcount underflow: {folio!r}")
        if flags & PG_lru:
            if classic and not flags & PG_unevictable:
                # __page_cache_release() -> lruvec_del_folio() on the classic lists, inlined:
                # this runs for every folio a reap frees
                lru = (_INACTIVE_ANON if flags & PG_swapbacked else _INACTIVE_FILE) + (
                    1 if flags & PG_active else 0
                )
                prev = folio._lru_prev  # list_del(&folio->lru)
                nxt = folio._lru_next
                prev._lru_next = nxt  # type: ignore[union-attr]
                nxt._lru_prev = prev  # type: ignore[union-attr]
                folio._lru_prev = folio._lru_next = None
                vmstat[NR_LRU_BASE + lru] -= 1 << folio.order
                folio.flags = flags & ~(PG_lru | PG_active | PG_unevictable)
            else:
                __page_cache_release(folio, lruvec)
        free.append(folio)
    folios.folios = []
    free_unref_folios(free)


def release_pages(arg: Sequence[object], nr: int) -> None:
    """Kernel: mm/swap.c:release_pages()

    Drop the references held by an array of encoded pages (what ``!CONFIG_SWAP`` uses for
    ``free_pages_and_swap_cache()``). A page flagged NR_PAGES_NEXT is followed by a slot
    holding how many references to drop.
    """
    from mrelease_ref.include.asm_generic.tlb import (
        ENCODED_PAGE_BIT_NR_PAGES_NEXT,
        encoded_nr_pages,
        encoded_page_flags,
        encoded_page_ptr,
    )

    folios = FolioBatch()
    refs: list[int] = []
    i = 0
    while i < nr:
        enc = arg[i]
        folio = encoded_page_ptr(enc)[0]  # type: ignore[arg-type]
        ref = 1
        if encoded_page_flags(enc) & ENCODED_PAGE_BIT_NR_PAGES_NEXT:  # type: ignore[arg-type]
            i += 1
            ref = encoded_nr_pages(arg[i])  # type: ignore[arg-type]
        refs.append(ref)
        if not folio_batch_add(folios, folio):
            folios_put_refs(folios, refs)
            refs = []
        i += 1
    if folios.folios:
        folios_put_refs(folios, refs)


def lru_deactivate(lruvec: Lruvec, folio: Folio) -> None:
    """Kernel: mm/swap.c:lru_deactivate(): active -> inactive list, referenced cleared.

    Multi-gen LRU: every folio is moved (deleted and re-added without PG_active, which
    puts a file folio in the oldest generation).
    """
    if folio.flags & PG_unevictable or not (folio.flags & PG_active or lru_gen_enabled(
            folio.kernel)):
        return
    lruvec_del_folio(lruvec, folio)
    folio.flags &= ~(PG_active | PG_referenced)
    lruvec_add_folio(lruvec, folio)
    count_vm_events(folio.kernel, "PGDEACTIVATE", 1 << folio.order)


def folio_deactivate(folio: Folio) -> None:
    """Kernel: mm/swap.c:folio_deactivate()

    Queue an active folio for deactivation. The model's lru_deactivate batch is drained
    at once (there is no per-CPU lru_deactivate batch in CpuFbatches). Multi-gen LRU: the
    accesses are forgotten (``lru_gen_clear_refs()``), and the folio is moved only if it
    is not in the oldest generation already.
    """
    if folio.flags & PG_unevictable or not folio.flags & PG_lru:
        return
    if lru_gen_clear_refs(folio) if lru_gen_enabled(folio.kernel) else not (
            folio.flags & PG_active):
        return
    fbatch = FolioBatch()
    __folio_batch_add_and_move(fbatch, folio, lru_deactivate)
    folio_batch_move_lru(fbatch, lru_deactivate)


def lru_lazyfree(lruvec: Lruvec, folio: Folio) -> None:
    """Kernel: mm/swap.c:lru_lazyfree()

    A clean anonymous folio the owner gave up (MADV_FREE) loses PG_swapbacked, which puts
    it on the inactive *file* list: reclaim may drop it without swap unless it is dirtied
    again.
    """
    if (not folio.flags & PG_anon or not folio.flags & PG_swapbacked
            or folio.flags & (PG_swapcache | PG_unevictable)):
        return
    lruvec_del_folio(lruvec, folio)
    folio.flags &= ~PG_active
    if lru_gen_enabled(folio.kernel):
        lru_gen_clear_refs(folio)
    else:
        folio.flags &= ~PG_referenced
    folio.flags &= ~PG_swapbacked
    lruvec_add_folio(lruvec, folio)
    count_vm_events(folio.kernel, "PGLAZYFREE", 1 << folio.order)


def folio_mark_lazyfree(folio: Folio) -> None:
    """Kernel: mm/swap.c:folio_mark_lazyfree()

    Queue an exclusive, clean anonymous folio for ``lru_lazyfree()``. As for
    ``folio_deactivate()``, the model moves it at once (no per-CPU lru_lazyfree batch).
    """
    if (not folio.flags & PG_anon or not folio.flags & PG_swapbacked
            or not folio.flags & PG_lru or folio.flags & (PG_swapcache | PG_unevictable)):
        return
    fbatch = FolioBatch()
    __folio_batch_add_and_move(fbatch, folio, lru_lazyfree)
    folio_batch_move_lru(fbatch, lru_lazyfree)


def lru_add_drain_cpu(kernel: Kernel, cpu: int) -> None:
    """Kernel: mm/swap.c:lru_add_drain_cpu()"""
    fb = kernel.cpu_fbatches[cpu]
    folio_batch_move_lru(fb.lru_add, lru_add)
    folio_batch_move_lru(fb.lru_activate, lru_activate)


def lru_add_drain(kernel: Kernel) -> None:
    """Kernel: mm/swap.c:lru_add_drain(): drain this CPU's LRU and mlock batches."""
    from mrelease_ref.mm.mlock import mlock_drain_local

    lru_add_drain_cpu(kernel, kernel.this_cpu())
    mlock_drain_local(kernel)


def lru_add_drain_all(kernel: Kernel) -> None:
    """Kernel: mm/swap.c:lru_add_drain_all(): drain the batches of every CPU."""
    from mrelease_ref.mm.mlock import mlock_drain_remote

    for cpu in range(kernel.config.nr_cpus):
        lru_add_drain_cpu(kernel, cpu)
        mlock_drain_remote(kernel, cpu)


__all__ = [
    "PAGEVEC_SIZE",
    "KernelBug",
    "__folio_batch_add_and_move",
    "__lru_cache_activate_folio",
    "__page_cache_release",
    "folio_activate",
    "folio_add_lru",
    "folio_add_lru_vma",
    "folio_batch_move_lru",
    "folio_deactivate",
    "folio_evictable",
    "folio_get",
    "folio_mark_accessed",
    "folio_put",
    "folios_put_refs",
    "lru_activate",
    "lru_add",
    "lru_add_drain",
    "lru_add_drain_all",
    "lru_add_drain_cpu",
    "lru_deactivate",
    "lru_gen_clear_refs",
    "lru_gen_inc_refs",
    "release_pages",
]
