"""s390 (no mmu_gather batching) and !CONFIG_SWAP: the same frees through other doors.

Kernel: arch/s390/include/asm/tlb.h (__tlb_remove_folio_pages(), __tlb_remove_page_size()),
include/asm-generic/tlb.h (CONFIG_MMU_GATHER_NO_GATHER), include/linux/swap.h (!CONFIG_SWAP
stubs), mm/swap.c (release_pages()), mm/swap_state.c (free_pages_and_swap_cache(),
free_folio_and_swap_cache()) (docs/sources.md §K4, §K5).
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
from _support import mm_of as _mm
from _support import vma_of as _vma

from mrelease_ref import Kernel, Mapping
from mrelease_ref.arch.s390 import tlb as s390_tlb
from mrelease_ref.include.linux import swap as swap_h
from mrelease_ref.include.linux.mm_types import HPAGE_PMD_NR, Folio
from mrelease_ref.include.linux.page_flags import PG_freed, PG_locked, PG_swapcache
from mrelease_ref.kernel.sched import run_to_completion
from mrelease_ref.mm import swap, swap_state
from mrelease_ref.mm.memory import unmap_page_range
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu
from mrelease_ref.mm.page_alloc import folio_alloc
from mrelease_ref.sim.process import Process


def _spy(monkeypatch: pytest.MonkeyPatch, module: object, name: str,
         record: Callable[..., None]) -> None:
    real = getattr(module, name)

    def wrapper(*args: object) -> object:
        record(*args)
        return real(*args)

    monkeypatch.setattr(module, name, wrapper)


def _ev(k: Kernel, name: str) -> int:
    return k.vm_events.get(name, 0)


def _anon_victim(k: Kernel, nr_pages: int, thp: bool = False) -> tuple[Process, Mapping]:
    app = k.spawn("app", uid=10001, cpu=0)
    m = app.mmap(nr_pages, thp=thp)
    app.touch(m, write=True)
    k.lru_add_drain_all()
    return app, m


@pytest.mark.parametrize(("arch", "freed_inside_zap"), [("s390", True), ("x86_64", False)])
def test_s390_frees_pages_inside_the_zap(arch: str, freed_inside_zap: bool) -> None:
    """Kernel: arch/s390/include/asm/tlb.h:__tlb_remove_folio_pages() frees every zapped
    folio at once (free_pages_and_swap_cache() on a two-slot encoded array), so PGFREE grows
    during unmap_page_range() and nothing is left in the gather; the generic gather
    (mm/mmu_gather.c) frees only at tlb_finish_mmu() (docs/sources.md §K4)."""
    k = Kernel(arch=arch, large_folios=False, debug_vm=True)
    app, m = _anon_victim(k, 64)
    vma = _vma(app, m)
    pgfree = _ev(k, "PGFREE")
    with k.running(app.task):
        tlb = tlb_gather_mmu(_mm(app))
        run_to_completion(unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, None))
        during = _ev(k, "PGFREE") - pgfree
        batched = tlb.local.nr
        tlb_finish_mmu(tlb)
    if freed_inside_zap:
        assert (during, batched) == (m.nr_pages, 0)
    else:
        assert during == 0 and batched > 0
    assert _ev(k, "PGFREE") - pgfree == m.nr_pages
    k.check()


@pytest.mark.parametrize(("arch", "tlb_pending_at_free"), [("s390", True), ("x86_64", False)])
def test_only_s390_frees_before_the_gather_flushes_the_tlb(
    arch: str, tlb_pending_at_free: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kernel: arch/s390/include/asm/tlb.h (file comment): IPTE/IDTE purge the TLB on every
    CPU when the PTE is cleared, so a page may be freed while the gather still records
    cleared PTEs; the generic path (mm/mmu_gather.c:tlb_flush_mmu()) always flushes the TLB
    first, so no page is freed while cleared entries wait for a flush (docs/sources.md §K4)."""
    k = Kernel(arch=arch, large_folios=False, debug_vm=True)
    app, _ = _anon_victim(k, 16)
    pending: list[bool] = []

    def record(folios: list[Folio]) -> None:
        if folios and k.live_gathers:
            g = k.live_gathers[-1]
            pending.append(g.cleared_ptes or g.cleared_pmds)

    _spy(monkeypatch, swap, "free_unref_folios", record)
    lmkd = k.spawn("lmkd")
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, 0)
    assert pending and set(pending) == {tlb_pending_at_free}


def test_s390_pmd_path_uses_free_folio_and_swap_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernel: arch/s390/include/asm/tlb.h:__tlb_remove_page_size() (the huge-PMD path from
    mm/huge_memory.c:zap_huge_pmd()) calls free_folio_and_swap_cache(page_folio(page)) at
    once and never asks for a flush (docs/sources.md §K4)."""
    k = Kernel(arch="s390", large_folios=True, debug_vm=True)
    app, m = _anon_victim(k, HPAGE_PMD_NR, thp=True)
    seen: list[Folio] = []
    _spy(monkeypatch, s390_tlb, "free_folio_and_swap_cache", seen.append)
    vma = _vma(app, m)
    pgfree = _ev(k, "PGFREE")
    with k.running(app.task):
        tlb = tlb_gather_mmu(_mm(app))
        run_to_completion(unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, None))
        assert _ev(k, "PGFREE") == pgfree + HPAGE_PMD_NR  # already freed
        tlb_finish_mmu(tlb)
    [folio] = seen
    assert folio.flags == PG_freed and (1 << folio.order) == HPAGE_PMD_NR
    k.check()


def _reap_counts(swap_on: bool, arch: str = "x86_64") -> tuple[dict[str, int], dict[str, int]]:
    k = Kernel(swap=swap_on, arch=arch, large_folios=True, debug_vm=True)
    f = k.create_file("app.apk", nr_pages=256)
    app = k.spawn("app", uid=10001)
    lmkd = k.spawn("lmkd")
    for m in (app.mmap(300), app.mmap(HPAGE_PMD_NR, thp=True)):
        app.touch(m, write=True)
    code = app.mmap(256, file=f, shared=False)
    app.touch(code)
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, 0)
    k.run()
    events = {e: _ev(k, e) for e in ("PGFREE", "FOLIO_FREE", "MARK_ACCESSED", "PGACTIVATE")}
    return events, k.meminfo()


@pytest.mark.parametrize("arch", ["x86_64", "s390"])
def test_without_swap_the_same_pages_are_freed(arch: str) -> None:
    """Kernel: include/linux/swap.h (!CONFIG_SWAP): free_pages_and_swap_cache() is
    release_pages() and free_folio_and_swap_cache() is folio_put(); with no folio ever in a
    swap cache, the same scenario frees exactly the same folios and pages."""
    assert _reap_counts(True, arch) == _reap_counts(False, arch)


def test_without_swap_the_gather_frees_through_release_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kernel: include/linux/swap.h: ``#define free_pages_and_swap_cache(pages, nr)
    release_pages((pages), (nr))`` without CONFIG_SWAP; mm/swap_state.c is not built."""
    calls: dict[str, int] = {"release_pages": 0, "swap_state": 0}

    def count(name: str) -> Callable[..., None]:
        def record(*_: object) -> None:
            calls[name] += 1
        return record

    _spy(monkeypatch, swap, "release_pages", count("release_pages"))
    _spy(monkeypatch, swap_state, "free_pages_and_swap_cache", count("swap_state"))
    k = Kernel(swap=False, large_folios=False, debug_vm=True)
    app, _ = _anon_victim(k, 32)
    lmkd = k.spawn("lmkd")
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, 0)
    assert calls["release_pages"] > 0 and calls["swap_state"] == 0
    assert app.status()["RssAnon"] == 0


def test_without_swap_free_swap_cache_is_a_no_op() -> None:
    """Kernel: include/linux/swap.h: ``static inline void free_swap_cache(struct folio
    *folio) { }`` without CONFIG_SWAP -- it does not even take the folio lock; and
    free_folio_and_swap_cache() is folio_put()."""
    k = Kernel(swap=False, large_folios=False)
    t = k.spawn("app").task
    with k.running(t):
        folio = folio_alloc(k, 0)
        assert folio is not None
        folio.flags |= PG_swapcache  # even a (bogus) swap-cache flag is not looked at
        before = folio.flags
        swap_h.free_swap_cache(folio)
        assert folio.flags == before and not folio.flags & PG_locked
        folio.flags &= ~PG_swapcache
        swap_h.free_folio_and_swap_cache(folio)
    assert folio.flags == PG_freed
