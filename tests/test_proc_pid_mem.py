"""/proc/<pid>/mem: reads and writes of another process's memory, before and after a reap.

Kernel (v6.18): fs/proc/base.c (mem_open() -> __mem_open() -> proc_mem_open(), mem_rw(),
proc_mem_foll_force() with CONFIG_PROC_MEM_ALWAYS_FORCE), kernel/fork.c (mm_access()),
kernel/ptrace.c (__ptrace_may_access()), mm/memory.c (__access_remote_vm()), mm/gup.c
(check_vma_flags(), can_follow_write_pte(), faultin_page()), include/linux/oom.h
(check_stable_address_space()).
"""

from __future__ import annotations

import errno
import os
import signal

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.fs import Inode
from mrelease_ref.sim.process import Mapping, Process
from tests._support import errno_of, small_kernel


def _victim(k: Kernel) -> tuple[Process, Process, Mapping]:
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001, parent=lmkd)
    m = app.mmap(8)
    app.touch(m, write=True)
    return lmkd, app, m


def _read_only_file(k: Kernel, app: Process) -> tuple[Inode, Mapping]:
    """A 4-page file mapped private and read-only by ``app``, every page read."""
    f = k.create_file("lib", 4)
    ro = app.mmap(4, file=f, shared=False, write=False)
    app.touch(ro)
    return f, ro


def _reap(k: Kernel, lmkd: Process, app: Process) -> None:
    """Freeze, SIGKILL and process_mrelease() the app (left frozen: thaw it to exit)."""
    fd = lmkd.pidfd_open(app.pid)
    app.freeze()
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd)


def test_read_returns_the_pages_and_stops_short_at_the_end_of_the_vma() -> None:
    """Rule: mem_rw() copies page by page with access_remote_vm(); it returns what it
    copied, so a read running past the end of the mapping is short; an address with no VMA
    copies nothing: -EIO. Source: fs/proc/base.c:mem_rw(); mm/memory.c:__access_remote_vm()."""
    k = small_kernel("baseline")
    lmkd, app, m = _victim(k)
    want = [app.peek(m, i) for i in range(8)]
    assert lmkd.proc_mem_read(app.pid, m.start, 8) == want
    assert lmkd.proc_mem_read(app.pid, m.start + 6 * 4096, 5) == want[6:]
    assert errno_of(lmkd.proc_mem_read, app.pid, m.end + 4096, 1) == errno.EIO


def test_an_untouched_anon_page_reads_as_zeros() -> None:
    """Rule: GUP faults a missing anonymous page in for reading, which maps the zero page
    (do_anonymous_page()); the read returns zeros and allocates nothing. Source:
    mm/gup.c:faultin_page(); mm/memory.c:do_anonymous_page()."""
    k = small_kernel("baseline")
    lmkd, app, _ = _victim(k)
    m = app.mmap(4)
    free = k.zoneinfo()["free_with_pcp"]
    assert lmkd.proc_mem_read(app.pid, m.start, 4) == [0, 0, 0, 0]
    assert k.zoneinfo()["free_with_pcp"] == free


def test_forced_write_to_a_read_only_private_file_mapping_copies() -> None:
    """Rule: writes use FOLL_FORCE ("always" on these machines): check_vma_flags() lets a
    write into a read-only *private* mapping through (is_cow_mapping()), the fault copies
    the page into an anonymous one, and GUP writes that copy through its read-only PTE
    (can_follow_write_pte(): PageAnonExclusive). The file's page cache is not changed. A
    read-only *shared* mapping is refused (not a COW mapping): -EIO. Source: mm/gup.c."""
    k = small_kernel("baseline")
    lmkd, app, _ = _victim(k)
    f, ro = _read_only_file(k, app)
    orig = app.peek(ro, 1)
    assert lmkd.proc_mem_write(app.pid, ro.start + 4096, [77]) == 1
    assert app.peek(ro, 1) == 77
    fd = lmkd.open(f, write=False)
    assert lmkd.read(fd, 4096, 1) == [orig]
    assert app.status()["RssAnon"] == 8 * 4 + 4
    sh = app.mmap(4, file=f, shared=True, write=False, fd_write=False)
    assert errno_of(lmkd.proc_mem_write, app.pid, sh.start, [1]) == errno.EIO


def test_open_needs_ptrace_access_and_an_mm() -> None:
    """Rule: mem_open() checks PTRACE_MODE_ATTACH through mm_access(): another uid without
    CAP_SYS_PTRACE gets -EACCES; the same uid may. A task without an mm (a zombie) gives
    -ESRCH. Source: fs/proc/base.c:__mem_open(); kernel/fork.c:mm_access();
    kernel/ptrace.c:__ptrace_may_access()."""
    k = small_kernel("baseline")
    lmkd, app, m = _victim(k)
    other = k.spawn("other", uid=10002)
    same = k.spawn("same", uid=10001)
    assert errno_of(other.proc_mem_open, app.pid) == errno.EACCES
    assert same.proc_mem_read(app.pid, m.start, 1) == [app.peek(m, 0)]
    lmkd.kill(app.pid, signal.SIGKILL)
    k.run()
    assert app.state == "zombie"
    assert errno_of(lmkd.proc_mem_open, app.pid) == errno.ESRCH


def test_read_after_exit_is_end_of_file() -> None:
    """Rule: the open file keeps only mm_count; once the mm's users are gone a read gets 0
    bytes (mmget_not_zero() fails): end of file, not an error. Source:
    fs/proc/base.c:mem_rw()."""
    k = small_kernel("baseline")
    lmkd, app, m = _victim(k)
    fh = lmkd.proc_mem_open(app.pid)
    assert fh.read(m.start, 1) == [app.peek(m, 0)]
    lmkd.kill(app.pid, signal.SIGKILL)
    k.run()
    assert fh.read(m.start, 1) == []
    fh.close()
    lmkd.waitpid(app.pid)


def test_reaped_anon_pages_read_as_eio_shared_file_pages_still_read() -> None:
    """Rule: after process_mrelease() (MMF_UNSTABLE) a zapped anonymous page faults again,
    and the fault gives VM_FAULT_SIGBUS (check_stable_address_space()): GUP fails, the
    read gets -EIO. The reaper skips VM_SHARED mappings, so their pages are still mapped
    and read without a fault. Source: include/linux/oom.h:check_stable_address_space();
    mm/oom_kill.c:__oom_reap_task_mm()."""
    k = small_kernel("baseline")
    lmkd, app, m = _victim(k)
    f = k.create_file("shared", 4)
    sh = app.mmap(4, file=f, shared=True)
    app.touch(sh, write=True)
    data = app.peek(sh, 2)
    _reap(k, lmkd, app)
    assert errno_of(lmkd.proc_mem_read, app.pid, m.start, 1) == errno.EIO
    assert lmkd.proc_mem_read(app.pid, sh.start + 2 * 4096, 1) == [data]
    app.thaw()
    k.run()


def test_proc_mem_api_rejects_misuse() -> None:
    """The Python API: unaligned addresses and bad types are ValueError/TypeError; a closed
    handle cannot be used."""
    k = small_kernel("baseline")
    lmkd, app, m = _victim(k)
    with pytest.raises(ValueError):
        lmkd.proc_mem_read(app.pid, m.start + 1, 1)
    with pytest.raises(TypeError):
        lmkd.proc_mem_write(app.pid, m.start, ["x"])  # type: ignore[list-item]
    fh = lmkd.proc_mem_open(app.pid)
    fh.close()
    with pytest.raises(ValueError):
        fh.read(m.start, 1)


def test_reaped_private_file_page_reads_if_cached_eio_if_evicted() -> None:
    """Rule: the reaper zaps private file mappings too, but a read fault on a page that is
    still in the page cache is mapped by fault-around (do_fault_around() ->
    filemap_map_pages()), which never checks MMF_UNSTABLE: the read returns the data. A
    page that must be read in goes through finish_fault(), which does check: -EIO.
    Source: mm/memory.c:do_read_fault(), finish_fault(); live kernel 2026-12-03."""
    k = small_kernel("baseline")
    lmkd, app, _ = _victim(k)
    f, ro = _read_only_file(k, app)
    data = app.peek(ro, 0)
    _reap(k, lmkd, app)
    ffd = lmkd.open(f, write=False)
    lmkd.posix_fadvise(ffd, 4096, 4096, os.POSIX_FADV_DONTNEED)  # evict page 1 only
    assert lmkd.proc_mem_read(app.pid, ro.start, 1) == [data]
    assert errno_of(lmkd.proc_mem_read, app.pid, ro.start + 4096, 1) == errno.EIO
    app.thaw()
    k.run()
