"""The zap fast path is an exact specialisation of the kernel-shaped reference path.

``Kernel(fast_paths=True)`` lets ``zap_pte_range()`` zap runs of 4 KiB anonymous pages
inline (``mrelease_ref.mm.memory._zap_small_anon_run``). Whatever the victim looks like,
the machine must end in exactly the state the reference functions produce
(``fast_paths=False``): same counters, same LRU order, same free lists, same trace, same
model time.
"""

from __future__ import annotations

import signal

from hypothesis import given, settings
from hypothesis import strategies as st

from mrelease_ref import Kernel
from mrelease_ref.sim.invariants import check_invariants

# (kind, nr_pages, touch pattern) -- the pattern is a list of (n pages, "r"/"w"/"-")
Region = tuple[str, int, list[tuple[int, str]]]

regions = st.lists(
    st.tuples(
        st.sampled_from(["anon", "anon-locked", "file", "shmem", "anon-thp"]),
        st.integers(min_value=1, max_value=1100),
        st.lists(
            st.tuples(st.integers(min_value=1, max_value=300), st.sampled_from("rw-")),
            min_size=1,
            max_size=6,
        ),
    ),
    min_size=1,
    max_size=4,
)


def _build_and_reap(fast: bool, spec: list[Region], reap: bool, large: bool) -> Kernel:
    k = Kernel(seed=1, fast_paths=fast, trace=True, large_folios=large)
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    for n, (kind, nr, pattern) in enumerate(spec):
        if kind == "file":
            m = app.mmap(nr, file=k.create_file(f"f{n}", nr))
        else:
            m = app.mmap(nr, shared=kind == "shmem", locked=kind == "anon-locked",
                         thp=kind == "anon-thp")
        start = 0
        for count, how in pattern:
            count = min(count, nr - start)
            if count <= 0:
                break
            if how != "-":
                app.touch(m, write=how == "w", start=start, nr_pages=count)
            start += count
    pidfd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    if reap:
        lmkd.process_mrelease(pidfd, 0)
    k.run()
    return k


def _observable(k: Kernel) -> dict[str, object]:
    return {
        "meminfo": k.meminfo(),
        "zoneinfo": k.zoneinfo(),
        "vmstat": list(k.vmstat),
        "vm_events": dict(sorted(k.vm_events.items())),
        "clock": k.clock_ns,
        "trace": k.trace_text(),
        "lru": [[f.pfn for f in lst] for lst in k.lruvec.lists],
        "batches": [[f.pfn for b in fb.all_batches() for f in b.folios] for fb in k.cpu_fbatches],
        "pcp": [p.count for p in k.zone.per_cpu_pageset],
    }


@settings(max_examples=40, deadline=None)
@given(spec=regions, reap=st.booleans(), large=st.booleans())
def test_fast_path_matches_reference(spec: list[Region], reap: bool, large: bool) -> None:
    """Kernel: mm/memory.c:zap_pte_range() -- both paths leave identical machine state."""
    fast = _build_and_reap(True, spec, reap, large)
    ref = _build_and_reap(False, spec, reap, large)
    assert _observable(fast) == _observable(ref)
    assert check_invariants(fast) == []


def test_fast_path_full_gather_mid_table() -> None:
    """Kernel: mm/mmu_gather.c:__tlb_remove_folio_pages_size() -- a gather that fills up in
    the middle of a PTE table forces a flush and a retry; both paths do it at the same PTE.

    20000 written anon pages exceed the ~9700 entries a gather holds
    (MAX_GATHER_BATCH * MAX_GATHER_BATCH_COUNT + MMU_GATHER_BUNDLE), so the reap flushes
    mid-VMA at least twice.
    """
    spec: list[Region] = [("anon", 20000, [(20000, "w")])]
    fast = _build_and_reap(True, spec, True, False)
    ref = _build_and_reap(False, spec, True, False)
    assert _observable(fast) == _observable(ref)
    assert fast.vm_events["TLB_FLUSH"] >= 3  # two forced flushes plus the final one


@settings(max_examples=15, deadline=None)
@given(high=st.integers(min_value=1, max_value=3000), pre=st.integers(min_value=0, max_value=2500),
       nr=st.integers(min_value=1, max_value=2500))
def test_fast_free_spills_like_free_unref_folios(high: int, pre: int, nr: int) -> None:
    """Kernel: mm/page_alloc.c:free_unref_folios() -- each freed page joins this CPU's list,
    and the free that brings ``pcp->count`` to ``high`` spills ``nr_pcp_free()`` pages to
    buddy. A reap through the fast path spills at the same frees as through the reference
    path. ``high`` is lowered (the default, ~48k pages, needs a larger victim than a test
    should build) and ``pre`` pages are first freed by a short-lived process, so the reap
    starts with a partly filled list."""

    def run(fast: bool) -> Kernel:
        k = Kernel(seed=1, fast_paths=fast, trace=True, large_folios=False)
        for pcp in k.zone.per_cpu_pageset:
            pcp.high = high
        lmkd = k.spawn("lmkd", uid=0)
        if pre:
            tmp = k.spawn("tmp", uid=10002)
            tmp.touch(tmp.mmap(pre), write=True)
            tmp.exit(0)
            k.run()
        app = k.spawn("app", uid=10001)
        app.touch(app.mmap(nr), write=True)
        pidfd = lmkd.pidfd_open(app.pid)
        lmkd.kill(app.pid, signal.SIGKILL)
        lmkd.process_mrelease(pidfd, 0)
        k.run()
        return k

    fast, ref = run(True), run(False)
    assert _observable(fast) == _observable(ref)
    assert check_invariants(fast) == []
