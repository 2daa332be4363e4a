"""mmu_gather: encoded pages, batch growth, chunked freeing, TLB-before-free, delayed rmap.

Kernel: mm/mmu_gather.c, include/asm-generic/tlb.h, include/linux/mm_types.h
(encoded_page helpers), arch/s390/include/asm/tlb.h (docs/sources.md §K4).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.asm_generic.tlb import (
    ENCODED_PAGE_BIT_DELAY_RMAP,
    ENCODED_PAGE_BIT_NR_PAGES_NEXT,
    ENCODED_PAGE_BITS,
    MAX_GATHER_BATCH,
    MAX_GATHER_BATCH_COUNT,
    MAX_NR_FOLIOS_PER_FREE,
    MMU_GATHER_BUNDLE,
    MmuGather,
    MmuGatherBatch,
    encode_nr_pages,
    encode_page,
    encoded_nr_pages,
    encoded_page_flags,
    encoded_page_ptr,
    tlb_delay_rmap,
    tlb_flush_mmu_tlbonly,
    tlb_remove_tlb_entries,
)
from mrelease_ref.include.linux.mm_types import (
    NR_MM_COUNTERS,
    PAGE_SHIFT,
    PAGE_SIZE,
    PMD_SHIFT,
    PTRS_PER_PTE,
    Folio,
    Page,
    Pte,
    PteTable,
    add_mm_rss_vec,
    folio_mapcount,
)
from mrelease_ref.mm import mmu_gather
from mrelease_ref.mm.memory import ZapFlags, zap_present_folio_ptes
from mrelease_ref.mm.mmu_gather import (
    __tlb_batch_free_encoded_pages,
    __tlb_remove_folio_pages_size,
    tlb_batch_pages_flush,
    tlb_finish_mmu,
    tlb_flush_mmu,
    tlb_flush_rmaps,
    tlb_gather_mmu,
)
from mrelease_ref.mm.page_alloc import folio_alloc
from mrelease_ref.mm.swap import KernelBug, folio_put
from mrelease_ref.sim.process import Process


def _gather_with_folio(arch: str = "x86_64") -> tuple[Kernel, Process, MmuGather, Folio]:
    """A kernel, a process, a live gather on its mm, and a freshly allocated page."""
    k = Kernel(arch=arch, large_folios=False)
    app = k.spawn("app", uid=1000, cpu=0)
    mm = app.task.mm
    assert mm is not None
    with k.running(app.task):
        folio = folio_alloc(k, 0)
        tlb = tlb_gather_mmu(mm)
    assert folio is not None
    return k, app, tlb, folio


def _parse(slots: Sequence[object]) -> list[tuple[Page, int, int]]:
    """Decode a batch into (page, flags, nr_pages) records, asserting well-formed pairs."""
    out = []
    i = 0
    while i < len(slots):
        enc = slots[i]
        assert isinstance(enc, tuple), f"slot {i} is a bare count: a pair was split"
        flags = encoded_page_flags(enc)
        nr = 1
        if flags & ENCODED_PAGE_BIT_NR_PAGES_NEXT:
            i += 1
            assert i < len(slots), "NR_PAGES_NEXT page without its count slot"
            count = slots[i]
            assert isinstance(count, int)
            nr = encoded_nr_pages(count)
        out.append((encoded_page_ptr(enc), flags, nr))
        i += 1
    return out


def _batches(tlb: MmuGather) -> list[MmuGatherBatch]:
    chain = []
    b: MmuGatherBatch | None = tlb.local
    while b is not None:
        chain.append(b)
        b = b.next
    return chain


# --- encoded pages -------------------------------------------------------------------------


def test_gather_constants_follow_the_kernel_arithmetic() -> None:
    """Kernel: include/asm-generic/tlb.h: MMU_GATHER_BUNDLE 8; MAX_GATHER_BATCH =
    (PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(void *) with a 16-byte header on
    64-bit; MAX_GATHER_BATCH_COUNT = 10000 / MAX_GATHER_BATCH; mm/mmu_gather.c:
    MAX_NR_FOLIOS_PER_FREE 512; include/linux/mm_types.h: ENCODED_PAGE_BITS 3,
    DELAY_RMAP bit 1, NR_PAGES_NEXT bit 2 (docs/sources.md §K4)."""
    header_bytes, pointer_bytes = 16, 8
    per_page = (PAGE_SIZE - header_bytes) // pointer_bytes
    assert (8, per_page) == (MMU_GATHER_BUNDLE, MAX_GATHER_BATCH)
    assert (10000 // per_page, 512) == (MAX_GATHER_BATCH_COUNT, MAX_NR_FOLIOS_PER_FREE)
    assert (ENCODED_PAGE_BITS, ENCODED_PAGE_BIT_DELAY_RMAP) == (3, 1)
    assert ENCODED_PAGE_BIT_NR_PAGES_NEXT == 2


def test_encode_page_round_trip() -> None:
    """Kernel: include/linux/mm_types.h:encode_page()/encoded_page_ptr()/
    encoded_page_flags(): the flag bits ride along with the page and come back unchanged."""
    k = Kernel(large_folios=False)
    folio = Folio(kernel=k, pfn=0x1234, order=0)
    page: Page = (folio, 0)
    for flags in range(ENCODED_PAGE_BITS + 1):
        enc = encode_page(page, flags)
        assert encoded_page_ptr(enc) is page
        assert encoded_page_flags(enc) == flags


def test_nr_pages_slot_round_trip_and_never_looks_like_a_pair() -> None:
    """Kernel: include/linux/mm_types.h:encode_nr_pages()/encoded_nr_pages(): the count slot
    decodes to the count, and its low bits never carry ENCODED_PAGE_BIT_NR_PAGES_NEXT, so a
    count slot can never be mistaken for the start of another pair."""
    for nr in (1, 2, 16, 64, 512, 1 << 20):
        slot = encode_nr_pages(nr)
        assert encoded_nr_pages(slot) == nr
        assert not slot & ENCODED_PAGE_BIT_NR_PAGES_NEXT


def test_nr_pages_slot_encoding_is_the_kernels() -> None:
    """Kernel: include/linux/mm_types.h:encode_nr_pages() returns ``nr << 2`` and
    encoded_nr_pages() shifts right by 2 (docs/sources.md §K4: "the next array slot is ...
    nr_pages << 2")."""
    for nr in (1, 2, 64, 512):
        assert encode_nr_pages(nr) == nr << 2
        assert encoded_nr_pages(nr << 2) == nr


def test_single_page_takes_one_slot_and_a_range_takes_a_pair() -> None:
    """Kernel: mm/mmu_gather.c:__tlb_remove_folio_pages_size(): nr_pages == 1 stores one
    encoded page; nr_pages > 1 stores the page with ENCODED_PAGE_BIT_NR_PAGES_NEXT followed by
    encode_nr_pages(nr_pages); delay_rmap adds ENCODED_PAGE_BIT_DELAY_RMAP (docs/sources.md §K4)."""
    _, _, tlb, folio = _gather_with_folio()
    nr = 5
    assert not __tlb_remove_folio_pages_size(tlb, (folio, 0), 1, False, PAGE_SIZE)
    assert not __tlb_remove_folio_pages_size(tlb, (folio, 0), nr, True, PAGE_SIZE)
    slots = tlb.local.encoded_pages
    assert len(slots) == 1 + 2
    assert encoded_page_flags(slots[0]) == 0  # type: ignore[arg-type]
    assert encoded_page_flags(slots[1]) == (  # type: ignore[arg-type]
        ENCODED_PAGE_BIT_NR_PAGES_NEXT | ENCODED_PAGE_BIT_DELAY_RMAP
    )
    assert encoded_nr_pages(slots[2]) == nr  # type: ignore[arg-type]
    assert [nr_pages for _, _, nr_pages in _parse(slots)] == [1, nr]


# --- batch growth --------------------------------------------------------------------------


def test_batches_grow_from_the_local_bundle_to_the_batch_limit() -> None:
    """Kernel: mm/mmu_gather.c:__tlb_remove_folio_pages_size() moves on once a batch has
    fewer than two free slots (nr >= max - 1); tlb_next_batch() starts with the on-stack
    bundle of MMU_GATHER_BUNDLE entries, then allocates MAX_GATHER_BATCH-entry batches, at
    most MAX_GATHER_BATCH_COUNT of them; then it refuses and the caller must flush
    (docs/sources.md §K4)."""
    k, app, tlb, folio = _gather_with_folio()
    local_capacity = MMU_GATHER_BUNDLE - 1
    batch_capacity = MAX_GATHER_BATCH - 1
    limit = local_capacity + MAX_GATHER_BATCH_COUNT * batch_capacity
    page: Page = (folio, 0)
    for n in range(1, limit):
        assert not __tlb_remove_folio_pages_size(tlb, page, 1, False, PAGE_SIZE), n
    assert __tlb_remove_folio_pages_size(tlb, page, 1, False, PAGE_SIZE)  # must flush now

    chain = _batches(tlb)
    assert len(chain) == 1 + MAX_GATHER_BATCH_COUNT
    assert tlb.batch_count == MAX_GATHER_BATCH_COUNT
    assert chain[0] is tlb.local and tlb.local.max == MMU_GATHER_BUNDLE
    assert tlb.local.nr == local_capacity
    assert all(b.max == MAX_GATHER_BATCH and b.nr == batch_capacity for b in chain[1:])
    assert tlb.active is chain[-1]

    # The caller flushes: TLB first, then every reference goes back; the gather restarts
    # at the local bundle.
    folio._refcount += limit  # the references the ``limit`` zapped PTEs handed over
    tlb_remove_tlb_entries(tlb, 1, 0x1000_0000)
    with k.running(app.task):
        tlb_flush_mmu(tlb)
        assert tlb.active is tlb.local
        assert all(b.nr == 0 for b in _batches(tlb))
        assert folio._refcount == 1
        tlb_finish_mmu(tlb)
        folio_put(folio)
    assert tlb.local.next is None  # tlb_batch_list_free()
    k.check()


def test_pairs_never_straddle_two_batches() -> None:
    """Kernel: mm/mmu_gather.c:__tlb_remove_folio_pages_size(): "Make sure that we can always
    add another page + nr_pages": a batch never ends with a page whose count slot is in the
    next batch, and no batch overflows its max."""
    _, _, tlb, folio = _gather_with_folio()
    page: Page = (folio, 0)
    nr = 3
    records = 2 * MAX_GATHER_BATCH  # spills over several batches
    for _ in range(records):
        assert not __tlb_remove_folio_pages_size(tlb, page, nr, False, PAGE_SIZE)
    chain = _batches(tlb)
    assert len(chain) >= 3
    parsed = []
    for b in chain:
        assert b.nr <= b.max
        parsed += _parse(b.encoded_pages)  # raises if a pair is cut
    assert [n for _, _, n in parsed] == [nr] * records


def test_delayed_rmap_limits_the_gather_to_two_batches() -> None:
    """Kernel: mm/mmu_gather.c:tlb_next_batch(): "Limit batching if we have delayed rmaps
    pending": with tlb->delayed_rmap set and the active batch no longer the local one, no
    further batch is started, because tlb_flush_rmaps() only scans local and active."""
    _, _, tlb, folio = _gather_with_folio()
    assert tlb_delay_rmap(tlb) and tlb.delayed_rmap
    page: Page = (folio, 0)
    limit = (MMU_GATHER_BUNDLE - 1) + (MAX_GATHER_BATCH - 1)
    for n in range(1, limit):
        assert not __tlb_remove_folio_pages_size(tlb, page, 1, False, PAGE_SIZE), n
    assert __tlb_remove_folio_pages_size(tlb, page, 1, False, PAGE_SIZE)
    assert len(_batches(tlb)) == 2 and tlb.batch_count == 1


# --- freeing ---------------------------------------------------------------------------------


def _record_frees(monkeypatch: pytest.MonkeyPatch) -> list[list[object]]:
    chunks: list[list[object]] = []

    def record(pages: list[object], nr: int) -> None:
        assert nr == len(pages)
        chunks.append(list(pages))

    monkeypatch.setattr(mmu_gather, "free_pages_and_swap_cache", record)
    return chunks


def _fake_pages(k: Kernel, n: int) -> list[Page]:
    return [(Folio(kernel=k, pfn=0x10000 + i, order=0), 0) for i in range(n)]


def test_free_chunks_never_split_a_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernel: mm/mmu_gather.c:__tlb_batch_free_encoded_pages(): entries go to
    free_pages_and_swap_cache() at most MAX_NR_FOLIOS_PER_FREE at a time, but if the last
    entry of a chunk has ENCODED_PAGE_BIT_NR_PAGES_NEXT the chunk grows by one so its count
    slot goes with it (docs/sources.md §K4)."""
    k = Kernel(large_folios=False)
    chunks = _record_frees(monkeypatch)
    pages = _fake_pages(k, MAX_NR_FOLIOS_PER_FREE + 10)
    nr_pair = 7
    slots: list[object] = [encode_page(p, 0) for p in pages[: MAX_NR_FOLIOS_PER_FREE - 1]]
    # the 512th entry is a page whose count sits in slot 513
    slots += [
        encode_page(pages[MAX_NR_FOLIOS_PER_FREE - 1], ENCODED_PAGE_BIT_NR_PAGES_NEXT),
        encode_nr_pages(nr_pair),
    ]
    slots += [encode_page(p, 0) for p in pages[MAX_NR_FOLIOS_PER_FREE:]]
    batch = MmuGatherBatch(max=len(slots), encoded_pages=list(slots))  # type: ignore[arg-type]

    __tlb_batch_free_encoded_pages(batch)

    assert [len(c) for c in chunks] == [MAX_NR_FOLIOS_PER_FREE + 1, len(slots) - 513]
    for c in chunks:
        _parse(c)  # every chunk is self-contained
    assert [s for c in chunks for s in c] == slots
    assert batch.nr == 0


def test_free_chunk_ending_on_a_count_slot_is_not_extended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kernel: mm/mmu_gather.c:__tlb_batch_free_encoded_pages() tests only the flags of
    entry nr - 1; when that entry is itself a count slot (its pair is complete) the chunk
    stays at MAX_NR_FOLIOS_PER_FREE entries."""
    k = Kernel(large_folios=False)
    chunks = _record_frees(monkeypatch)
    pages = _fake_pages(k, MAX_NR_FOLIOS_PER_FREE + 4)
    slots: list[object] = [encode_page(p, 0) for p in pages[: MAX_NR_FOLIOS_PER_FREE - 2]]
    slots += [
        encode_page(pages[MAX_NR_FOLIOS_PER_FREE - 2], ENCODED_PAGE_BIT_NR_PAGES_NEXT),
        encode_nr_pages(2),
    ]  # slots 511 and 512: the pair ends exactly at the chunk boundary
    slots += [encode_page(p, 0) for p in pages[MAX_NR_FOLIOS_PER_FREE:]]
    batch = MmuGatherBatch(max=len(slots), encoded_pages=list(slots))  # type: ignore[arg-type]
    __tlb_batch_free_encoded_pages(batch)
    assert [len(c) for c in chunks] == [MAX_NR_FOLIOS_PER_FREE, len(slots) - 512]


def test_batch_pages_flush_refuses_to_free_before_the_tlb_flush() -> None:
    """Kernel: include/asm-generic/tlb.h ordering rule "unhook page, TLB invalidate, free
    page": mm/mmu_gather.c:tlb_flush_mmu() calls tlb_flush_mmu_tlbonly() before
    tlb_batch_pages_flush(). The model's tlb_batch_pages_flush() raises KernelBug if
    cleared entries still wait for their TLB flush."""
    k, app, tlb, folio = _gather_with_folio()
    folio._refcount += 1  # the zapped PTE's reference, now owned by the gather
    assert not __tlb_remove_folio_pages_size(tlb, (folio, 0), 1, False, PAGE_SIZE)
    tlb_remove_tlb_entries(tlb, 1, 0x1000_0000)
    with pytest.raises(KernelBug, match="before the TLB flush"):
        tlb_batch_pages_flush(tlb)
    assert tlb.local.nr == 1  # nothing was freed

    flushes = k.vm_events.get("TLB_FLUSH", 0)
    with k.running(app.task):
        tlb_flush_mmu(tlb)  # the right order: flush, then free
        assert k.vm_events["TLB_FLUSH"] == flushes + 1
        assert tlb.local.nr == 0 and folio._refcount == 1
        tlb_finish_mmu(tlb)
        folio_put(folio)
    k.check()


# --- delayed rmap ------------------------------------------------------------------------------


def _dirty_shared_file_pte(arch: str) -> tuple[Kernel, Process, PteTable, int, int]:
    """A shared file mapping whose first page was written: a dirty PTE of a file folio."""
    k = Kernel(arch=arch, large_folios=False)
    f = k.create_file("data", nr_pages=4)
    app = k.spawn("app", uid=1000, cpu=0)
    m = app.mmap(4, file=f, shared=True)
    app.touch(m, write=True, nr_pages=1)
    mm = app.task.mm
    assert mm is not None
    table = mm.pgd[m.start >> PMD_SHIFT]
    assert isinstance(table, PteTable)
    return k, app, table, (m.start >> PAGE_SHIFT) & (PTRS_PER_PTE - 1), m.start


def test_dirty_file_folio_keeps_its_rmap_until_tlb_flush_rmaps_on_x86() -> None:
    """Kernel: mm/memory.c:zap_present_folio_ptes(): a dirty PTE of a file folio on SMP
    (tlb_delay_rmap() true) is queued with ENCODED_PAGE_BIT_DELAY_RMAP and forces a flush; its
    mapcount drops only in mm/mmu_gather.c:tlb_flush_rmaps(), after the TLB flush, so
    writeback cannot clean the folio while a stale writable TLB entry exists (docs/sources.md §K3.4,
    §K4)."""
    k, app, table, i, addr = _dirty_shared_file_pte("x86_64")
    mm = app.task.mm
    assert mm is not None
    vma = mm.mm_mt[0]
    pte = table[i]
    assert isinstance(pte, Pte) and pte.folio is not None
    folio = pte.folio
    assert folio_mapcount(folio) == 1
    rss = [0] * NR_MM_COUNTERS
    zf = ZapFlags()
    with k.running(app.task):
        tlb = tlb_gather_mmu(mm)
        zap_present_folio_ptes(tlb, vma, folio, (folio, pte.idx), table, i, pte, 1, addr,
                               None, rss, zf)
        assert table[i] is None  # the PTE is gone...
        assert folio_mapcount(folio) == 1  # ...but the rmap is not
        assert tlb.delayed_rmap and zf.force_flush
        [(_, flags, nr)] = _parse(tlb.local.encoded_pages)
        assert flags & ENCODED_PAGE_BIT_DELAY_RMAP and nr == 1

        flushes = k.vm_events.get("TLB_FLUSH", 0)
        tlb_flush_mmu_tlbonly(tlb)
        assert k.vm_events["TLB_FLUSH"] == flushes + 1
        assert folio_mapcount(folio) == 1  # still: rmaps go after the flush, separately
        tlb_flush_rmaps(tlb, vma)
        assert folio_mapcount(folio) == 0 and not tlb.delayed_rmap
        add_mm_rss_vec(mm, rss)
        tlb_finish_mmu(tlb)
    k.check()


def test_s390_never_delays_the_rmap() -> None:
    """Kernel: include/asm-generic/tlb.h:tlb_delay_rmap() is constant false without a gather
    (s390 selects CONFIG_MMU_GATHER_NO_GATHER); arch/s390/include/asm/tlb.h frees at once, so
    the dirty file folio loses its rmap and the PTE's reference inside the zap (docs/sources.md
    §K4)."""
    k, app, table, i, addr = _dirty_shared_file_pte("s390")
    mm = app.task.mm
    assert mm is not None
    vma = mm.mm_mt[0]
    pte = table[i]
    assert isinstance(pte, Pte) and pte.folio is not None
    folio = pte.folio
    refs = folio._refcount
    rss = [0] * NR_MM_COUNTERS
    zf = ZapFlags()
    with k.running(app.task):
        tlb = tlb_gather_mmu(mm)
        assert not tlb_delay_rmap(tlb)
        zap_present_folio_ptes(tlb, vma, folio, (folio, pte.idx), table, i, pte, 1, addr,
                               None, rss, zf)
        assert folio_mapcount(folio) == 0
        assert folio._refcount == refs - 1  # the PTE's reference is already dropped
        assert not tlb.delayed_rmap and not zf.force_flush
        assert tlb.local.nr == 0
        add_mm_rss_vec(mm, rss)
        tlb_finish_mmu(tlb)
    k.check()


def test_munmap_of_dirty_shared_mapping_ends_consistent() -> None:
    """Kernel: mm/memory.c:zap_pte_range(): when a delayed rmap forced a flush, the TLB and
    the delayed rmaps are flushed before the PTE lock is dropped, then the pages are freed;
    afterwards the folio is unmapped, dirty and still cached (docs/sources.md §K3.2)."""
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("data", nr_pages=8)
    app = k.spawn("app", uid=1000)
    m = app.mmap(8, file=f, shared=True)
    app.touch(m, write=True)
    app.munmap(m)
    cs = k.cachestat(f)
    assert cs.nr_cache == m.nr_pages and cs.nr_dirty == m.nr_pages
    assert all(folio._mapcount == 0 for folio in f.i_mapping.i_pages.values())


# --- tlb_finish_mmu ------------------------------------------------------------------------------


def test_finish_mmu_flushes_everything_when_another_gather_is_live() -> None:
    """Kernel: mm/mmu_gather.c:tlb_finish_mmu(): if mm_tlb_flush_nested() (another thread
    batches PTE changes on the same mm, e.g. the reaper next to exit_mmap()), force a full
    flush (fullmm, freed_tables) even if this gather cleared nothing; otherwise a gather that
    cleared nothing does not flush (docs/sources.md §K4)."""
    k = Kernel(large_folios=False)
    app = k.spawn("app", uid=1000)
    mm = app.task.mm
    assert mm is not None
    with k.running(app.task):
        first = tlb_gather_mmu(mm)
        second = tlb_gather_mmu(mm)
        assert mm.tlb_flush_pending == 2
        flushes = k.vm_events.get("TLB_FLUSH", 0)
        tlb_finish_mmu(first)
        assert first.fullmm and k.vm_events.get("TLB_FLUSH", 0) == flushes + 1
        assert mm.tlb_flush_pending == 1
        tlb_finish_mmu(second)  # alone now and nothing cleared: no flush
        assert not second.fullmm and k.vm_events.get("TLB_FLUSH", 0) == flushes + 1
    assert mm.tlb_flush_pending == 0 and not k.live_gathers


@pytest.mark.parametrize(("arch", "flushes"), [("x86_64", 1), ("arm64", 3)])
def test_tlb_end_vma_flushes_only_without_merge_vmas(arch: str, flushes: int) -> None:
    """include/asm-generic/tlb.h:tlb_end_vma() returns early when the arch selects
    CONFIG_MMU_GATHER_MERGE_VMAS (x86_64 and s390 do, arm64 does not: v6.18
    arch/*/Kconfig), so one non-fullmm gather over three VMAs (as munmap() of a range
    builds: mm/vma.c:vms_clear_ptes() -> unmap_vmas()) flushes the TLB once on x86_64, at
    tlb_finish_mmu(), and once per VMA on arm64 (the last flush then finds nothing left)."""
    from mrelease_ref.include.asm_generic.tlb import TASK_SIZE
    from mrelease_ref.kernel.sched import run_to_completion
    from mrelease_ref.mm.madvise import MADV_HUGEPAGE
    from mrelease_ref.mm.memory import unmap_vmas
    from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu

    k = Kernel(arch=arch, large_folios=False)
    p = k.spawn("app", uid=10001)
    m = p.mmap(48)
    p.madvise(m, MADV_HUGEPAGE, start=16, nr_pages=16)  # three VMAs: the flags differ
    p.touch(m, write=True)
    mm = p.task.mm
    assert mm is not None and len(mm.mm_mt) == 3
    before = k.vm_events.get("TLB_FLUSH", 0)
    with k.running(p.task):
        tlb = tlb_gather_mmu(mm)
        run_to_completion(unmap_vmas(tlb, list(mm.mm_mt), 0, TASK_SIZE))
        tlb_finish_mmu(tlb)
    assert k.vm_events.get("TLB_FLUSH", 0) - before == flushes
