"""The invariant checker: quiet on states the kernel can reach, loud on each broken one.

The rules are the kernel's own (include/linux/mm.h: "every present user page-table entry is
paired with one folio reference"; mm/filemap.c:filemap_unaccount_folio() warns on dropping
a dirty folio; conservation of pages in mm/page_alloc.c); the checker itself
(mrelease_ref/sim/invariants.py) is not kernel code (docs/sources.md §K6.2).
"""

from __future__ import annotations

import os
import signal

import pytest

from mrelease_ref import InvariantViolation, Kernel
from mrelease_ref.include.linux.mm_types import (
    HPAGE_PMD_NR,
    MM_ANONPAGES,
    Folio,
    MmStruct,
    Pte,
    PteTable,
)
from mrelease_ref.include.linux.mmzone import FolioBatch
from mrelease_ref.include.linux.page_flags import PG_dirty, PG_lru
from mrelease_ref.mm.filemap import __filemap_remove_folio, filemap_free_folio
from mrelease_ref.mm.page_alloc import folio_alloc
from mrelease_ref.mm.swap import folios_put_refs
from mrelease_ref.sim.invariants import check_invariants, leaked_pages
from mrelease_ref.sim.process import Process


def _mm(p: Process) -> MmStruct:
    mm = p.task.mm
    assert mm is not None
    return mm


def _mapped_folios(p: Process) -> list[Folio]:
    out: list[Folio] = []
    for entry in _mm(p).pgd.values():
        if isinstance(entry, PteTable):
            out += [pte.folio for pte in entry if isinstance(pte, Pte) and pte.folio is not None]
    return list(dict.fromkeys(out))


def _busy_machine(**kw: object) -> tuple[Kernel, Process, Process]:
    """lmkd and an app with every kind of memory the model has, all faulted in."""
    k = Kernel(seed=0, debug_vm=True, **kw)  # type: ignore[arg-type]
    f = k.create_file("app.apk", nr_pages=1024)
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    anon = app.mmap(300)
    code = app.mmap(600, file=f, shared=False)
    shm = app.mmap(40, shared=True)
    thp = app.mmap(HPAGE_PMD_NR, thp=True)
    locked = app.mmap(20, locked=True)
    app.touch(anon, write=True)
    app.touch(code)
    app.touch(code, write=True, start=10, nr_pages=5)  # COW copies
    app.touch(shm, write=True)
    app.touch(thp, write=True)
    app.touch(locked, write=True)
    app.clone_thread()
    return k, lmkd, app


def _one_error(k: Kernel, fragment: str, *, only: bool = True) -> None:
    errors = check_invariants(k)
    assert any(fragment in e for e in errors), errors
    if only:
        assert len(errors) == 1, errors
    with pytest.raises(InvariantViolation, match=fragment.split()[0]):
        k.check()


# --- realistic states pass ------------------------------------------------------------------------


@pytest.mark.parametrize("large_folios", [False, True])
def test_checker_is_quiet_through_a_kill_and_reap(large_folios: bool) -> None:
    """Kernel: include/linux/mm.h (one folio reference per present PTE) and the reap path of
    docs/sources.md §K1-§K5:
    every state between faults, kill(), process_mrelease(), the victim's exit and
    the drains is one the kernel can be in (debug_vm re-checks after every call and step)."""
    k, lmkd, app = _busy_machine(large_folios=large_folios)
    assert check_invariants(k) == []
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    assert check_invariants(k) == []
    lmkd.process_mrelease(fd, 0)
    assert check_invariants(k) == []
    while k.step():
        assert check_invariants(k) == []
    k.lru_add_drain_all()
    assert check_invariants(k) == [] and app.state == "dead"


def test_checker_is_quiet_with_a_live_gather_and_lru_batches() -> None:
    """Kernel: mm/mmu_gather.c and mm/swap.c:__folio_batch_add_and_move(): references parked in a
    live mmu_gather and in per-CPU LRU batches are accounted for
    (docs/sources.md §K4, §K6.3): stopping a
    zap half way is a legal state."""
    k, lmkd, app = _busy_machine(large_folios=False)
    lmkd.kill(app.pid, signal.SIGKILL)
    for _ in range(100):  # step the victim into exit_mmap(), between two VMAs
        if k.live_gathers and k.live_gathers[0].local.nr:
            break
        assert k.step()  # the victim's threads (the last one runs exit_mmap())
    assert k.live_gathers and k.live_gathers[0].local.nr
    assert any(fb.lru_add.folios or fb.mlock.folios for fb in k.cpu_fbatches)
    assert check_invariants(k) == []


# --- broken states are caught --------------------------------------------------------------------


@pytest.mark.parametrize("delta", [+1, -1])
def test_refcount_off_by_one_is_caught(delta: int) -> None:
    """Kernel: include/linux/mm.h (folio_get()/folio_put()): each reference has an owner (page
    cache, PTE, batch, gather, bio, private data, pin); one too many or too few is a leak or a
    use-after-free."""
    k, _, app = _busy_machine(large_folios=False)
    _mapped_folios(app)[0]._refcount += delta
    _one_error(k, "refcount")


def test_freed_folio_still_mapped_is_caught() -> None:
    """Kernel: mm/swap.c:folios_put_refs() frees at refcount zero; freeing a folio a PTE still maps
    (dropping the PTE's reference behind the page table's back) is a use-after-free."""
    k, _, app = _busy_machine(large_folios=False)
    k.lru_add_drain_all()
    folio = next(f for f in _mapped_folios(app) if f._refcount == 1 and f.order == 0)
    with k.running(app.task):
        folios_put_refs(FolioBatch([folio]), [folio._refcount])
    # (the rss recount also trips: a freed folio no longer says it is anonymous)
    _one_error(k, "still reachable", only=False)


def test_rss_counter_mismatch_is_caught() -> None:
    """Kernel: mm/memory.c:add_mm_rss_vec(): rss counters change with every PTE set or cleared; a
    counter that disagrees with the page tables is the kernel's "BUG: Bad rss-counter"."""
    k, _, app = _busy_machine(large_folios=False)
    _mm(app).rss_stat[MM_ANONPAGES] -= 1
    _one_error(k, "rss of")


def test_dropping_a_dirty_folio_is_caught_as_data_loss() -> None:
    """Kernel: mm/filemap.c:filemap_unaccount_folio(): removing a dirty folio of a mapping that can
    write back loses data (the kernel WARNs); the checker reports it."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("db", nr_pages=4)
    app = k.spawn("app", uid=1000)
    m = app.mmap(4, file=f, shared=True)
    app.touch(m, write=True, nr_pages=1)
    app.munmap(m)
    k.lru_add_drain_all()
    folio = f.i_mapping.i_pages[0]
    assert folio.flags & PG_dirty and folio._refcount == 1
    with k.running(app.task):
        __filemap_remove_folio(folio, None)  # a buggy invalidation that ignores PG_dirty
        filemap_free_folio(f.i_mapping, folio)
    _one_error(k, "data lost")


def test_leaked_folio_is_caught_by_conservation() -> None:
    """Kernel: mm/page_alloc.c:free_unref_folios(): every page is either free (buddy or a per-CPU
    list) or in a folio someone can reach; an allocated folio nobody holds is a leak."""
    k = Kernel(large_folios=False, debug_vm=True)
    app = k.spawn("app", uid=1000)
    with k.running(app.task):
        assert folio_alloc(k, 2) is not None  # and dropped on the floor
    _one_error(k, "pages not conserved")


def test_folio_on_an_lru_list_without_pg_lru_or_a_batch_is_caught() -> None:
    """Kernel: mm/swap.c:folio_batch_move_lru(): a folio on an LRU list has PG_lru, unless it was
    isolated -- and an isolated folio is held by whoever isolated it (here: a per-CPU batch);
    otherwise it is lost to reclaim."""
    k, _, app = _busy_machine(large_folios=False)
    k.lru_add_drain_all()
    folio = next(f for f in _mapped_folios(app) if f.flags & PG_lru)
    folio.flags &= ~PG_lru
    _one_error(k, "without PG_lru and no batch")


# --- nothing leaks ------------------------------------------------------------------------


def _everyone_exits(k: Kernel, lmkd: Process, app: Process) -> None:
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, 0)
    lmkd.exit(0)
    k.run()
    assert app.state == "dead" and lmkd.state == "dead"


@pytest.mark.parametrize("large_folios", [False, True])
def test_nothing_leaks_once_everyone_exited_and_caches_are_dropped(large_folios: bool) -> None:
    """Kernel: kernel/fork.c:__mmput() -> mm/mmap.c:exit_mmap(), fs/drop_caches.c ->
    mm/truncate.c:invalidate_mapping_pages(): with every process gone (exit_mmap(), shmem truncated
    at the last fput()), clean page cache dropped (drop_caches -> invalidate_mapping_pages()) and
    LRU batches drained, every page is free again; pages on the per-CPU lists count as free."""
    k, lmkd, app = _busy_machine(large_folios=large_folios)
    _everyone_exits(k, lmkd, app)
    assert leaked_pages(k) > 0  # the clean page cache is still there
    k.drop_caches()
    k.lru_add_drain_all()
    assert leaked_pages(k) == 0
    assert k.meminfo()["Cached"] == 0 and k.meminfo()["Mlocked"] == 0


def test_nothing_leaks_after_dirty_data_is_written_back() -> None:
    """Kernel: mm/truncate.c:mapping_evict_folio() refuses dirty folios: dirty file pages survive
    drop_caches until written back (mm/truncate.c:mapping_evict_folio() refuses dirty folios); once
    fadvise(DONTNEED) has started the writeback and the I/O completed, they drop like any clean
    page."""
    k, lmkd, app = _busy_machine(large_folios=False)
    db = k.create_file("app.db", nr_pages=32)
    m = app.mmap(32, file=db, shared=True)
    app.touch(m, write=True)
    _everyone_exits(k, lmkd, app)
    k.drop_caches()
    k.lru_add_drain_all()
    assert leaked_pages(k) == db.i_size  # the dirty pages stay
    writer = k.spawn("writer")
    fd = writer.open(db)
    writer.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    writer.exit(0)
    k.run()
    k.drop_caches()
    k.lru_add_drain_all()
    assert leaked_pages(k) == 0


def test_sync_then_drop_caches_leaves_nothing() -> None:
    """Kernel: fs/sync.c:ksys_sync() writes back every dirty page and waits; afterwards drop_caches
    can drop the whole page cache."""
    k = Kernel(large_folios=False, debug_vm=True)
    db = k.create_file("app.db", nr_pages=16)
    app = k.spawn("app", uid=1000)
    m = app.mmap(16, file=db, shared=True)
    app.touch(m, write=True)
    app.exit(0)
    k.run()
    k.sync()
    k.drop_caches()
    k.lru_add_drain_all()
    assert leaked_pages(k) == 0
