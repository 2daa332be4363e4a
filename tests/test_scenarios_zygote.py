"""The zygote scenario: apps forked copy-on-write, reaped one by one, then the zygote.

Kernel (v6.18): mm/memory.c (copy_present_ptes(), vma_needs_copy(), wp_page_copy(),
zap_present_folio_ptes()), mm/rmap.c (folio_remove_rmap_ptes()), mm/oom_kill.c
(__oom_reap_task_mm()). Each test names the rule it checks.
"""

from __future__ import annotations

from mrelease_ref import Kernel
from mrelease_ref.scenarios.zygote import (
    build_zygote,
    fork_app,
    free_pages,
    reap_child,
    reap_zygote,
)


def _kernel() -> Kernel:
    return Kernel(large_folios=False, debug_vm=True)


def test_fork_allocates_nothing_and_shares_the_heap() -> None:
    """Rule: fork() shares every anonymous page (copy_present_ptes()); the app's RssAnon is
    the zygote's, and not one page is allocated. File pages are not copied into the app's
    page tables (vma_needs_copy(): no anon_vma), so its RssFile starts at 0."""
    k = _kernel()
    z = build_zygote(k, heap_pages=512, code_pages=256)
    free = free_pages(k)
    app = fork_app(z, "app")
    assert free_pages(k) == free
    assert app.status()["RssAnon"] == z.zygote.status()["RssAnon"] == 512 * 4
    assert app.status()["RssFile"] == 0


def test_dirtying_allocates_exactly_the_written_pages() -> None:
    """Rule: each write to a shared page copies that page only (wp_page_copy()); the app's
    RssAnon stays the same, the zygote's RSS is unchanged; reading code maps the shared
    page-cache pages (RssFile grows) without allocating, by fault-around: every read fault
    maps the cached pages of its aligned 64 KiB window inside the VMA (mm/memory.c:
    do_fault_around(), fault_around_bytes 65536)."""
    k = _kernel()
    z = build_zygote(k, heap_pages=512, code_pages=256)
    before = z.zygote.status()
    free = free_pages(k)
    app = fork_app(z, "app", dirty_pages=100, code_pages=64)
    assert free - free_pages(k) == 100
    first = (z.code.start >> 12) % 16  # the VMA's offset inside its first 16-page window
    windows = {(first + i) // 16 for i in range(64)}  # windows of the 64 pages read
    mapped = sum(1 for i in range(256) if (first + i) // 16 in windows)
    assert app.status()["RssAnon"] == 512 * 4 and app.status()["RssFile"] == mapped * 4
    assert z.zygote.status() == before


def test_reaping_an_app_frees_only_its_copies() -> None:
    """Rule: the reap zaps the app's mappings; a shared page only loses the app's mapping
    (folio_remove_rmap_ptes()) and its reference, so it stays with the zygote. What is
    freed is exactly what the app copied; the zygote's RSS and contents are untouched."""
    k = _kernel()
    z = build_zygote(k, heap_pages=512, code_pages=256)
    before = z.zygote.status()
    data = [z.zygote.peek(z.heap, i) for i in (0, 99, 100, 511)]
    a1 = fork_app(z, "a1", dirty_pages=100, code_pages=64)
    a2 = fork_app(z, "a2", dirty_pages=300)
    assert reap_child(z, a1) == 100
    assert reap_child(z, a2) == 300
    assert z.zygote.status() == before
    assert [z.zygote.peek(z.heap, i) for i in (0, 99, 100, 511)] == data


def test_reaping_the_zygote_afterwards_frees_the_rest() -> None:
    """Rule: once its apps are gone the zygote's anonymous pages are mapped once: its reap
    frees all of them (file pages stay cached: the baseline frees anon memory only)."""
    k = _kernel()
    z = build_zygote(k, heap_pages=512, code_pages=256)
    app = fork_app(z, "app", dirty_pages=50)
    reap_child(z, app)
    assert reap_zygote(z) == 512
    assert k.cachestat(z.code_file).nr_cache == 256


def test_reaping_the_zygote_first_leaves_the_shared_pages_to_the_app() -> None:
    """Rule: the same sharing the other way round: reaping the zygote while an app still
    maps the heap frees only the pages the app no longer shares (those it copied leave
    the zygote's originals mapped once); the app's memory and contents are intact."""
    k = _kernel()
    z = build_zygote(k, heap_pages=512, code_pages=256)
    app = fork_app(z, "app", dirty_pages=200)
    data = [app.peek(z.heap, i) for i in (0, 199, 200, 511)]
    status = app.status()
    assert reap_zygote(z) == 200
    assert app.status() == status
    assert [app.peek(z.heap, i) for i in (0, 199, 200, 511)] == data
