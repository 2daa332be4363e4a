"""The invariant checker, in the spirit of CONFIG_DEBUG_VM (not kernel code).

``check_invariants(k)`` walks all model state and returns every violation it finds;
``assert_invariants(k)`` raises :class:`InvariantViolation` listing them. With
``Kernel(debug_vm=True)`` it runs after every API call and scheduler step.

What it checks:

1. **References.** Each folio's refcount equals the references the model can account for:
   page cache and swap cache (``folio_nr_pages()`` each), page-table entries (one per PTE,
   one per PMD), per-CPU LRU/mlock batches (one per entry), live mmu_gathers (the
   references their entries carry), private data, GUP pins.
2. **No use after free.** No freed folio is reachable from any of those places or an LRU.
3. **mapcount** equals the number of page-table entries mapping the folio.
4. **rss counters** of every live mm equal what its page tables map.
5. **LRU.** A folio with PG_lru sits on the list ``folio_lru_list()`` names; a folio on a
   list without PG_lru is held by a per-CPU batch; list sizes equal the vmstat counters.
   Multi-gen LRU (``lru_gen_check()`` in mm/vmscan.py): a folio on a generation list has
   a live generation in its flags and no PG_active, the generation sizes equal the pages
   whose flags name them, and the active/inactive counters split them at the two
   youngest generations.
6. **No lost data.** No dirty folio was dropped from a writeback-capable mapping.
7. **mm counts.** ``mm_users`` is at least the number of tasks using the mm; a live mm
   has ``mm_count >= 1``; no task points at a freed mm.
8. **Swap slots.** Each slot's count equals the swap PTEs pointing at it (plus
   SWAP_HAS_CACHE while the swap cache holds its folio).
9. **Writeback.** A folio with I/O in flight holds no reference for it, so it must still be
   alive (held by the page or swap cache) and keep PG_writeback until the I/O ends.
10. **Conservation.** Free pages (buddy + per-CPU lists) plus the pages of every live folio
    equal the managed pages: nothing leaks, nothing is counted twice.
11. **Contents.** A clean page-cache folio of a disk-backed file holds what the file's
    backing store holds; a clean swap-cache folio holds what its swap slots hold; every
    swap PTE's slot holds written data or has its folio in the swap cache (nothing a
    process could fault back in was lost).
12. **Copy-on-write.** An anonymous folio mapped writable, or marked PageAnonExclusive, is
    mapped by one mm only; every VMA mapping an anonymous folio is reachable from the
    folio's anon_vma (an rmap walk finds every mapping); anon_vma chains are symmetric.

Limitations:
- References held transiently *inside* a step (a lookup's reference) are invisible; the
  checker runs between steps, where none exist.
- O(size of the model): meant for tests, not for device-scale runs.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from mrelease_ref.include.asm_generic.tlb import (
    ENCODED_PAGE_BIT_NR_PAGES_NEXT,
    MmuGatherBatch,
    encoded_nr_pages,
)
from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.mm_inline import folio_lru_list
from mrelease_ref.include.linux.mm_types import (
    MM_ANONPAGES,
    MM_SWAPENTS,
    NR_MM_COUNTERS,
    Folio,
    MmStruct,
    Pmd,
    Pte,
    SwpEntry,
    VmAreaStruct,
    mm_counter,
)
from mrelease_ref.include.linux.mmzone import NR_FREE_PAGES, NR_FREE_PCP, NR_LRU_BASE
from mrelease_ref.include.linux.page_flags import PG_freed, PG_lru, PG_private, PG_writeback
from mrelease_ref.mm.swapfile import SWAP_HAS_CACHE

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import Kernel


class InvariantViolation(AssertionError):
    """The model reached a state the kernel's rules forbid; the message lists each rule."""


def _page_cache_refs(k: Kernel, refs: Counter[Folio], where: dict[Folio, str]) -> None:
    mappings: list[AddressSpace] = [i.i_mapping for i in k.inodes] + [k.swapper_space]
    for mapping in mappings:
        for folio in mapping.i_pages.values():
            refs[folio] += 1 << folio.order
            where.setdefault(folio, f"page cache of {mapping!r}")


def _page_table_refs(
    k: Kernel, refs: Counter[Folio], maps: Counter[Folio], where: dict[Folio, str]
) -> list[str]:
    pg = k.pg
    errors: list[str] = []
    for mm in k.mms:
        rss = [0] * NR_MM_COUNTERS
        for entry in mm.pgd.values():
            if isinstance(entry, Pmd):
                if entry.folio is not None:
                    refs[entry.folio] += 1
                    maps[entry.folio] += 1
                    rss[mm_counter(entry.folio)] += pg.HPAGE_PMD_NR
                    where.setdefault(entry.folio, f"PMD of {mm!r}")
                continue
            for pte in entry:
                if type(pte) is Pte and pte.folio is not None:
                    refs[pte.folio] += 1
                    maps[pte.folio] += 1
                    rss[mm_counter(pte.folio)] += 1
                    where.setdefault(pte.folio, f"PTE of {mm!r}")
                elif type(pte) is SwpEntry:
                    rss[MM_SWAPENTS] += 1
        if rss != mm.rss_stat:
            errors.append(f"rss of {mm!r} is {mm.rss_stat}, page tables map {rss}")
    return errors


def _batch_refs(k: Kernel, refs: Counter[Folio], where: dict[Folio, str]) -> set[int]:
    in_batch: set[int] = set()
    for cpu, fb in enumerate(k.cpu_fbatches):
        for batch in fb.all_batches():
            for folio in batch.folios:
                refs[folio] += 1
                in_batch.add(id(folio))
                where.setdefault(folio, f"per-CPU batch of CPU {cpu}")
    for tlb in k.live_gathers:
        gbatch: MmuGatherBatch | None = tlb.local
        while gbatch is not None:
            slots = gbatch.encoded_pages
            for i, enc in enumerate(slots):
                if isinstance(enc, tuple):
                    n = 1
                    if enc[1] & ENCODED_PAGE_BIT_NR_PAGES_NEXT:
                        nxt = slots[i + 1]
                        assert isinstance(nxt, int)
                        n = encoded_nr_pages(nxt)
                    refs[enc[0][0]] += n
                    where.setdefault(enc[0][0], f"mmu_gather of mm {tlb.mm.mm_id}")
            gbatch = gbatch.next
    return in_batch


def _check_folios(k: Kernel, refs: Counter[Folio], maps: Counter[Folio],
                  where: dict[Folio, str], in_batch: set[int]) -> list[str]:
    errors: list[str] = []
    lru_folios: list[Folio] = [f for lst in k.lruvec.lists for f in lst]
    if k.lruvec.lrugen is not None:  # the multi-gen LRU's lists (mm/vmscan.py)
        from mrelease_ref.mm.vmscan import lru_gen_check, lru_gen_folios

        lru_folios += lru_gen_folios(k.lruvec)
        errors += lru_gen_check(k, in_batch)
    everything: dict[Folio, None] = dict.fromkeys(list(refs) + lru_folios)
    for folio in everything:
        if folio.flags & PG_freed:
            errors.append(f"freed {folio!r} still reachable ({where.get(folio, 'LRU')})")
            continue
        expected = refs[folio] + folio._pincount + (1 if folio.flags & PG_private else 0)
        if folio._refcount != expected:
            errors.append(
                f"{folio!r}: refcount {folio._refcount} but {expected} accounted for "
                f"(first seen in {where.get(folio, 'an LRU list')})"
            )
        if folio._mapcount != maps[folio]:
            errors.append(f"{folio!r}: mapcount {folio._mapcount}, mapped {maps[folio]} times")
    for lru, lst in enumerate(k.lruvec.lists):
        if k.lruvec.lrugen is not None and lst is not k.lruvec.lists[-1]:
            continue  # evictable folios are on generations: lru_gen_check() did these
        pages = 0
        for folio in lst:
            pages += 1 << folio.order
            if folio.flags & PG_lru:
                if folio_lru_list(folio) != lru:
                    errors.append(f"{folio!r} is on LRU list {lru}, flags say another")
            elif id(folio) not in in_batch:
                errors.append(f"{folio!r} is on an LRU list without PG_lru and no batch holds it")
        if pages != k.vmstat[NR_LRU_BASE + lru]:
            errors.append(f"LRU list {lru} holds {pages} pages, vmstat says "
                          f"{k.vmstat[NR_LRU_BASE + lru]}")
    live_pages = sum(1 << f.order for f in everything if not f.flags & PG_freed)
    free = k.vmstat[NR_FREE_PAGES] + k.vmstat[NR_FREE_PCP]
    if free + live_pages != k.zone.managed_pages:
        errors.append(
            f"pages not conserved: free {free} + in use {live_pages} != "
            f"managed {k.zone.managed_pages} (a folio leaked or was freed twice)"
        )
    return errors


def _check_mms(k: Kernel) -> list[str]:
    errors: list[str] = []
    users: Counter[int] = Counter()
    for t in k.tasks:
        for thread in t.signal.threads:
            if thread.mm is not None:
                if thread.mm.freed:
                    errors.append(f"{thread!r} points at freed {thread.mm!r}")
                users[id(thread.mm)] += 1
    for mm in k.mms:
        if mm.mm_users < users[id(mm)]:
            errors.append(f"{mm!r}: mm_users below the {users[id(mm)]} tasks using it")
        if mm.mm_users > 0 and mm.mm_count < 1:
            errors.append(f"{mm!r}: users but no mm_count")
    return errors


def _check_swap_map(k: Kernel) -> list[str]:
    """Each slot's count equals the swap PTEs pointing at it, plus SWAP_HAS_CACHE while the
    swap cache holds its folio; ``inuse_pages`` counts the slots in use."""
    si = k.swap_info
    if si is None:
        return []
    refs: Counter[int] = Counter()
    for mm in k.mms:
        for entry in mm.pgd.values():
            if isinstance(entry, list):
                refs.update(pte.offset for pte in entry if type(pte) is SwpEntry)
    errors: list[str] = []
    in_use = 0
    for off in range(1, si.max):
        want = refs[off] | (SWAP_HAS_CACHE if off in k.swapper_space.i_pages else 0)
        if si.swap_map[off] != want:
            errors.append(f"swap slot {off}: swap_map {si.swap_map[off]:#x}, expected {want:#x}")
        in_use += 1 if si.swap_map[off] else 0
    if in_use != si.inuse_pages:
        errors.append(f"swap inuse_pages {si.inuse_pages}, slots in use {in_use}")
    return errors


def _check_writeback(k: Kernel) -> list[str]:
    """A folio under I/O holds no reference of its own, so it must stay alive through
    other owners (the page cache, the swap cache) until the I/O ends."""
    return [
        f"{folio!r} under writeback was freed or lost PG_writeback"
        for folio in k.io_pending
        if folio.flags & PG_freed or not folio.flags & PG_writeback
    ]


def _check_contents(k: Kernel) -> list[str]:
    """Clean cached folios equal their backing store; swapped-out data is somewhere."""
    from mrelease_ref.include.linux.highmem import backing_token, folio_page_token
    from mrelease_ref.include.linux.page_flags import PG_dirty

    errors: list[str] = []
    for inode in k.inodes:
        if inode.kind != "ext4":
            continue
        for folio in inode.i_mapping.i_pages.values():
            if folio.flags & PG_dirty or folio._data is None:
                continue
            for i in range(1 << folio.order):
                if folio_page_token(folio, i) != backing_token(inode, folio.index + i):
                    errors.append(f"clean {folio!r} of {inode!r} page {folio.index + i} "
                                  "differs from the backing store")
                    break
    si = k.swap_info
    if si is None:
        return errors
    cache = k.swapper_space.i_pages
    for off, folio in cache.items():
        if not folio.flags & PG_dirty and off in si.swap_data:
            first = folio.swap.offset if folio.swap is not None else off
            if folio_page_token(folio, off - first) != si.swap_data[off]:
                errors.append(f"clean swap-cache {folio!r} differs from swap slot {off}")
    for mm in k.mms:
        for entry in mm.pgd.values():
            if not isinstance(entry, list):
                continue
            for pte in entry:
                if type(pte) is SwpEntry and pte.offset not in si.swap_data \
                        and pte.offset not in cache:
                    errors.append(f"swap PTE of {mm!r} -> slot {pte.offset}: no data written "
                                  "and no swap-cache folio (data lost)")
    return errors


def _anon_entries(mm: MmStruct) -> list[tuple[VmAreaStruct, Folio, int, int]]:
    """(vma, folio, entry bits, address) of every PTE/PMD of ``mm`` mapping an anonymous
    folio, walked VMA by VMA."""
    from mrelease_ref.include.linux.page_flags import PG_anon

    pg = mm.kernel.pg
    out: list[tuple[VmAreaStruct, Folio, int, int]] = []
    for vma in mm.mm_mt:
        for idx in range(vma.vm_start >> pg.PMD_SHIFT, ((vma.vm_end - 1) >> pg.PMD_SHIFT) + 1):
            entry = mm.pgd.get(idx)
            if isinstance(entry, Pmd):
                if entry.folio is not None and entry.folio.flags & PG_anon:
                    out.append((vma, entry.folio, entry.bits, idx << pg.PMD_SHIFT))
                continue
            if entry is None:
                continue
            base = idx << pg.PMD_SHIFT
            lo = max(0, (vma.vm_start - base) >> pg.PAGE_SHIFT)
            hi = min(pg.PTRS_PER_PTE, (vma.vm_end - base) >> pg.PAGE_SHIFT)
            for j in range(lo, hi):
                pte = entry[j]
                if type(pte) is Pte and pte.folio is not None and pte.folio.flags & PG_anon:
                    out.append((vma, pte.folio, pte.bits, base + (j << pg.PAGE_SHIFT)))
    return out


def _check_cow(k: Kernel) -> list[str]:
    """Writable or PageAnonExclusive anonymous folios belong to one mm; rmap reaches every
    mapping of an anonymous folio; anon_vma chains are symmetric."""
    from mrelease_ref.include.linux.mm_types import _PAGE_RW, AnonVma
    from mrelease_ref.include.linux.page_flags import PG_anon_exclusive

    errors: list[str] = []
    owners: dict[Folio, set[int]] = {}
    writable: dict[Folio, int] = {}
    for mm in k.mms:
        for vma in mm.mm_mt:
            for av in vma.anon_vma_chain:
                if vma not in av.vmas:
                    errors.append(f"{vma!r} chains {av!r}, which does not list it")
        for vma, folio, bits, addr in _anon_entries(mm):
            owners.setdefault(folio, set()).add(mm.mm_id)
            if bits & _PAGE_RW:
                writable[folio] = mm.mm_id
            root = folio.mapping
            if not isinstance(root, AnonVma) or vma not in root.vmas:
                errors.append(f"{folio!r} mapped at {addr:#x} in {mm!r} is not reachable "
                              "from its anon_vma")
    for folio, mms in owners.items():
        if len(mms) > 1 and folio in writable:
            errors.append(f"{folio!r} is mapped writable by mm {writable[folio]} and shared "
                          f"with {len(mms) - 1} other mm(s): a missed copy-on-write")
        if len(mms) > 1 and folio.flags & PG_anon_exclusive:
            errors.append(f"{folio!r} is PageAnonExclusive but mapped by {len(mms)} mms")
    return errors


def check_invariants(k: Kernel) -> list[str]:
    """Every violated invariant, as one message each (empty when all hold)."""
    refs: Counter[Folio] = Counter()
    maps: Counter[Folio] = Counter()
    where: dict[Folio, str] = {}
    _page_cache_refs(k, refs, where)
    errors = _page_table_refs(k, refs, maps, where)
    in_batch = _batch_refs(k, refs, where)
    errors += _check_folios(k, refs, maps, where, in_batch)
    errors += _check_mms(k)
    errors += _check_swap_map(k)
    errors += _check_writeback(k)
    errors += [f"data lost: {d}" for d in k.data_loss]
    errors += _check_contents(k)
    errors += _check_cow(k)
    return errors


def assert_invariants(k: Kernel) -> None:
    """Raise :class:`InvariantViolation` if any invariant is violated."""
    errors = check_invariants(k)
    if errors:
        raise InvariantViolation("; ".join(errors[:10]) + (" ..." if len(errors) > 10 else ""))


def leaked_pages(k: Kernel) -> int:
    """Pages not free once every process has exited and caches are dropped (should be 0)."""
    return k.zone.managed_pages - k.vmstat[NR_FREE_PAGES] - k.vmstat[NR_FREE_PCP]


__all__ = [
    "MM_ANONPAGES",
    "InvariantViolation",
    "MmStruct",
    "assert_invariants",
    "check_invariants",
    "leaked_pages",
]
