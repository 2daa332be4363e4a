"""fork() with copy-on-write, and the write faults that break the sharing.

Kernel (v6.18): kernel/fork.c (copy_process(), dup_mm()), mm/mmap.c (dup_mmap()),
mm/memory.c (vma_needs_copy(), copy_page_range(), copy_present_ptes(),
__copy_present_ptes(), copy_present_page(), copy_nonpresent_pte(), do_wp_page(),
wp_can_reuse_anon_folio(), wp_page_copy(), do_swap_page(), should_try_to_free_swap()),
mm/huge_memory.c (copy_huge_pmd(), do_huge_pmd_wp_page(), __split_huge_pmd_locked()),
mm/rmap.c (anon_vma_fork(), folio_try_dup_anon_rmap_ptes()).
"""

from __future__ import annotations

import errno
import signal

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.mm_types import (
    _PAGE_RW,
    HPAGE_PMD_NR,
    VM_LOCKED,
    AnonVma,
    Folio,
    Pmd,
    Pte,
    PteTable,
    SwpEntry,
)
from mrelease_ref.include.linux.page_flags import PG_anon_exclusive
from mrelease_ref.include.linux.rwsem import down_read_trylock, mmap_read_unlock
from mrelease_ref.kernel.fork import ERESTARTNOINTR, copy_process
from mrelease_ref.mm.rmap import rmap_vmas
from mrelease_ref.sim.process import Mapping, Process
from tests._support import mm_of, small_kernel, vma_of


def _pte(p: Process, m: Mapping, page: int) -> Pte | SwpEntry | None:
    addr = m.start + (page << 12)
    table = mm_of(p).pgd.get(addr >> 21)
    assert isinstance(table, PteTable)
    return table[(addr >> 12) & 511]


def _folio(p: Process, m: Mapping, page: int) -> Folio:
    pte = _pte(p, m, page)
    assert isinstance(pte, Pte) and pte.folio is not None
    return pte.folio


def _free(k: Kernel) -> int:
    return k.zoneinfo()["free_with_pcp"]


def _parent(k: Kernel, nr: int = 16) -> tuple[Process, Mapping]:
    p = k.spawn("parent", uid=0)
    m = p.mmap(nr)
    p.touch(m, write=True)
    k.lru_add_drain_all()
    return p, m


def test_fork_shares_every_anon_page_write_protected() -> None:
    """Rule: fork() maps each private anonymous page into the child too -- one more
    mapping and reference, no new page -- and write-protects the PTE on both sides
    (is_cow_mapping() && pte_write()); the child's PTE starts old; PageAnonExclusive is
    cleared. Source: mm/memory.c:copy_present_ptes(), __copy_present_ptes();
    include/linux/rmap.h:folio_try_dup_anon_rmap_ptes()."""
    k = small_kernel("baseline")
    p, m = _parent(k)
    folio = _folio(p, m, 3)
    assert folio.flags & PG_anon_exclusive
    ref, free = folio._refcount, _free(k)
    c = p.fork("child")
    assert c.status()["RssAnon"] == p.status()["RssAnon"] == 16 * 4
    assert _free(k) == free  # page tables are a counter only: no page allocated
    assert _folio(c, m, 3) is folio
    assert folio._mapcount == 2 and folio._refcount == ref + 1
    assert not folio.flags & PG_anon_exclusive
    for proc in (p, c):
        pte = _pte(proc, m, 3)
        assert isinstance(pte, Pte) and not pte.bits & _PAGE_RW
    assert vma_of(c, m) in rmap_vmas(folio)


def test_child_write_copies_one_page_with_its_contents() -> None:
    """Rule: a write to a page fork() left shared copies it (do_wp_page() ->
    wp_page_copy(), copy_user_highpage()): one new page, the child sees the parent's
    content, then its own; the parent's page and content stay. RssAnon of the child does
    not change (the shared page is replaced by its copy). Source: mm/memory.c."""
    k = small_kernel("baseline")
    p, m = _parent(k)
    before = p.peek(m, 5)
    c = p.fork("child")
    assert c.peek(m, 5) == before
    free = _free(k)
    new = c.poke(m, 5)
    assert _free(k) == free - 1
    assert c.peek(m, 5) == new and p.peek(m, 5) == before
    assert c.status()["RssAnon"] == p.status()["RssAnon"] == 64
    assert _folio(c, m, 5) is not _folio(p, m, 5)
    assert _folio(p, m, 5)._mapcount == 1


def test_parent_reuses_its_page_once_the_child_copied() -> None:
    """Rule: after the child's copy, the parent's page has one mapping and one reference:
    wp_can_reuse_anon_folio() lets the parent's write reuse it (no copy), and marks it
    PageAnonExclusive again. Source: mm/memory.c:do_wp_page(), wp_can_reuse_anon_folio()."""
    k = small_kernel("baseline")
    p, m = _parent(k)
    c = p.fork("child")
    c.poke(m, 2)
    k.lru_add_drain_all()
    folio = _folio(p, m, 2)
    free = _free(k)
    p.poke(m, 2)
    assert _folio(p, m, 2) is folio and _free(k) == free
    assert folio.flags & PG_anon_exclusive


def test_parent_write_while_shared_copies_in_the_parent() -> None:
    """Rule: COW is symmetric -- the parent's write to a page the child still maps copies
    it in the parent, and the child keeps the original. Source: mm/memory.c:do_wp_page()."""
    k = small_kernel("baseline")
    p, m = _parent(k)
    c = p.fork("child")
    orig = _folio(p, m, 1)
    old = c.peek(m, 1)
    p.poke(m, 1)
    assert _folio(c, m, 1) is orig and _folio(p, m, 1) is not orig
    assert c.peek(m, 1) == old


def test_file_vma_without_anon_pages_is_not_copied() -> None:
    """Rule: vma_needs_copy() is false for a VMA without anon_vma (and not PFNMAP): fork()
    copies no page tables for a read-only private or a shared file mapping; the child
    faults them in. A private file VMA with COW pages has an anon_vma: its file PTEs and
    its anonymous copies are copied. Source: mm/memory.c:vma_needs_copy()."""
    k = small_kernel("baseline")
    f = k.create_file("lib", 8)
    g = k.create_file("data", 8)
    p = k.spawn("parent", uid=0)
    ro = p.mmap(8, file=f, shared=False, write=False)
    sh = p.mmap(8, file=g, shared=True)
    cow = p.mmap(8, file=f, shared=False)
    for m in (ro, sh, cow):
        p.touch(m)
    p.touch(cow, write=True, nr_pages=2)
    c = p.fork("child")
    assert mm_of(c).pgd.get(ro.start >> 21) is None or _pte(c, ro, 0) is None
    assert _pte(c, sh, 0) is None
    assert isinstance(_pte(c, cow, 0), Pte) and isinstance(_pte(c, cow, 7), Pte)
    st = c.status()
    assert st["RssAnon"] == 8 and st["RssFile"] == 6 * 4


def test_swap_entries_are_shared_and_swapin_write_copies() -> None:
    """Rule: a swapped-out page is shared by copying its swap entry (swap_duplicate(): two
    references to the slot). Swapping it in for a write in one process cannot take the
    swap-cache page (the other's PTE still refers to the slot): the fault maps it
    read-only and do_wp_page() copies; the other process later reads the original data.
    Source: mm/memory.c:copy_nonpresent_pte(), do_swap_page(), should_try_to_free_swap()."""
    from mrelease_ref.mm.madvise import MADV_PAGEOUT

    k = small_kernel("baseline", swap_mib=16)
    p, m = _parent(k, 4)
    data = p.peek(m, 0)
    p.madvise(m, MADV_PAGEOUT)
    entry = _pte(p, m, 0)
    assert isinstance(entry, SwpEntry)
    c = p.fork("child")
    assert _pte(c, m, 0) == entry
    assert k.swap_info is not None and k.swap_info.swap_map[entry.offset] == 2
    assert c.status()["VmSwap"] == 16
    new = c.poke(m, 0)
    assert p.peek(m, 0) == data and c.peek(m, 0) == new
    assert _folio(p, m, 0) is not _folio(c, m, 0)


def test_mlock_is_not_inherited() -> None:
    """Rule: dup_mmap() clears VM_LOCKED_MASK in the child's VMA; the parent's pages stay
    mlocked. Source: mm/mmap.c:dup_mmap() (vm_flags_clear(tmp, VM_LOCKED_MASK))."""
    k = small_kernel("baseline")
    p = k.spawn("parent", uid=0)
    m = p.mmap(8, locked=True)
    c = p.fork("child")
    assert vma_of(p, m).vm_flags & VM_LOCKED and not vma_of(c, m).vm_flags & VM_LOCKED
    assert c.status()["RssAnon"] == 32


def test_anon_thp_is_shared_by_pmd_and_split_on_write() -> None:
    """Rule: copy_huge_pmd() shares an anonymous THP with one write-protected PMD in each
    mm. A write to it while shared splits that mm's PMD into PTEs (do_huge_pmd_wp_page()
    -> __split_huge_pmd()) and copies only the written 4 KiB page; the other mm keeps its
    PMD. Once nobody else maps the THP, a write reuses it whole. Source:
    mm/huge_memory.c:copy_huge_pmd(), do_huge_pmd_wp_page()."""
    k = Kernel(debug_vm=True)
    p = k.spawn("parent", uid=0)
    m = p.mmap(HPAGE_PMD_NR, thp=True)
    p.touch(m, write=True)
    idx = m.start >> 21
    thp = mm_of(p).pgd[idx]
    assert isinstance(thp, Pmd) and thp.folio is not None
    c = p.fork("child")
    cp = mm_of(c).pgd[idx]
    assert isinstance(cp, Pmd) and cp.folio is thp.folio and not cp.bits & _PAGE_RW
    assert not thp.bits & _PAGE_RW
    free = _free(k)
    data = p.peek(m, 7)
    c.poke(m, 7)
    assert _free(k) == free - 1
    assert isinstance(mm_of(c).pgd[idx], PteTable) and mm_of(p).pgd[idx] is thp
    assert p.peek(m, 7) == data and c.peek(m, 6) == data
    assert c.status()["RssAnon"] == p.status()["RssAnon"] == HPAGE_PMD_NR * 4
    lmkd = k.spawn("lmkd")
    lmkd.kill(c.pid, signal.SIGKILL)
    k.run()
    p.waitpid(c.pid)
    free = _free(k)
    p.poke(m, 9)
    assert mm_of(p).pgd[idx] is thp and thp.bits & _PAGE_RW and _free(k) == free


def test_fork_with_a_signal_pending_restarts() -> None:
    """Rule: copy_process() gives up with -ERESTARTNOINTR while a signal is pending in the
    caller ("Force any signals received before this point to be delivered before the fork
    happens"): no child, no mm. Source: kernel/fork.c:copy_process()."""
    from mrelease_ref.kernel.sched import run_to_completion

    k = small_kernel("baseline")
    p, _ = _parent(k)
    mms = len(k.mms)
    p.task.sigpending = True
    assert run_to_completion(copy_process(p.task, "child")) == -ERESTARTNOINTR
    assert len(k.mms) == mms


def test_fatal_signal_during_the_copy_fails_the_fork_with_eintr() -> None:
    """Rule: a SIGKILL that arrives while dup_mmap() waits for the parent's mmap lock
    stops the copy ("Don't duplicate many vmas if we've been oom-killed") and
    copy_process() returns -EINTR; the half-copied mm is torn down (mmput()), so no page
    leaks. Source: mm/mmap.c:dup_mmap(); kernel/fork.c:copy_process(), dup_mm()."""
    k = small_kernel("baseline")
    p, _m = _parent(k)
    mm = mm_of(p)
    mms, free = len(k.mms), _free(k)
    assert down_read_trylock(mm.mmap_lock)  # a reader (say, a reaper) holds the lock
    work = k.start(p.task, copy_process(p.task, "child"), "fork")
    k.step(p.task)
    assert not work.done  # asleep in mmap_write_lock()
    lmkd = k.spawn("lmkd")
    lmkd.kill(p.pid, signal.SIGKILL)
    mmap_read_unlock(mm)
    k.run()
    assert work.done and work.value == -errno.EINTR
    assert len(k.mms) <= mms and _free(k) >= free


def test_process_fork_api() -> None:
    """The Process API: fork() names the child, setuid() only for root, waits like a child
    (waitpid), raises EINTR while a signal is pending; a child of a child forks again and
    every copy stays consistent (the invariant checker runs after each call)."""
    k = small_kernel("baseline")
    p, m = _parent(k, 4)
    c = p.fork()
    assert c.comm == "parent" and c.task.cred.uid == 0
    app = p.fork("app", uid=10001)
    assert app.task.cred.uid == 10001 and not app.task.cred.caps
    with pytest.raises(ValueError, match="only root"):
        app.fork(uid=0)
    g = app.fork("grandchild")
    g.poke(m, 0)
    assert p.peek(m, 0) == c.peek(m, 0) == app.peek(m, 0) != g.peek(m, 0)
    assert isinstance(_folio(g, m, 0).mapping, AnonVma)
    with pytest.raises(TypeError):
        p.fork(3)  # type: ignore[arg-type]
    p.task.sigpending = True
    with pytest.raises(OSError) as e:
        p.fork("late")
    assert e.value.errno == errno.EINTR
    p.task.sigpending = False
    lmkd = k.spawn("lmkd")
    for proc in (g, app, c):
        lmkd.kill(proc.pid, signal.SIGKILL)
    k.run()
    p.waitpid(c.pid)
    p.waitpid(app.pid)


def test_dontcopy_and_wipeonfork_vmas() -> None:
    """Rule: dup_mmap() skips a VM_DONTCOPY VMA (the child has no such mapping); a
    VM_WIPEONFORK VMA is copied empty, with no anon_vma, so the child reads zeros there.
    The child's mm has one user (its own task). Source: mm/mmap.c:dup_mmap();
    kernel/fork.c:dup_mm() -> mm_alloc()."""
    from mrelease_ref.include.linux.mm_types import VM_DONTCOPY, VM_WIPEONFORK

    k = small_kernel("baseline")
    p = k.spawn("parent", uid=0)
    keep, gone, wipe = p.mmap(2), p.mmap(2), p.mmap(2)
    for m in (keep, gone, wipe):
        p.touch(m, write=True)
    vma_of(p, gone).vm_flags |= VM_DONTCOPY
    vma_of(p, wipe).vm_flags |= VM_WIPEONFORK
    users = mm_of(p).mm_users
    c = p.fork("child")
    assert mm_of(c).mm_users == 1 and mm_of(p).mm_users == users
    assert [v.vm_start for v in mm_of(c).mm_mt] == [keep.start, wipe.start]
    assert vma_of(c, wipe).anon_vma is None and c.peek(wipe, 0) == 0
    assert c.peek(keep, 0) == p.peek(keep, 0) != 0
    assert c.status()["RssAnon"] == 8


def test_a_file_pmd_is_never_copied() -> None:
    """Rule: copy_huge_pmd() skips a PMD that maps a page-cache folio ("Skip if can be
    re-fill on fault": the child's VMA is not anonymous), even in a private file VMA that
    has an anon_vma and therefore gets its PTEs copied; the child faults the folio in again.
    Source: mm/huge_memory.c:copy_huge_pmd(). (The live kernel's small test files are
    read in folios below PMD size, so no parity row shows this.)"""
    k = Kernel(debug_vm=True, file_folio_order=9)  # 2 MiB page-cache folios, one PMD each
    f = k.create_file("big", 2 * HPAGE_PMD_NR)
    p = k.spawn("parent", uid=0)
    m = p.mmap(2 * HPAGE_PMD_NR, file=f, shared=False)
    p.touch(m)
    p.touch(m, write=True, nr_pages=HPAGE_PMD_NR)  # splits the first PMD, COWs its pages
    assert isinstance(mm_of(p).pgd[(m.start >> 21) + 1], Pmd)
    c = p.fork("child")
    assert (m.start >> 21) + 1 not in mm_of(c).pgd
    assert c.status()["RssFile"] == 0 and c.status()["RssAnon"] == p.status()["RssAnon"]


def test_a_pinned_exclusive_page_is_copied_at_fork() -> None:
    """Rule: an exclusive anonymous page that may be pinned (GUP, e.g. for DMA) cannot be
    shared: folio_try_dup_anon_rmap_pte() refuses and fork() gives the child its own copy
    at once (copy_present_page()), with the same contents; the parent's PTE stays writable
    and its page exclusive. Source: mm/memory.c:copy_present_ptes(), copy_present_page();
    include/linux/rmap.h:__folio_try_dup_anon_rmap()."""
    k = small_kernel("baseline")
    p, m = _parent(k, 2)
    pinned = _folio(p, m, 0)
    pinned._pincount += 1  # pin_user_pages(): one pin, one reference
    pinned._refcount += 1
    data = p.peek(m, 0)
    free = _free(k)
    c = p.fork("child")
    assert _free(k) == free - 1
    assert _folio(c, m, 0) is not pinned and c.peek(m, 0) == data
    pte = _pte(p, m, 0)
    assert isinstance(pte, Pte) and pte.bits & _PAGE_RW
    assert pinned.flags & PG_anon_exclusive and pinned._mapcount == 1
    assert _folio(c, m, 1) is _folio(p, m, 1)  # the unpinned page is shared as usual
