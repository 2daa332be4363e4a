"""Swap-out with MADV_PAGEOUT, swap-in, and the swap cache on the zap and reap paths.

Kernel: mm/madvise.c (madvise_pageout(), madvise_cold(),
madvise_cold_or_pageout_pte_range()), mm/vmscan.c (reclaim_pages(), shrink_folio_list()),
mm/rmap.c (try_to_unmap_one()), mm/memory.c (do_swap_page(), zap_nonpresent_ptes()),
mm/swapfile.c (free_swap_and_cache_nr(), folio_free_swap()), mm/swap_state.c
(free_swap_cache(), free_pages_and_swap_cache()); docs/sources.md §K5, §K6.

Every test runs with the invariant checker on (``debug_vm=True``). The checker does not
look at the swap device, so ``_swap_map_errors()`` below adds the missing rule: each slot's
count equals the swap PTEs that point at it, plus SWAP_HAS_CACHE while the swap cache
holds a folio for it, and ``inuse_pages`` counts exactly the slots in use.

The invariant checker now applies the same swap_map rule to every Kernel with a swap
device (``mrelease_ref.sim.invariants``); the helper stays to give these tests a precise
message.
"""

from __future__ import annotations

from collections import Counter

import pytest

from mrelease_ref.include.linux.mm_types import (
    _PAGE_ACCESSED,
    PAGE_SHIFT,
    PMD_SHIFT,
    Folio,
    Pte,
    PteTable,
    SwpEntry,
)
from mrelease_ref.include.linux.page_flags import PG_freed, PG_swapcache
from mrelease_ref.mm.madvise import MADV_COLD, MADV_PAGEOUT
from mrelease_ref.mm.swapfile import SWAP_HAS_CACHE
from mrelease_ref.sim.kernel import Kernel
from mrelease_ref.sim.process import Mapping, Process

NR = 16  # pages per mapping
KB = NR * 4  # the same, in kB



def _kernel(**kw: object) -> Kernel:
    args: dict[str, object] = {"swap_mib": 64, "large_folios": False, "debug_vm": True}
    args.update(kw)
    return Kernel(**args)  # type: ignore[arg-type]


def _swap_map_errors(k: Kernel) -> list[str]:
    """Every slot whose swap_map count disagrees with the page tables and the swap cache."""
    si = k.swap_info
    assert si is not None
    refs: Counter[int] = Counter()
    for mm in k.mms:
        for entry in mm.pgd.values():
            if isinstance(entry, PteTable):
                refs.update(pte.offset for pte in entry if type(pte) is SwpEntry)
    cached = set(k.swapper_space.i_pages)
    errors = []
    for off in range(1, si.max):
        want = refs[off] | (SWAP_HAS_CACHE if off in cached else 0)
        if si.swap_map[off] != want:
            errors.append(f"slot {off}: swap_map {si.swap_map[off]:#x}, expected {want:#x}")
    inuse = sum(1 for off in range(1, si.max) if si.swap_map[off])
    if inuse != si.inuse_pages:
        errors.append(f"inuse_pages {si.inuse_pages}, {inuse} slots in use")
    return errors


def _ptes(p: Process, m: Mapping) -> list[object]:
    """The PTE slots of ``m`` (None, a Pte or a SwpEntry), in address order."""
    mm = p.task.mm
    assert mm is not None
    out: list[object] = []
    for addr in range(m.start, m.end, 1 << PAGE_SHIFT):
        table = mm.pgd[addr >> PMD_SHIFT]
        assert isinstance(table, PteTable)
        out.append(table[(addr >> PAGE_SHIFT) & 511])
    return out


def _folios(p: Process, m: Mapping) -> list[Folio]:
    """The folios the present PTEs of ``m`` map."""
    return [pte.folio for pte in _ptes(p, m) if type(pte) is Pte and pte.folio is not None]


def _free_pages(k: Kernel) -> int:
    return k.zoneinfo()["free_with_pcp"]


def _swapped_out(k: Kernel) -> tuple[Process, Mapping]:
    """A process whose NR written anonymous pages went to swap with MADV_PAGEOUT."""
    v = k.spawn("victim")
    m = v.mmap(NR)
    v.touch(m, write=True)
    v.madvise(m, MADV_PAGEOUT)
    return v, m


def _reap(k: Kernel, victim: Process) -> None:
    """SIGKILL the victim and reap it with process_mrelease() before it runs again."""
    lmkd = k.spawn("lmkd")
    fd = lmkd.pidfd_open(victim.pid)
    lmkd.kill(victim.pid, 9)
    lmkd.process_mrelease(fd)


# --- MADV_PAGEOUT of anonymous memory -------------------------------------------------------


def test_pageout_anon_frees_memory_to_swap() -> None:
    """MADV_PAGEOUT reclaims exclusive anonymous folios at once: each gets a swap slot and
    joins the swap cache (add_to_swap), its PTE becomes the swap entry (try_to_unmap_one:
    MM_ANONPAGES -> MM_SWAPENTS), pageout() writes it (PSWPOUT) and __remove_mapping()
    drops it from the swap cache, so it is freed. Kernel: mm/madvise.c:madvise_pageout(),
    mm/vmscan.c:shrink_folio_list(), mm/rmap.c:try_to_unmap_one()."""
    k = _kernel()
    v = k.spawn("victim")
    m = v.mmap(NR)
    v.touch(m, write=True)
    swap_free, free = k.meminfo()["SwapFree"], _free_pages(k)
    v.madvise(m, MADV_PAGEOUT)
    mi = k.meminfo()
    assert v.status()["RssAnon"] == 0 and v.status()["VmSwap"] == KB
    assert mi["SwapFree"] == swap_free - KB
    assert mi["SwapCached"] == 0 and mi["AnonPages"] == 0
    assert _free_pages(k) == free + NR
    assert k.vm_events["PSWPOUT"] == NR
    assert all(type(pte) is SwpEntry for pte in _ptes(v, m))
    assert _swap_map_errors(k) == []


def test_pageout_skips_folios_still_in_another_cpus_batch() -> None:
    """madvise_pageout() drains only this CPU's LRU batches (lru_add_drain()); a folio
    still parked in another CPU's lru_add batch has PG_lru clear and is skipped. Kernel:
    mm/madvise.c:madvise_cold_or_pageout_pte_range() (!folio_test_lru -> continue)."""
    k = _kernel()
    v = k.spawn("victim")
    t = v.clone_thread()
    assert t.task.cpu != v.task.cpu
    m = v.mmap(NR)
    v.touch(m, write=True)  # faulted on the victim's CPU: in that CPU's lru_add batch
    t.madvise(m, MADV_PAGEOUT)  # runs on the thread's CPU
    assert v.status()["RssAnon"] == KB and v.status()["VmSwap"] == 0
    k.lru_add_drain_all()
    t.madvise(m, MADV_PAGEOUT)
    assert v.status()["RssAnon"] == 0 and v.status()["VmSwap"] == KB


@pytest.mark.parametrize("swap", [False, True], ids=["CONFIG_SWAP=n", "no-swap-device"])
def test_pageout_without_swap_leaves_anon_resident(swap: bool) -> None:
    """Without CONFIG_SWAP, or with no swap device, add_to_swap() fails: shrink_folio_list()
    jumps to activate_locked and the folio goes back to the active LRU, still mapped. The
    memory stays resident until the process dies. Kernel: mm/vmscan.c:shrink_folio_list()
    (folio_alloc_swap() failure -> activate_locked_split)."""
    k = _kernel(swap=swap, swap_mib=0)
    v = k.spawn("victim")
    m = v.mmap(NR)
    v.touch(m, write=True)
    v.madvise(m, MADV_PAGEOUT)
    k.lru_add_drain_all()
    mi = k.meminfo()
    assert v.status()["RssAnon"] == KB and v.status()["VmSwap"] == 0
    assert mi["SwapTotal"] == 0 and mi["SwapCached"] == 0
    assert mi["Active(anon)"] == KB and mi["Inactive(anon)"] == 0
    assert k.vm_events["PGACTIVATE"] == NR and "PSWPOUT" not in k.vm_events
    free = _free_pages(k)
    _reap(k, v)
    assert v.status()["RssAnon"] == 0
    assert _free_pages(k) == free + NR


def test_pageout_refuses_a_locked_vma() -> None:
    """MADV_PAGEOUT and MADV_COLD fail with EINVAL on VM_LOCKED (or PFN-map or hugetlb)
    VMAs. Kernel: mm/madvise.c:can_madv_lru_vma()."""
    k = _kernel()
    v = k.spawn("victim")
    m = v.mmap(NR, locked=True)
    for advice in (MADV_PAGEOUT, MADV_COLD):
        with pytest.raises(OSError) as exc:
            v.madvise(m, advice)
        assert exc.value.errno == 22
    assert v.status()["RssAnon"] == KB


# --- swap-in -------------------------------------------------------------------------------


def test_swapin_read_fault_keeps_folio_in_swap_cache() -> None:
    """A read fault on a swap PTE reads the page into a new folio that stays in the swap
    cache, mapped read-only: should_try_to_free_swap() only frees the slot for a write.
    Kernel: mm/memory.c:do_swap_page()."""
    k = _kernel()
    v, m = _swapped_out(k)
    v.touch(m, write=False, nr_pages=4)
    folios = _folios(v, m)
    assert len(folios) == 4
    assert all(f.flags & PG_swapcache and f.swap is not None for f in folios)
    assert v.status()["RssAnon"] == 16 and v.status()["VmSwap"] == KB - 16
    assert k.meminfo()["SwapCached"] == 16
    assert k.vm_events["PSWPIN"] == 4


def test_swapin_write_fault_frees_the_swap_cache_folio() -> None:
    """A write fault on a swap PTE maps the page writable and lets go of its swap copy:
    folio_free_swap() deletes it from the swap cache (should_try_to_free_swap()). A write
    to a page read in earlier does the same through do_wp_page()'s reuse. Kernel:
    mm/memory.c:do_swap_page(), wp_can_reuse_anon_folio()."""
    k = _kernel()
    v, m = _swapped_out(k)
    v.touch(m, write=False, nr_pages=4)
    v.touch(m, write=True, start=4, nr_pages=4)
    assert k.meminfo()["SwapCached"] == 16  # only the four read-faulted pages
    v.touch(m, write=True, nr_pages=4)  # now write the read-faulted ones
    assert k.meminfo()["SwapCached"] == 0
    assert not any(f.flags & PG_swapcache for f in _folios(v, m))
    assert v.status()["RssAnon"] == 32 and v.status()["VmSwap"] == KB - 32


def test_pageout_of_clean_swap_cache_folio_needs_no_io() -> None:
    """A folio read back from swap and not written since is clean and already in the swap
    cache: MADV_PAGEOUT skips add_to_swap(), try_to_unmap_one() turns its PTE back into
    the swap entry, and since it is not dirty there is no pageout(): __remove_mapping()
    frees it without I/O (no PSWPOUT). Kernel: mm/vmscan.c:shrink_folio_list()."""
    k = _kernel()
    v, m = _swapped_out(k)
    v.touch(m, write=False)
    folios = _folios(v, m)
    v.madvise(m, MADV_PAGEOUT)
    assert v.status()["RssAnon"] == 0 and v.status()["VmSwap"] == KB
    assert k.vm_events["PSWPOUT"] == NR  # only the first swap-out wrote
    assert k.meminfo()["SwapCached"] == 0
    assert all(f.flags & PG_freed for f in folios)


def test_swapin_read_fault_keeps_the_swap_slot() -> None:
    """While a swapped-in folio sits in the swap cache its slot stays allocated
    (SWAP_HAS_CACHE), so read faults do not change SwapFree. Kernel:
    mm/swap_state.c:__read_swap_cache_async() (swapcache_prepare()),
    mm/memory.c:do_swap_page() (swap_free_nr() drops only the PTE's count)."""
    k = _kernel()
    v, m = _swapped_out(k)
    swap_free = k.meminfo()["SwapFree"]
    v.touch(m, write=False, nr_pages=4)
    assert _swap_map_errors(k) == []
    assert k.meminfo()["SwapFree"] == swap_free


def test_swapin_write_fault_frees_exactly_its_slot() -> None:
    """A write fault frees the page's slot once: SwapFree rises by one page per page
    written. Kernel: mm/memory.c:do_swap_page() -> folio_free_swap()."""
    k = _kernel()
    v, m = _swapped_out(k)
    swap_free = k.meminfo()["SwapFree"]
    v.touch(m, write=True, nr_pages=4)
    assert _swap_map_errors(k) == []
    assert k.meminfo()["SwapFree"] == swap_free + 16


# --- zap and reap --------------------------------------------------------------------------


def test_munmap_frees_swap_slots() -> None:
    """Zapping a swap PTE drops its swap count (free_swap_and_cache_nr()) and the mm's
    MM_SWAPENTS: the slots of a swapped-out mapping are free again after munmap. Kernel:
    mm/memory.c:zap_nonpresent_ptes(), mm/swapfile.c:free_swap_and_cache_nr()."""
    k = _kernel()
    swap_free = k.meminfo()["SwapFree"]
    v, m = _swapped_out(k)
    v.munmap(m)
    assert v.status()["VmSwap"] == 0
    assert k.meminfo()["SwapFree"] == swap_free
    assert _swap_map_errors(k) == []


def test_mrelease_of_swapped_out_victim_frees_swap_slots() -> None:
    """The reaper zaps swap PTEs too: process_mrelease() of a victim whose memory is in
    swap frees every slot and zeroes MM_SWAPENTS. Kernel: mm/oom_kill.c:
    __oom_reap_task_mm() -> unmap_page_range() -> zap_nonpresent_ptes()."""
    k = _kernel()
    swap_free = k.meminfo()["SwapFree"]
    v, _ = _swapped_out(k)
    _reap(k, v)
    mm = v.task.mm
    assert mm is not None and mm.rss_stat == [0, 0, 0, 0]
    assert k.meminfo()["SwapFree"] == swap_free
    assert _swap_map_errors(k) == []


def _swapped_in_victim(k: Kernel) -> tuple[Process, list[Folio]]:
    """A victim whose pages went to swap and came back by read faults (so they sit in the
    swap cache), with the LRU batches drained so only page tables and the swap cache hold
    the folios."""
    v, m = _swapped_out(k)
    v.touch(m, write=False)
    k.lru_add_drain_all()
    folios = _folios(v, m)
    assert len(folios) == NR and all(f.flags & PG_swapcache for f in folios)
    assert k.meminfo()["SwapCached"] == KB
    return v, folios


def test_mrelease_drops_swapped_in_folios_from_the_swap_cache() -> None:
    """At reap time every zapped folio goes through free_swap_cache() before the gather's
    references are dropped: an unmapped swap-cache folio whose slot no PTE uses any more
    leaves the swap cache, so the folios are freed by the reap itself (SwapCached back to
    0). Patch 1 of the series must keep doing this for anonymous (and swap-cache) folios.
    Kernel: mm/swap_state.c:free_pages_and_swap_cache(), free_swap_cache(),
    mm/swapfile.c:folio_free_swap() (docs/sources.md §K5)."""
    k = _kernel()
    v, folios = _swapped_in_victim(k)
    free = _free_pages(k)
    _reap(k, v)
    assert v.status()["RssAnon"] == 0
    assert k.meminfo()["SwapCached"] == 0 and not k.swapper_space.i_pages
    assert all(f.flags & PG_freed for f in folios)
    assert _free_pages(k) == free + NR


def test_mrelease_frees_the_slots_of_swapped_in_folios() -> None:
    """free_swap_cache() at reap time also releases the slots the swap cache held:
    afterwards the swap device is as empty as before the victim swapped. Kernel:
    mm/swap_state.c:swap_cache_del_folio() -> put_swap_folio()."""
    k = _kernel()
    swap_free = k.meminfo()["SwapFree"]
    v, _ = _swapped_in_victim(k)
    _reap(k, v)
    assert _swap_map_errors(k) == []
    assert k.meminfo()["SwapFree"] == swap_free


# --- file pages ---------------------------------------------------------------------------


def test_pageout_clean_private_file_pages_leave_shadows_and_refault() -> None:
    """Clean page-cache folios mapped only by this process are unmapped
    (try_to_unmap_one(): MM_FILEPAGES-1) and removed with a shadow entry
    (__remove_mapping(reclaimed=True) -> workingset_eviction()); cachestat counts them as
    evicted, and reading them again is a refault (WORKINGSET_REFAULT_FILE). Buffer heads
    are released first (filemap_release_folio()). Kernel: mm/vmscan.c:shrink_folio_list(),
    __remove_mapping(), mm/workingset.c:workingset_refault()."""
    k = _kernel()
    f = k.create_file("lib.so", NR, buffer_heads=True)
    v = k.spawn("app")
    m = v.mmap(NR, f, write=False)
    v.touch(m)
    free = _free_pages(k)
    v.madvise(m, MADV_PAGEOUT)
    cs = k.cachestat(f)
    assert v.status()["RssFile"] == 0
    assert cs.nr_cache == 0 and cs.nr_evicted == NR
    assert _free_pages(k) == free + NR
    v.touch(m)
    cs = k.cachestat(f)
    assert v.status()["RssFile"] == KB
    assert cs.nr_cache == NR and cs.nr_evicted == 0
    assert k.vm_events["WORKINGSET_REFAULT_FILE"] == NR


def test_pageout_leaves_page_cache_of_unwritable_files() -> None:
    """A process that could not open the file for writing pages out only the anonymous
    pages of a private file mapping (can_do_file_pageout(): otherwise MADV_PAGEOUT would
    be a side channel on shared libraries). Kernel: mm/madvise.c:can_do_file_pageout(),
    madvise_cold_or_pageout_pte_range() (pageout_anon_only_filter)."""
    k = _kernel()
    f = k.create_file("lib.so", NR)
    v = k.spawn("app", uid=1000)
    m = v.mmap(NR, f, write=True, fd_write=False)
    v.touch(m, nr_pages=8)  # read: page cache
    v.touch(m, write=True, start=8, nr_pages=8)  # write: private anonymous COW copies
    v.madvise(m, MADV_PAGEOUT)
    assert v.status()["RssFile"] == 32 and v.status()["RssAnon"] == 0
    assert v.status()["VmSwap"] == 32
    assert k.cachestat(f).nr_evicted == 0


def test_pageout_skips_folios_mapped_by_another_process() -> None:
    """Only folios this mapping has to itself are taken (folio_mapcount(folio) ==
    folio_nr_pages(folio)): page cache mapped by a second process stays. Kernel:
    mm/madvise.c:madvise_cold_or_pageout_pte_range()."""
    k = _kernel()
    f = k.create_file("lib.so", NR)
    a, b = k.spawn("a"), k.spawn("b")
    # b maps only 8 pages: fault-around (16 pages) is clamped to its VMA
    ma, mb = a.mmap(NR, f, write=False), b.mmap(8, f, write=False)
    a.touch(ma)
    b.touch(mb)
    a.madvise(ma, MADV_PAGEOUT)
    assert a.status()["RssFile"] == 32  # the eight pages b maps too
    assert k.cachestat(f).nr_cache == 8 and k.cachestat(f).nr_evicted == 8


def test_pageout_unmaps_but_keeps_dirty_shared_file_pages() -> None:
    """A dirty PTE dirties the folio when try_to_unmap_one() clears it; reclaim does not
    write file folios, so a dirty one is activated and kept for the flusher (PG_reclaim
    set). The data stays in the page cache. Kernel: mm/rmap.c:try_to_unmap_one(),
    mm/vmscan.c:shrink_folio_list() (folio_is_file_lru() && dirty -> activate_locked)."""
    k = _kernel()
    f = k.create_file("data.db", NR)
    v = k.spawn("app")
    m = v.mmap(NR, f, shared=True)
    v.touch(m, write=True)
    v.madvise(m, MADV_PAGEOUT)
    k.lru_add_drain_all()
    cs = k.cachestat(f)
    assert v.status()["RssFile"] == 0
    assert cs.nr_cache == NR and cs.nr_dirty == NR and cs.nr_evicted == 0
    assert k.meminfo()["Active(file)"] == KB
    assert k.data_loss == []


# --- MADV_COLD ----------------------------------------------------------------------------


def test_madv_cold_deactivates_and_clears_young() -> None:
    """MADV_COLD clears the young bit of each exclusive folio's PTEs and moves an active
    folio to the inactive list (folio_deactivate() -> lru_deactivate(), PGDEACTIVATE),
    without reclaiming anything. Kernel: mm/madvise.c:madvise_cold(),
    mm/swap.c:lru_deactivate()."""
    k = _kernel(swap=False, swap_mib=0)
    v = k.spawn("app")
    m = v.mmap(NR)
    v.touch(m, write=True)
    v.madvise(m, MADV_PAGEOUT)  # no swap: the folios are activated instead
    k.lru_add_drain_all()
    assert k.meminfo()["Active(anon)"] == KB
    v.madvise(m, MADV_COLD)
    mi = k.meminfo()
    assert mi["Active(anon)"] == 0 and mi["Inactive(anon)"] == KB
    assert k.vm_events["PGDEACTIVATE"] == NR
    assert v.status()["RssAnon"] == KB
    assert not any(pte.bits & _PAGE_ACCESSED for pte in _ptes(v, m))  # type: ignore[attr-defined]


# --- cachestat counts every page of an evicted large folio -------------------------------------


def test_pageout_large_file_folio_counts_every_evicted_page() -> None:
    """cachestat's nr_evicted counts pages: a reclaimed folio of 2^n pages leaves a
    multi-index shadow covering all of them. Kernel: mm/filemap.c:filemap_cachestat()
    (nr_pages = 1 << xas_get_order())."""
    k = Kernel(swap_mib=64, large_folios=True, file_folio_order=4, debug_vm=True)
    f = k.create_file("lib.so", NR)
    v = k.spawn("app")
    m = v.mmap(NR, f, write=False)
    v.touch(m)
    v.madvise(m, MADV_PAGEOUT)
    assert k.cachestat(f).nr_cache == 0
    assert k.cachestat(f).nr_evicted == NR
