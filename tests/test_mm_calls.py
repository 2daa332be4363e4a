"""madvise(), mprotect(), mlock(), memfd_create(), mincore() and smaps on the model.

Each test states the v6.18 rule it checks and where it comes from; the values the live
kernel gives for the same calls are in tests/test_calls_parity.py.
"""

from __future__ import annotations

import errno

import pytest
from _support import errno_of

from mrelease_ref import Kernel
from mrelease_ref.mm import madvise as madv
from mrelease_ref.mm.mprotect import PROT_READ, PROT_WRITE
from mrelease_ref.sim.process import Process


def _kernel() -> tuple[Kernel, Process]:
    k = Kernel(variant="baseline", seed=0, debug_vm=True)
    return k, k.spawn("app", uid=0)



def test_madvise_hole_is_enomem_but_the_mapped_parts_are_advised() -> None:
    """mm/madvise.c:madvise_walk_vmas(): a gap in the range sets -ENOMEM and the walk goes
    on, so both mappings around the gap are zapped by MADV_DONTNEED."""
    _k, p = _kernel()
    a, b = p.mmap(16), p.mmap(16)
    p.touch(a, write=True)
    p.touch(b, write=True)
    assert b.start > a.end  # the model leaves a one-page hole between mappings
    assert errno_of(p.madvise, a.start, madv.MADV_DONTNEED, length=b.end - a.start) == errno.ENOMEM
    assert p.status()["RssAnon"] == 0


def test_madvise_error_in_one_vma_stops_the_walk() -> None:
    """mm/madvise.c:madvise_walk_vmas(): a VMA's own error returns at once; MADV_DONTNEED
    on a VM_LOCKED VMA is EINVAL (madvise_dontneed_free_valid_vma()), the VMA after it is
    not advised."""
    _k, p = _kernel()
    a = p.mmap(16, locked=True)
    b = p.mmap(16)
    p.touch(b, write=True)
    assert errno_of(p.madvise, a.start, madv.MADV_DONTNEED, length=b.end - a.start) == errno.EINVAL
    assert p.status()["RssAnon"] == 32 * 4


def test_madvise_argument_checks() -> None:
    """mm/madvise.c:is_valid_madvise(): unknown advice or unaligned start is EINVAL; a valid
    advice the model does not carry out is a ValueError, not a wrong errno."""
    _k, p = _kernel()
    a = p.mmap(16)
    assert errno_of(p.madvise, a, 6) == errno.EINVAL
    assert errno_of(p.madvise, a.start + 1, madv.MADV_COLD, length=4096) == errno.EINVAL
    with pytest.raises(ValueError, match="not modelled"):
        p.madvise(a, madv.MADV_WILLNEED)


def test_madvise_free_on_a_file_is_einval_and_a_rewrite_keeps_the_page() -> None:
    """mm/madvise.c:madvise_free_single_vma(): FREE is for private anonymous VMAs only.
    mm/rmap.c:try_to_unmap_one(): a lazyfree folio written again is made swapbacked and
    kept; clean ones are discarded without swap."""
    k, p = _kernel()
    f = k.create_file("f", 16)
    fm = p.mmap(16, file=f)
    assert errno_of(p.madvise, fm, madv.MADV_FREE) == errno.EINVAL
    a = p.mmap(64)
    p.touch(a, write=True)
    p.madvise(a, madv.MADV_FREE)
    assert p.smaps()[-1]["LazyFree"] == 64 * 4
    p.touch(a, write=True, nr_pages=8)
    p.madvise(a, madv.MADV_PAGEOUT)
    assert p.status()["RssAnon"] == 8 * 4
    assert k.vm_events.get("PGLAZYFREED") == 56


def test_pageout_of_a_pmd_mapped_file_folio() -> None:
    """mm/madvise.c:madvise_cold_or_pageout_pte_range(), PMD branch: an exclusive PMD-mapped
    file folio the range covers whole is isolated and reclaimed (split with
    TTU_SPLIT_HUGE_PMD, evicted); one another mm maps too (folio_maybe_mapped_shared()) is
    left alone. FilePmdMapped in smaps and meminfo follows. MADV_HUGEPAGE makes the faults
    read PMD-order folios (mm/filemap.c:do_sync_mmap_readahead())."""
    k, p = _kernel()
    f = k.create_file("big", 1024)
    m = p.mmap(1024, file=f)
    p.madvise(m, madv.MADV_HUGEPAGE)
    p.touch(m)
    assert k.meminfo()["FilePmdMapped"] == 4096
    assert p.smaps()[-1]["FilePmdMapped"] == 4096
    q = k.spawn("other", uid=0)
    q.touch(q.mmap(512, file=f))  # shares the first 2 MiB folio
    p.madvise(m, madv.MADV_PAGEOUT)
    assert p.status()["RssFile"] == 2048
    assert k.cachestat(f).nr_evicted == 512
    assert k.meminfo()["FilePmdMapped"] == 2048  # the shared folio, counted once per folio


def test_mprotect_rules() -> None:
    """mm/mprotect.c:do_mprotect_pkey(): unaligned start EINVAL; PROT_WRITE on a MAP_SHARED
    mapping of a read-only fd is EACCES (no VM_MAYWRITE); a hole is ENOMEM after the VMAs
    before it changed. arch/x86/mm/fault.c:access_error(): a write to a read-only VMA is
    SIGSEGV."""
    from mrelease_ref.include.linux.sched import sigmask
    from mrelease_ref.kernel.signal import SIGSEGV

    k, p = _kernel()
    f = k.create_file("ro", 16)
    ro = p.mmap(16, file=f, shared=True, write=False, fd_write=False)
    assert errno_of(p.mprotect, ro, PROT_READ | PROT_WRITE) == errno.EACCES
    a, b = p.mmap(16), p.mmap(16)
    assert errno_of(p.mprotect, a.start + 1, PROT_READ, length=4096) == errno.EINVAL
    assert errno_of(p.mprotect, a.start, PROT_READ, length=b.end - a.start) == errno.ENOMEM
    assert [r["perms"] for r in p.smaps()[-2:]] == ["r--p", "rw-p"]
    assert p.touch(a, write=True) == 0
    assert (p.task.pending | p.task.signal.shared_pending) & sigmask(SIGSEGV)


def test_mlock_limits_and_munlock() -> None:
    """mm/mlock.c:do_mlock(): without CAP_IPC_LOCK more than RLIMIT_MEMLOCK (8 MiB) is
    ENOMEM; mlock populates and moves the pages to the unevictable list; munlock puts them
    back on the evictable LRU (Mlocked and Unevictable back to 0)."""
    k, p = _kernel()
    user = k.spawn("user", uid=1000, caps=frozenset())
    big = user.mmap(4096)
    assert errno_of(user.mlock, big) == errno.ENOMEM
    m = p.mmap(256)
    p.mlock(m)
    k.lru_add_drain_all()
    assert p.status()["RssAnon"] == 1024
    assert k.meminfo()["Mlocked"] == 1024 and k.meminfo()["Unevictable"] == 1024
    p.munlock(m)
    k.lru_add_drain_all()
    assert k.meminfo()["Mlocked"] == 0 and k.meminfo()["Unevictable"] == 0
    assert len(p.smaps()) == 1


def test_memfd_create_and_ftruncate() -> None:
    """mm/memfd.c: an unknown flag or a name over 249 bytes is EINVAL; fs/open.c:
    do_ftruncate(): a bad fd is EBADF, a negative length EINVAL. A MAP_PRIVATE mapping of
    a memfd maps shmem pages and copies written ones; closing the last reference frees
    the pages."""
    k, p = _kernel()
    assert errno_of(p.memfd_create, "x", 0x100) == errno.EINVAL
    assert errno_of(p.memfd_create, "x" * 250) == errno.EINVAL
    fd = p.memfd_create("ok")
    assert errno_of(p.ftruncate, 99, 4096) == errno.EBADF
    assert errno_of(p.ftruncate, fd, -1) == errno.EINVAL
    p.ftruncate(fd, 16 * 4096)
    m = p.mmap_fd(fd, 16, shared=False)
    p.touch(m)
    p.touch(m, write=True, nr_pages=4)
    assert p.status()["RssShmem"] == 12 * 4 and p.status()["RssAnon"] == 4 * 4
    assert k.meminfo()["Shmem"] == 16 * 4
    p.munmap(m)
    p.close(fd)
    assert k.meminfo()["Shmem"] == 0


def test_mincore_rules() -> None:
    """mm/mincore.c: an unaligned start is EINVAL, a hole ENOMEM; an unmapped page of a
    file VMA reads as resident while the page cache holds it."""
    k, p = _kernel()
    f = k.create_file("f", 16)
    m = p.mmap(16, file=f)
    assert p.mincore(m) == [0] * 16
    p.touch(m, nr_pages=1)  # one 16-page folio read in, one page mapped
    assert p.mincore(m) == [1] * 16
    assert errno_of(p.mincore, m.start + 1, length=4096) == errno.EINVAL
    assert errno_of(p.mincore, m.start, length=(m.nr_pages + 2) * 4096) == errno.ENOMEM


def test_splitting_inside_an_anonymous_thp_is_refused() -> None:
    """mm/huge_memory.c:vma_adjust_trans_huge() would split the PMD; the model does not split
    anonymous THPs and says so instead of corrupting state."""
    _k, p = _kernel()
    m = p.mmap(512, thp=True)
    p.touch(m, write=True)
    with pytest.raises(ValueError, match="anonymous THP"):
        p.mprotect(m, PROT_READ, start=0, nr_pages=16)


def test_mlockall_locks_every_vma_and_checks_flags() -> None:
    """mm/mlock.c:SYSCALL_DEFINE1(mlockall): no flags or unknown flags are EINVAL;
    MCL_CURRENT locks and populates every VMA (smaps Locked = Size)."""
    from mrelease_ref.mm.mlock import MCL_CURRENT

    k, p = _kernel()
    a, b = p.mmap(32), p.mmap(16)
    assert errno_of(p.mlockall, 0) == errno.EINVAL
    assert errno_of(p.mlockall, 0x40) == errno.EINVAL
    p.mlockall(MCL_CURRENT)
    k.lru_add_drain_all()
    assert [(r["Locked"], r["Rss"], r["Size"]) for r in p.smaps()] == [(128, 128, 128),
                                                                        (64, 64, 64)]
    assert k.meminfo()["Mlocked"] == 48 * 4
    assert a.nr_pages + b.nr_pages == 48


def test_smaps_shares_pss_between_two_mappers() -> None:
    """fs/proc/task_mmu.c:smaps_account(): a page-cache page mapped by two processes is
    Shared_Clean and its Pss is half its size in each."""
    k, p = _kernel()
    f = k.create_file("s", 4)
    q = k.spawn("q", uid=0)
    mp, mq = p.mmap(4, file=f), q.mmap(4, file=f)
    p.touch(mp)
    q.touch(mq)
    row = p.smaps()[-1]
    assert (row["Rss"], row["Shared_Clean"], row["Private_Clean"], row["Pss"]) == (16, 16, 0, 8)


def test_reclaim_finds_folios_in_every_part_of_a_split_vma() -> None:
    """mm/vma.c:__split_vma(): both parts keep the anon_vma, so the rmap walk of
    try_to_unmap() (mm/rmap.c) reaches folios on either side: MADV_FREE + MADV_PAGEOUT
    discards all the clean lazyfree pages of a mapping split by MADV_RANDOM."""
    k, p = _kernel()
    a = p.mmap(64)
    p.touch(a, write=True)
    p.madvise(a, madv.MADV_RANDOM, start=0, nr_pages=32)
    assert len(p.smaps()) == 2
    p.madvise(a, madv.MADV_FREE)
    p.madvise(a, madv.MADV_PAGEOUT)
    assert p.status()["RssAnon"] == 0
    assert k.vm_events.get("PGLAZYFREED") == 64


def test_lazyfree_thp_is_discarded_whole_unless_written_again() -> None:
    """mm/huge_memory.c:madvise_free_huge_pmd() marks an exclusive THP lazyfree;
    __discard_anon_folio_pmd_locked() drops a clean one's PMD whole (with its deposited page
    table) and keeps one whose PMD was dirtied again."""
    k, p = _kernel()
    m = p.mmap(1024, thp=True)
    p.touch(m, write=True)
    tables = k.meminfo()["PageTables"]
    p.madvise(m, madv.MADV_FREE)
    p.touch(m, write=True, nr_pages=1)
    p.madvise(m, madv.MADV_PAGEOUT)
    assert p.status()["RssAnon"] == 2048
    assert k.vm_events.get("PGLAZYFREED") == 512
    assert k.meminfo()["PageTables"] == tables - 4


def test_pageout_of_part_of_a_large_file_folio_unmaps_all_of_it() -> None:
    """mm/madvise.c:madvise_cold_or_pageout_pte_range(): a large folio only partly in the
    range is split first; a split page-cache folio is unmapped everywhere
    (mm/huge_memory.c:unmap_folio()) and not mapped back, so the whole 2 MiB leaves RSS and
    nothing is evicted (live: tests/test_calls_parity.py, pageout-file-pmd-partial). The
    fixed-order model (``file_folio_order=9``) reads the file as one 2 MiB folio."""
    k = Kernel(variant="baseline", seed=0, debug_vm=True, file_folio_order=9)
    p = k.spawn("app", uid=0)
    f = k.create_file("big", 512)
    m = p.mmap(512, file=f)
    p.madvise(m, madv.MADV_NOHUGEPAGE)  # PTE-mapped
    p.touch(m)
    k.lru_add_drain_all()
    p.madvise(m, madv.MADV_PAGEOUT, start=0, nr_pages=16)
    assert p.status()["RssFile"] == 0
    assert k.cachestat(f).nr_cache == 512 and k.cachestat(f).nr_evicted == 0


def test_munmap_of_zero_pages_is_einval_and_unmaps_nothing() -> None:
    """mm/vma.c:do_vmi_munmap() (v6.18): ``end = start + PAGE_ALIGN(len)``; ``end == start``
    returns -EINVAL before any VMA is looked at. Found by a random walk: the model split the
    VMA at its own start and died on an assertion."""
    _k, p = _kernel()
    m = p.mmap(nr_pages=8)
    p.touch(m, write=True)
    rss = p.status()["VmRSS"]
    for start in (0, 3):
        assert errno_of(p.munmap, m, start=start, nr_pages=0) == errno.EINVAL
    assert p.status()["VmRSS"] == rss
    p.munmap(m, start=3, nr_pages=1)  # a one-page hole still works after the refusals
    assert p.status()["VmRSS"] == rss - 4
