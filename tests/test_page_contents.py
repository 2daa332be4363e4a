"""Page contents: writes, writeback, eviction, swap and copy-on-write keep the data.

Kernel (v6.18): mm/filemap.c (filemap_read(), generic_perform_write()),
mm/page-writeback.c (folio_clear_dirty_for_io(), __folio_start_writeback()),
mm/page_io.c (swap_read_folio(), swap_writeout()), mm/memory.c (wp_page_copy(),
do_swap_page()), include/linux/highmem.h (copy_user_highpage()). The property tests say
"nothing is lost": whatever was written to a shared file can be read back after any
sequence of reaps, exits, reclaim, fadvise, writeback and eviction, and a live process's
anonymous data never change under it, whatever fork, COW, swap and other processes' reaps
do. Every test runs with the invariant checker (contents, COW and data-loss rules).
"""

from __future__ import annotations

import os
import signal

from hypothesis import given, settings
from hypothesis import strategies as st

from mrelease_ref import Kernel
from mrelease_ref.include.linux.highmem import file_initial_token, partial_write_token
from mrelease_ref.include.linux.mm_types import _PAGE_RW, PteTable, ptep_set_bits
from mrelease_ref.mm.madvise import MADV_PAGEOUT
from mrelease_ref.sim.invariants import check_invariants
from mrelease_ref.sim.process import Mapping, Process
from tests._support import mm_of, small_kernel

NR = 6


def test_write_then_read_through_writeback_and_eviction() -> None:
    """Rule: write() puts the data in the page cache, dirty (generic_perform_write());
    writeback stores it (folio_start_writeback()); a read after the clean page was dropped
    reads it back from the backing store; pages never written read the file's initial
    content."""
    k = small_kernel("baseline")
    f = k.create_file("db", NR)
    p = k.spawn("db", uid=0)
    fd = p.open(f)
    assert p.write(fd, 4096, data=[11, 12]) == 8192
    assert k.cachestat(f).nr_dirty == 2
    k.sync()
    k.drop_caches()
    assert k.cachestat(f).nr_cache == 0
    assert p.read(fd, 0, NR) == [file_initial_token(f.i_ino, 0), 11, 12] + [
        file_initial_token(f.i_ino, i) for i in range(3, NR)]


def test_shared_mapping_writes_reach_the_file_private_ones_do_not() -> None:
    """Rule: a store through a MAP_SHARED mapping changes the page-cache page (read() sees
    it); a store through a MAP_PRIVATE mapping goes to an anonymous copy (do_cow_fault()),
    the file is unchanged."""
    k = small_kernel("baseline")
    f = k.create_file("f", NR)
    p = k.spawn("p", uid=0)
    sh = p.mmap(NR, file=f, shared=True)
    pr = p.mmap(NR, file=f, shared=False)
    fd = p.open(f)
    orig = p.read(fd, 0, NR)
    p.poke(sh, 1, 5)
    p.poke(pr, 2, 6)
    assert p.read(fd, 0, NR) == [orig[0], 5, *orig[2:]]
    assert p.peek(pr, 1) == 5 and p.peek(pr, 2) == 6


def test_partial_writes_depend_on_the_old_content() -> None:
    """Rule: a store to part of a page keeps the rest of it, so a copy-on-write copy must
    carry the old content (copy_user_highpage()): after fork, a partial store in the child
    builds on the parent's data; touch(write=True) is such a store (one byte per page)."""
    k = small_kernel("baseline")
    p = k.spawn("p", uid=0)
    m = p.mmap(2)
    base = p.poke(m, 0, 41)
    c = p.fork("c")
    assert c.poke(m, 0, 5, partial=True) == partial_write_token(base, 5)
    assert p.peek(m, 0) == base
    c.touch(m, write=True)
    tok = k.content_seq
    assert c.peek(m, 1) == partial_write_token(0, tok)
    assert c.peek(m, 0) == partial_write_token(partial_write_token(base, 5), tok)


def test_swap_keeps_anonymous_data() -> None:
    """Rule: swap-out writes the page to its slot, swap-in reads it back
    (swap_writeout(), swap_read_folio())."""
    k = small_kernel("baseline", swap_mib=4)
    p = k.spawn("p", uid=0)
    m = p.mmap(NR)
    tokens = [p.poke(m, i) for i in range(NR)]
    p.madvise(m, MADV_PAGEOUT)
    assert p.status()["VmSwap"] == NR * 4
    assert [p.peek(m, i) for i in range(NR)] == tokens


def test_checker_finds_lost_and_inconsistent_contents() -> None:
    """The contents invariants can fail: a clean cached page that differs from the backing
    store, and a writable anonymous page another mm also maps (a missed COW)."""
    k = small_kernel("baseline", debug_vm=False)
    f = k.create_file("f", 2)
    p = k.spawn("p", uid=0)
    fd = p.open(f)
    p.write(fd, 0, data=[3])
    k.sync()
    f.i_disk[0] = 4  # the disk changed under a clean cached page
    assert any("backing store" in e for e in check_invariants(k))
    f.i_disk[0] = 3
    m = p.mmap(1)
    p.poke(m, 0)
    p.fork("c")
    table = mm_of(p).pgd[m.start >> 21]
    assert isinstance(table, PteTable)
    ptep_set_bits(table, 0, _PAGE_RW)  # make the parent's PTE writable
    assert any("missed copy-on-write" in e for e in check_invariants(k))


# --- properties -------------------------------------------------------------------------------

file_ops = st.lists(
    st.one_of(
        st.tuples(st.just("poke"), st.integers(0, 2), st.integers(0, NR - 1), st.booleans()),
        st.tuples(st.just("write"), st.integers(0, NR - 1), st.integers(1, 3)),
        st.tuples(st.sampled_from(["sync", "drop", "dontneed", "spawn", "reclaim"])),
        st.tuples(st.just("reap"), st.integers(0, 2)),
        st.tuples(st.just("exit"), st.integers(0, 2)),
        st.tuples(st.just("munmap"), st.integers(0, 2)),
    ),
    max_size=25,
)


def _store(k: Kernel, p: Process, m: Mapping, page: int, partial: bool, old: int) -> int:
    """Store a new token into a page, whole or in part; return what the page must hold
    now, computed from ``old`` (what the test expects it held), not from the model."""
    value = k.next_token()
    got = p.poke(m, page, value, partial=partial)
    want = partial_write_token(old, value) if partial else value
    assert got == want, (page, partial)
    return want


def _spawn_mapper(k: Kernel, lmkd: Process, f: object, n: int) -> tuple[Process, Mapping]:
    p = k.spawn(f"m{n}", uid=0, parent=lmkd)
    m = p.mmap(NR, file=f, shared=True)  # type: ignore[arg-type]
    p.touch(m)
    return p, m


def _kill(k: Kernel, lmkd: Process, p: Process, reap: bool) -> None:
    fd = lmkd.pidfd_open(p.pid)
    if reap:
        p.freeze()
    lmkd.kill(p.pid, signal.SIGKILL)
    if reap:
        lmkd.process_mrelease(fd)
        p.thaw()
    k.run()
    lmkd.waitpid(p.pid)
    lmkd.close(fd)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(ops=file_ops, large=st.booleans())
def test_nothing_written_to_a_shared_file_is_lost(ops: list[tuple], large: bool) -> None:
    """Property: after any sequence of stores through shared mappings, write() calls,
    reaps and exits of the mapping processes, munmap, reclaim, POSIX_FADV_DONTNEED,
    writeback and cache drops, read() returns the last data written to every page (the
    invariant checker also runs after every call: no dirty page dropped, clean pages equal
    the disk)."""
    k = Kernel(large_folios=large, file_folio_order=2, debug_vm=True)
    f = k.create_file("shared.dat", NR)
    lmkd = k.spawn("lmkd", uid=0)
    fd = lmkd.open(f)
    expect = lmkd.read(fd, 0, NR)
    mappers = [_spawn_mapper(k, lmkd, f, i) for i in range(2)]
    for op in ops:
        kind = op[0]
        if kind == "poke" and mappers:
            p, m = mappers[op[1] % len(mappers)]
            expect[op[2]] = _store(k, p, m, op[2], op[3], expect[op[2]])
        elif kind == "write":
            n = min(op[2], NR - op[1])
            expect[op[1]:op[1] + n] = [k.next_token() for _ in range(n)]
            lmkd.write(fd, op[1] << 12, data=expect[op[1]:op[1] + n])
        elif kind == "sync":
            k.sync()
        elif kind == "drop":
            k.drop_caches()
        elif kind == "dontneed":
            lmkd.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        elif kind == "reclaim":
            k.reclaim(NR)
        elif kind == "spawn":
            mappers.append(_spawn_mapper(k, lmkd, f, len(mappers) + 10))
        elif kind in ("reap", "exit") and mappers:
            p, _ = mappers.pop(op[1] % len(mappers))
            _kill(k, lmkd, p, reap=kind == "reap")
        elif kind == "munmap" and mappers:
            p, m = mappers[op[1] % len(mappers)]
            p.munmap(m)
            mappers[op[1] % len(mappers)] = (p, p.mmap(NR, file=f, shared=True))
        assert lmkd.read(fd, 0, NR) == expect, op
    k.sync()
    k.drop_caches()
    assert lmkd.read(fd, 0, NR) == expect


anon_ops = st.lists(
    st.one_of(
        st.tuples(st.just("fork"), st.integers(0, 7)),
        st.tuples(st.just("poke"), st.integers(0, 7), st.integers(0, NR - 1), st.booleans()),
        st.tuples(st.just("pageout"), st.integers(0, 7)),
        st.tuples(st.sampled_from(["reap", "exit"]), st.integers(1, 7)),
        st.tuples(st.just("reclaim"), st.integers(1, NR * 4)),
    ),
    max_size=25,
)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(ops=anon_ops, thp=st.booleans())
def test_a_live_process_never_sees_its_anonymous_data_change(ops: list[tuple], thp: bool
                                                             ) -> None:
    """Property: across fork(), stores in any process (copy-on-write), MADV_PAGEOUT and
    reclaim (swap-out, swap-in), and reaps or exits of other processes, every live
    process reads back exactly what it (or, before the fork, its parent) last stored in
    each page."""
    k = Kernel(swap_mib=8, debug_vm=True, large_folios=thp)
    lmkd = k.spawn("lmkd", uid=0)
    root = k.spawn("root", uid=0, parent=lmkd)
    m = root.mmap(512 if thp else NR, thp=thp)
    root.touch(m, write=True)
    procs: list[tuple[Process, list[int]]] = [(root, [root.peek(m, i) for i in range(NR)])]
    for op in ops:
        kind = op[0]
        if kind == "fork":
            parent, data = procs[op[1] % len(procs)]
            procs.append((parent.fork(f"c{len(procs)}"), list(data)))
        elif kind == "poke":
            p, data = procs[op[1] % len(procs)]
            data[op[2]] = _store(k, p, m, op[2], op[3], data[op[2]])
        elif kind == "pageout":
            p, _ = procs[op[1] % len(procs)]
            p.madvise(m, MADV_PAGEOUT)
        elif kind == "reclaim":
            k.reclaim(op[1])
        elif kind in ("reap", "exit") and len(procs) > 1:
            p, _ = procs.pop(1 + (op[1] - 1) % (len(procs) - 1))
            fd = lmkd.pidfd_open(p.pid)
            if kind == "reap":
                p.freeze()
            lmkd.kill(p.pid, signal.SIGKILL)
            if kind == "reap":
                lmkd.process_mrelease(fd)
                p.thaw()
            k.run()
        for p, data in procs:
            assert [p.peek(m, i) for i in range(NR)] == data, (op, p)
