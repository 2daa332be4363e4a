"""Evicting clean page cache: mapping_evict_folio() and posix_fadvise(POSIX_FADV_DONTNEED).

Kernel: mm/truncate.c (mapping_evict_folio(), mapping_try_invalidate()), mm/vmscan.c
(remove_mapping()), mm/fadvise.c (generic_fadvise()), mm/filemap.c (find_lock_entries())
(docs/sources.md §K6.1; §M0.6, §M1.1).
"""

from __future__ import annotations

import os

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.fs import Inode
from mrelease_ref.include.linux.mm_types import PAGE_SIZE, Folio
from mrelease_ref.include.linux.page_flags import (
    PG_dirty,
    PG_freed,
    PG_lru,
    PG_private,
    PG_private_2,
    PG_writeback,
)
from mrelease_ref.include.linux.sched import TaskStruct
from mrelease_ref.mm.filemap import filemap_grab_folio
from mrelease_ref.mm.swap import folio_put
from mrelease_ref.mm.truncate import mapping_evict_folio
from mrelease_ref.sim.process import Process

DONTNEED = os.POSIX_FADV_DONTNEED
KB_PER_PAGE = PAGE_SIZE // 1024  # /proc/meminfo and status report kB


def _grab(k: Kernel, f: Inode, index: int, task: TaskStruct) -> Folio:
    """Read page ``index`` into the cache and keep the lookup reference (the caller's)."""
    with k.running(task):
        folio = filemap_grab_folio(f.i_mapping, index, swapbacked=False)
    assert folio is not None
    return folio


def _setup(**kw: object) -> tuple[Kernel, Inode, Process]:
    k = Kernel(large_folios=False, **kw)  # type: ignore[arg-type]
    f = k.create_file("data.bin", nr_pages=16)
    app = k.spawn("app", uid=1000, cpu=0)
    return k, f, app


def _limit(folio: Folio) -> int:
    """The most references mapping_evict_folio() tolerates: folio_nr_pages() (the page
    cache) + folio_has_private() + 1 (the caller)."""
    has_private = 1 if folio.flags & (PG_private | PG_private_2) else 0
    return (1 << folio.order) + has_private + 1


# --- mapping_evict_folio ----------------------------------------------------------------------


def test_evict_clean_unmapped_folio_leaves_only_the_callers_reference() -> None:
    """Kernel: mm/truncate.c:mapping_evict_folio() -> mm/vmscan.c:remove_mapping(): a clean
    folio held only by the page cache and the caller is removed; folio_ref_unfreeze(folio, 1)
    leaves just the caller's reference, and no shadow entry is stored (not ``reclaimed``)."""
    k, f, app = _setup()
    folio = _grab(k, f, 2, app.task)
    k.lru_add_drain_all()  # the lru_add batch's pin is gone
    assert folio._refcount == _limit(folio)
    assert mapping_evict_folio(f.i_mapping, folio) == 1 << folio.order
    assert folio._refcount == 1 and folio.mapping is None
    assert k.cachestat(f).nr_cache == 0 and k.cachestat(f).nr_evicted == 0
    with k.running(app.task):
        folio_put(folio)
    assert folio.flags == PG_freed
    k.check()


def test_evict_refuses_a_folio_without_mapping() -> None:
    """Kernel: mm/truncate.c:mapping_evict_folio(): "The page may have been truncated before
    it was locked": a NULL mapping returns 0."""
    k, f, app = _setup()
    folio = _grab(k, f, 0, app.task)
    k.lru_add_drain_all()
    assert mapping_evict_folio(None, folio) == 0
    assert k.cachestat(f).nr_cache == 1


@pytest.mark.parametrize("flag", [PG_dirty, PG_writeback], ids=["dirty", "writeback"])
def test_evict_refuses_dirty_or_writeback(flag: int) -> None:
    """Kernel: mm/truncate.c:mapping_evict_folio(): folio_test_dirty() or
    folio_test_writeback() returns 0: the data is not safely on disk."""
    k, f, app = _setup()
    folio = _grab(k, f, 0, app.task)
    k.lru_add_drain_all()
    folio.flags |= flag
    assert mapping_evict_folio(f.i_mapping, folio) == 0
    assert folio.mapping is f.i_mapping and k.cachestat(f).nr_cache == 1
    folio.flags &= ~flag


def test_evict_refuses_one_reference_too_many() -> None:
    """Kernel: mm/truncate.c:mapping_evict_folio(): folio_ref_count(folio) >
    folio_nr_pages(folio) + folio_has_private(folio) + 1 returns 0 -- any extra holder (a
    mapping, a per-CPU LRU batch, a GUP pin) keeps the folio (docs/sources.md §K6.1)."""
    k, f, app = _setup()
    folio = _grab(k, f, 0, app.task)
    assert folio._refcount == _limit(folio) + 1  # still pinned by the lru_add batch
    assert mapping_evict_folio(f.i_mapping, folio) == 0
    k.lru_add_drain_all()
    assert folio._refcount == _limit(folio)
    assert mapping_evict_folio(f.i_mapping, folio) == 1


def test_evict_refuses_a_mapped_folio() -> None:
    """Kernel: mm/truncate.c:mapping_evict_folio() never tests the mapcount: each PTE holds
    a folio reference, so a mapped folio fails the refcount test (docs/sources.md §K6.1)."""
    k, f, app = _setup()
    m = app.mmap(4, file=f, shared=False)
    app.touch(m, nr_pages=1)
    k.lru_add_drain_all()
    folio = f.i_mapping.i_pages[0]
    folio._refcount += 1  # the caller's reference (find_lock_entries())
    assert folio._mapcount == 1
    assert mapping_evict_folio(f.i_mapping, folio) == 0
    folio._refcount -= 1


def test_evict_large_folio_counts_its_page_cache_references() -> None:
    """Kernel: mm/truncate.c:mapping_evict_folio(): the allowance is folio_nr_pages(), so a
    large folio with only cache + caller references is evicted whole, but a single PTE
    mapping one of its pages already exceeds the limit."""
    k = Kernel(large_folios=True, file_folio_order=4)
    f = k.create_file("big.apk", nr_pages=64)
    app = k.spawn("app", uid=1000, cpu=0)
    folio = _grab(k, f, 0, app.task)
    nr = 1 << folio.order
    assert nr == 1 << k.config.file_folio_order
    assert folio._refcount == nr + 1  # large folios skip the lru_add batch
    folio._refcount += 1  # one PTE maps a page of it
    assert mapping_evict_folio(f.i_mapping, folio) == 0
    folio._refcount -= 1
    assert mapping_evict_folio(f.i_mapping, folio) == nr
    assert folio._refcount == 1


def test_evict_releases_private_data_first() -> None:
    """Kernel: mm/truncate.c:mapping_evict_folio(): the private data's reference is allowed
    for (folio_has_private()), then filemap_release_folio() detaches it (dropping that
    reference) before remove_mapping()."""
    k = Kernel(large_folios=False)
    f = k.create_file("ext4.img", nr_pages=8, buffer_heads=True)
    app = k.spawn("app", uid=1000, cpu=0)
    folio = _grab(k, f, 0, app.task)
    k.lru_add_drain_all()
    assert folio.flags & PG_private and folio.private is not None
    assert folio._refcount == _limit(folio)
    assert mapping_evict_folio(f.i_mapping, folio) == 1
    assert not folio.flags & PG_private and folio.private is None
    assert folio._refcount == 1


def test_evicting_a_folio_held_by_the_lru_batch_keeps_it_on_no_list() -> None:
    """Kernel: mm/vmscan.c:__remove_mapping() freezes the count at exactly 1 + nr_pages; the
    evicted folio's last reference then takes it off the LRU (mm/swap.c:
    __page_cache_release())."""
    k, f, app = _setup()
    folio = _grab(k, f, 5, app.task)
    k.lru_add_drain_all()
    assert folio.flags & PG_lru
    assert mapping_evict_folio(f.i_mapping, folio) == 1
    with k.running(app.task):
        folio_put(folio)
    assert all(folio not in lst for lst in k.lruvec.lists)
    k.check()


# --- posix_fadvise(POSIX_FADV_DONTNEED) --------------------------------------------------------


def _read_and_unmap(p: Process, f: Inode, nr_pages: int) -> None:
    """Fault ``nr_pages`` of ``f`` in through a private mapping, then unmap it: the folios
    stay cached, unmapped, and wait in ``p``'s CPU's lru_add batch."""
    m = p.mmap(nr_pages, file=f, shared=False)
    p.touch(m)
    p.munmap(m)


def test_dontneed_drops_clean_unmapped_cache() -> None:
    """Kernel: mm/fadvise.c:generic_fadvise() POSIX_FADV_DONTNEED: lru_add_drain(), then
    mapping_try_invalidate() over the range: clean, unmapped folios are dropped without
    leaving shadow entries (docs/sources.md §M1.1: nr_evicted stays 0)."""
    k, f, app = _setup(debug_vm=True)
    _read_and_unmap(app, f, f.i_size)
    assert k.cachestat(f).nr_cache == f.i_size
    fd = app.open(f)
    app.posix_fadvise(fd, 0, 0, DONTNEED)
    cs = k.cachestat(f)
    assert cs.nr_cache == 0 and cs.nr_evicted == 0


def test_dontneed_drains_only_the_local_cpu_when_that_suffices() -> None:
    """Kernel: mm/fadvise.c:generic_fadvise(): lru_add_drain() (this CPU) first; the costly
    lru_add_drain_all() runs only if mapping_try_invalidate() reported failures. Another
    CPU's batch is left alone when the local drain was enough."""
    k = Kernel(large_folios=False, nr_cpus=2, debug_vm=True)
    a = k.create_file("a.bin", nr_pages=4)
    b = k.create_file("b.bin", nr_pages=4)
    local = k.spawn("local", uid=1000, cpu=0)
    remote = k.spawn("remote", uid=1000, cpu=1)
    _read_and_unmap(local, a, a.i_size)
    _read_and_unmap(remote, b, b.i_size)
    assert len(k.cpu_fbatches[1].lru_add) == b.i_size
    fd = local.open(a)
    local.posix_fadvise(fd, 0, 0, DONTNEED)
    assert k.cachestat(a).nr_cache == 0
    assert len(k.cpu_fbatches[1].lru_add) == b.i_size  # untouched


def test_dontneed_drains_every_cpu_when_a_remote_batch_pins_a_folio() -> None:
    """Kernel: mm/fadvise.c:generic_fadvise(): "The failures may be due to the folio being in
    the pagevec of a remote CPU. Drain all pagevecs and try again." -- folios pinned by
    another CPU's lru_add batch are dropped on the second pass."""
    k = Kernel(large_folios=False, nr_cpus=2, debug_vm=True)
    f = k.create_file("data.bin", nr_pages=8)
    reader = k.spawn("reader", uid=1000, cpu=1)
    caller = k.spawn("caller", uid=1000, cpu=0)
    _read_and_unmap(reader, f, f.i_size)
    assert len(k.cpu_fbatches[1].lru_add) == f.i_size
    fd = caller.open(f)
    caller.posix_fadvise(fd, 0, 0, DONTNEED)
    assert k.cachestat(f).nr_cache == 0
    assert len(k.cpu_fbatches[1].lru_add) == 0


def test_dontneed_starts_writeback_and_keeps_dirty_pages_cached() -> None:
    """Kernel: mm/fadvise.c:generic_fadvise(): __filemap_fdatawrite_range(WB_SYNC_NONE) only
    *starts* writeback; folios under writeback cannot be invalidated, so they stay cached,
    clean and under writeback until the I/O completes -- and completion does not drop them
    (docs/sources.md §M5 row B3)."""
    k, f, app = _setup(debug_vm=True)
    m = app.mmap(f.i_size, file=f, shared=True)
    app.touch(m, write=True)
    app.munmap(m)
    assert k.cachestat(f).nr_dirty == f.i_size
    fd = app.open(f)
    app.posix_fadvise(fd, 0, 0, DONTNEED)
    cs = k.cachestat(f)
    assert (cs.nr_cache, cs.nr_dirty, cs.nr_writeback) == (f.i_size, 0, f.i_size)
    assert k.meminfo()["Writeback"] == f.i_size * KB_PER_PAGE

    k.run()  # the block-I/O worker completes the writes
    cs = k.cachestat(f)
    assert (cs.nr_cache, cs.nr_dirty, cs.nr_writeback) == (f.i_size, 0, 0)
    app.posix_fadvise(fd, 0, 0, DONTNEED)  # now clean: dropped
    assert k.cachestat(f).nr_cache == 0


def test_dontneed_does_not_drop_mapped_pages() -> None:
    """Kernel: mm/truncate.c:mapping_evict_folio(): a mapped folio carries a reference per
    PTE, so DONTNEED leaves it cached and mapped (docs/sources.md §M0.6: without
    process_mrelease, a frozen killed victim's pages are not droppable)."""
    k, f, app = _setup(debug_vm=True)
    m = app.mmap(f.i_size, file=f, shared=False)
    app.touch(m)
    other = k.spawn("other", uid=1000, cpu=1)
    fd = other.open(f)
    other.posix_fadvise(fd, 0, 0, DONTNEED)
    assert k.cachestat(f).nr_cache == f.i_size
    assert app.status()["RssFile"] == f.i_size * KB_PER_PAGE
    app.munmap(m)
    other.posix_fadvise(fd, 0, 0, DONTNEED)
    assert k.cachestat(f).nr_cache == 0


def test_dontneed_preserves_partial_first_and_last_pages() -> None:
    """Kernel: mm/fadvise.c:generic_fadvise(): "First and last FULL page! Partial pages are
    deliberately preserved": start_index = (offset + PAGE_SIZE - 1) >> PAGE_SHIFT, and
    end_index is decremented unless endbyte ends a page or the file."""
    k, f, app = _setup()
    _read_and_unmap(app, f, f.i_size)
    k.lru_add_drain_all()
    fd = app.open(f)
    app.posix_fadvise(fd, 1, 0, DONTNEED)  # from byte 1: page 0 is partial
    assert 0 in f.i_mapping.i_pages
    assert k.cachestat(f).nr_cache == 1

    _read_and_unmap(app, f, f.i_size)
    k.lru_add_drain_all()
    app.posix_fadvise(fd, 0, 2 * PAGE_SIZE + 1, DONTNEED)  # byte 8192 is a partial page 2
    assert 2 in f.i_mapping.i_pages and 1 not in f.i_mapping.i_pages


def test_dontneed_on_writeback_does_not_drain_remote_cpus() -> None:
    """Kernel: mm/filemap.c:find_lock_entries() skips folios under writeback ("folio->mapping
    != mapping || folio_test_writeback(folio) -> unlock"), so mm/truncate.c:
    mapping_try_invalidate() never sees them and does not count them in nr_failed;
    generic_fadvise() therefore has no reason to call lru_add_drain_all()."""
    k = Kernel(large_folios=False, nr_cpus=2)
    a = k.create_file("a.bin", nr_pages=4)
    b = k.create_file("b.bin", nr_pages=4)
    writer = k.spawn("writer", uid=1000, cpu=0)
    remote = k.spawn("remote", uid=1000, cpu=1)
    m = writer.mmap(a.i_size, file=a, shared=True)
    writer.touch(m, write=True)
    writer.munmap(m)
    _read_and_unmap(remote, b, b.i_size)
    fd = writer.open(a)
    writer.posix_fadvise(fd, 0, 0, DONTNEED)
    assert k.cachestat(a).nr_writeback == a.i_size
    assert len(k.cpu_fbatches[1].lru_add) == b.i_size


def test_dontneed_leaves_large_folios_that_straddle_the_range() -> None:
    """Kernel: mm/filemap.c:find_lock_entries(): "Omit large folio which extends beyond the
    end" (base + nr - 1 > end -> skip), so mm/truncate.c:mapping_try_invalidate() never
    drops pages outside the range it was given; a DONTNEED of the first half of a large
    folio drops nothing."""
    k = Kernel(large_folios=True, file_folio_order=4)
    f = k.create_file("big.bin", nr_pages=2 << 4)
    app = k.spawn("app", uid=1000)
    _read_and_unmap(app, f, f.i_size)
    folio_pages = 1 << k.config.file_folio_order
    assert [fo.order for fo in f.i_mapping.i_pages.values()] == [k.config.file_folio_order] * 2
    fd = app.open(f)
    app.posix_fadvise(fd, 0, folio_pages // 2 * PAGE_SIZE, DONTNEED)
    assert k.cachestat(f).nr_cache == f.i_size
