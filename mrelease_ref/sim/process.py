"""The user-space view of a process: what a program (or LMKD) can ask the kernel.

Not kernel code. A :class:`Process` wraps a thread-group leader; each method is a system
call or a memory access made by that process. System calls raise ``OSError`` with the
errno the kernel returns, as the ``os`` module does; misuse of this Python API raises
``TypeError``/``ValueError`` saying what to do instead.

Every public method is an API entry (:func:`mrelease_ref.sim.validate.api_entry`): calls
the process makes are refused with ValueError once it is exiting (PF_EXITING), has exited,
is frozen, or is a kernel thread; the invariant checker runs after each call, also when it
fails part-way.

Judgement call -- a :class:`Mapping` is an address range, as mmap()'s return value is in C,
not a capability: every call resolves it against the *caller's own* VMAs (``find_vma()``).
Since each mm hands out the same addresses, another process's Mapping means whatever those
addresses mean in the caller. An access to an address no VMA of the caller covers gets the
kernel's answer: ``touch()`` faults what is mapped and then takes SIGSEGV (``bad_area()``),
``madvise()`` fails with ENOMEM, ``munmap()`` unmaps nothing there and succeeds. A range
that covers only part of a VMA splits it, as the kernel does (:mod:`mrelease_ref.mm.vma`).

Limitations:
- A process is single-threaded unless ``clone_thread()`` adds threads; threads can make
  the same calls through their own :class:`Process` handle.
- Memory accesses (``touch``, ``peek``, ``poke``), ``read``/``write`` and
  ``/proc/<pid>/mem`` are page-granular; data are content tokens
  (:mod:`mrelease_ref.include.linux.highmem`), not bytes.
- ``fork(uid=...)`` is fork() followed by the child's setuid(): the model has no exec.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mrelease_ref.include.linux.fs import FMODE_READ, FMODE_WRITE, File, Inode
from mrelease_ref.include.linux.mm_types import (
    Folio,
    SwpEntry,
    VmAreaStruct,
    vma_pages,
)
from mrelease_ref.include.linux.sched import (
    EXIT_DEAD,
    EXIT_ZOMBIE,
    PIDTYPE_PID,
    SIG_DFL,
    SIG_IGN,
    SIGNAL_UNKILLABLE,
    TaskStruct,
    sigmask,
)
from mrelease_ref.kernel.ptrace import PTRACE_MODE_ATTACH, PTRACE_MODE_READ
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.sim.report import task_mem
from mrelease_ref.sim.sched import gc_paused
from mrelease_ref.sim.validate import (
    api_entry,
    bool_arg,
    check_can_call,
    int_arg,
    nonneg_int_arg,
    positive_int_arg,
    signal_numbers_arg,
    str_arg,
)

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import Kernel, WorkResult

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
WNOHANG = 1
_PROC_MODES = {"mem": PTRACE_MODE_ATTACH, "environ": PTRACE_MODE_READ}  # fs/proc/base.c
MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL = 0, 1, 2
MADV_HUGEPAGE, MADV_NOHUGEPAGE = 14, 15  # all advices: mrelease_ref.mm.madvise


def _raise(ret: int, what: str) -> int:
    if ret < 0:
        raise OSError(-ret, f"{what}: {os.strerror(-ret)}")
    return ret


def _as_gen(fn: Callable[..., int], *args: Any) -> KernelGen[int]:
    """Run a system call that never sleeps as a generator, so it executes as ``current``."""
    return fn(*args)
    yield  # pragma: no cover  (makes this a generator function)


@dataclass(frozen=True, slots=True)
class Mapping:
    """What ``mmap()`` returned: the start address and size, plus a description."""

    start: int
    nr_pages: int
    kind: str
    page_size: int = 4096
    """The bytes of one page of the kernel that made it (``k.pg.PAGE_SIZE``)."""

    def __post_init__(self) -> None:
        int_arg("Mapping.start", self.start)
        positive_int_arg("Mapping.nr_pages", self.nr_pages)
        if not isinstance(self.kind, str):
            raise TypeError(f"Mapping.kind must be a str, got {self.kind!r}")

    @property
    def end(self) -> int:
        """First address past the mapping."""
        return self.start + self.nr_pages * self.page_size


@dataclass(slots=True, eq=False)
class ProcRead:
    """A read of ``/proc/<pid>/<file>`` in progress; ``release()`` unblocks it."""

    process: Process
    buf: Any

    def release(self) -> None:
        """Let the blocked copy finish (the reader's next run drops its mm reference)."""
        self.buf.faulting = False

    @property
    def done(self) -> bool:
        """Whether the read has returned."""
        return self.process.task.work is None


class Process:
    """A process (or thread) as user space sees it."""

    __slots__ = ("kernel", "task")

    def __init__(self, kernel: Kernel, task: TaskStruct) -> None:
        self.kernel = kernel
        self.task = task

    # --- identity and state -----------------------------------------------------------

    @property
    def pid(self) -> int:
        """The process id (thread-group id)."""
        return self.task.tgid

    @property
    def tid(self) -> int:
        """This thread's id."""
        return self.task.pid

    @property
    def comm(self) -> str:
        """The process name."""
        return self.task.comm

    @property
    def state(self) -> str:
        """"running", "sleeping", "stopped", "frozen", "zombie" or "dead"."""
        t = self.task
        if t.exit_state == EXIT_DEAD:
            return "dead"
        if t.exit_state == EXIT_ZOMBIE:
            return "zombie"
        if t.frozen:
            return "frozen"
        if t.stopped:
            return "stopped"
        return "running" if t.work is not None else "sleeping"

    @property
    def alive(self) -> bool:
        """True until the task has started exiting (PF_EXITING)."""
        from mrelease_ref.include.linux.sched import PF_EXITING

        return not self.task.exit_state and not self.task.flags & PF_EXITING

    def __repr__(self) -> str:
        return f"Process({self.comm}, pid={self.pid}, {self.state})"

    def _check_can_call(self) -> None:
        check_can_call(self)

    def _syscall(self, gen: KernelGen[int], what: str) -> int:
        self._check_can_call()
        k = self.kernel
        ret = k.syscall(self.task, gen)
        k._after_api()
        return _raise(ret, what)

    # --- memory ---------------------------------------------------------------------------

    @api_entry(gate=True)
    def mmap(
        self,
        nr_pages: int,
        file: Inode | None = None,
        shared: bool = False,
        *,
        write: bool = True,
        fd_write: bool = True,
        locked: bool = False,
        thp: bool = False,
        pfnmap: bool = False,
        hugetlb: bool = False,
        offset: int = 0,
    ) -> Mapping:
        """``mmap()``: anonymous or file, private or shared. Returns a :class:`Mapping`.

        ``fd_write=False`` maps through a read-only file descriptor (a MAP_SHARED mapping
        then lacks VM_SHARED). ``locked`` is MAP_LOCKED (populates), ``thp`` is
        madvise(MADV_HUGEPAGE), ``offset`` is in pages.

        ``hugetlb`` is MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB: the length is rounded up to
        2 MiB and reserved from the hugetlb pool (``Kernel(nr_hugepages=...)``, default 0,
        so ENOMEM, as on these machines). A private writable mapping is charged to the
        commit limit (``__vm_enough_memory()``): ENOMEM when it cannot be met.
        """
        from mrelease_ref.mm.mmap import do_mmap

        if not isinstance(nr_pages, int) or isinstance(nr_pages, bool) or nr_pages <= 0:
            raise ValueError(f"nr_pages must be a positive int, got {nr_pages!r}")
        if file is not None and not (isinstance(file, Inode) and file.kernel is self.kernel):
            raise TypeError("file must come from Kernel.create_file() (or be None for anon)")
        for name, flag in (("shared", shared), ("write", write), ("fd_write", fd_write),
                           ("locked", locked), ("thp", thp), ("pfnmap", pfnmap),
                           ("hugetlb", hugetlb)):
            bool_arg(name, flag)
        nonneg_int_arg("offset", offset)
        if file is None and offset:
            raise ValueError("offset applies to file mappings only")
        if file is not None and offset + nr_pages > file.i_size:
            raise ValueError(f"mapping pages {offset}..{offset + nr_pages} exceeds {file!r}")
        if file is not None and file.kind not in ("ext4", "shmem"):
            raise ValueError("file must come from Kernel.create_file() or be a memfd's")
        if hugetlb and (file is not None or shared or pfnmap):
            raise ValueError("hugetlb=True models MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB only "
                             "(no hugetlbfs files, shared or PFN-mapped hugetlb)")
        t = self.task
        if t.mm is None:
            raise ValueError(f"{self.comm} has no address space")
        f = None
        if file is not None:
            mode = FMODE_READ | (FMODE_WRITE if fd_write else 0)
            f = File(file.kind, file, f_mode=mode, f_count=0)
            file.i_count += 1
        with self.kernel.running(t):
            vma = do_mmap(t.mm, f, nr_pages, shared=shared, write=write, locked=locked,
                          hugepage=thp, pfnmap=pfnmap, hugetlb=hugetlb, pgoff=offset)
        if isinstance(vma, int):
            if file is not None:
                file.i_count -= 1
            raise OSError(-vma, f"mmap: {os.strerror(-vma)}")
        nr_pages = vma_pages(vma)  # hugetlb rounds up
        kind = ("shared " if shared else "private ") + (
            file.name if file is not None else ("shmem" if shared else "anon")
        )
        self.kernel._after_api()
        return Mapping(vma.vm_start, nr_pages, kind, self.kernel.pg.PAGE_SIZE)

    @api_entry(gate=True)
    def touch(
        self, m: Mapping, write: bool = False, *, start: int = 0, nr_pages: int | None = None
    ) -> int:
        """Access pages of ``m`` (read, or write): fault them in, or set young/dirty bits.

        A write stores one byte of a new token in every page it reaches: the rest of the
        page stays, so the new content depends on the old (see
        ``include.linux.highmem.partial_write_token``; :meth:`poke` for one page). Returns
        the number of pages accessed. A failing fault (SIGBUS after the reaper set
        MMF_UNSTABLE, or out of memory) sends the signal the kernel sends and stops; so
        does an address no VMA of this process covers, or an access the VMA forbids
        (SIGSEGV, see the module docstring).
        """
        if not isinstance(m, Mapping):
            raise TypeError("pass the Mapping that mmap() returned")
        bool_arg("write", write)
        nonneg_int_arg("start", start)
        count = m.nr_pages - start if nr_pages is None else nonneg_int_arg("nr_pages", nr_pages)
        if start + count > m.nr_pages:
            raise ValueError(f"pages {start}..{start + count} are outside {m!r}")
        mm = self.task.mm
        if mm is None:
            raise ValueError(f"{self.comm} has no address space")
        k = self.kernel
        token = k.next_token() if write else 0  # what this call writes (one token)
        with k.running(self.task), gc_paused():
            addr = m.start + (start << k.pg.PAGE_SHIFT)
            done = _access_range(self.task, mm, addr, count, write, token)
        k._after_api()
        return done

    def _fault_signal(self, ret: int) -> None:
        _deliver_fault_signal(self.task, ret)

    @api_entry(gate=True)
    def madvise(
        self,
        m: Mapping | int,
        advice: int,
        *,
        start: int = 0,
        nr_pages: int | None = None,
        length: int | None = None,
    ) -> None:
        """``madvise()`` over a range: all of ``m``, or its pages ``start`` to
        ``start + nr_pages``; or, with an address ``m`` (bytes), ``length`` bytes from it.

        Every advice mm/madvise.c's ``madvise_behavior_valid()`` accepts is checked; the
        model carries out MADV_NORMAL/RANDOM/SEQUENTIAL, HUGEPAGE/NOHUGEPAGE, DONTFORK/
        DOFORK, WIPEONFORK/KEEPONFORK, DONTDUMP/DODUMP, DONTNEED, DONTNEED_LOCKED, FREE,
        COLD and PAGEOUT (constants in ``mrelease_ref.mm.madvise``) and raises ValueError
        for the other valid ones. Raises OSError like the kernel: EINVAL (bad advice,
        unaligned address, DONTNEED on mlocked memory, FREE on a file), ENOMEM (part of
        the range unmapped -- the mapped parts are advised anyway).
        """
        from mrelease_ref.mm.madvise import do_madvise

        _int_arg("advice", advice)
        addr, size = self._range(m, start, nr_pages, length)
        mm = self.task.mm
        assert mm is not None
        self._syscall(_as_gen(do_madvise, mm, addr, size, advice), "madvise")

    @api_entry(gate=True)
    def munmap(self, m: Mapping, *, start: int = 0, nr_pages: int | None = None) -> None:
        """``munmap()`` of a whole mapping (every VMA it was split into), or of its pages
        ``start`` to ``start + nr_pages`` (the VMAs are split at the ends first, as
        ``do_vmi_align_munmap()`` does). Unmapping the mapping's first page leaves the
        Mapping unusable for later calls; address the rest by address."""
        from mrelease_ref.mm.mmap import do_munmap
        from mrelease_ref.mm.vma import split_vma, vmas_in_range

        addr, size = self._range(m, start, nr_pages, None)
        if size == 0:  # mm/vma.c:do_vmi_munmap(): an empty range is EINVAL
            raise OSError(errno.EINVAL, "munmap: zero length")
        mm = self.task.mm
        assert mm is not None
        end = addr + size
        for vma in vmas_in_range(mm, addr, end):
            if vma.vm_start < addr:
                split_vma(vma, addr, new_below=True)  # vma keeps [addr, ...)
            if vma.vm_end > end:
                split_vma(vma, end, new_below=False)
            self._syscall(do_munmap(mm, vma, self.task), "munmap")

    @api_entry()
    def status(self) -> dict[str, int]:
        """``/proc/<pid>/status``: VmRSS, RssAnon, RssFile, RssShmem, VmSwap in kB."""
        from mrelease_ref.mm.oom_kill import find_lock_task_mm

        p = find_lock_task_mm(self.task)
        return task_mem(p.mm if p is not None else None)

    # --- files ---------------------------------------------------------------------------

    @api_entry(gate=True)
    def open(self, file: Inode, write: bool = True) -> int:
        """``open()`` a file from Kernel.create_file(); returns the descriptor."""
        from mrelease_ref.kernel.pid import get_unused_fd

        if not isinstance(file, Inode) or file.kernel is not self.kernel:
            raise TypeError("open() takes a file from Kernel.create_file()")
        bool_arg("write", write)
        files = self.task.files
        assert files is not None
        fd = get_unused_fd(self.task)
        mode = FMODE_READ | (FMODE_WRITE if write else 0)
        files.fdt[fd] = File(file.kind, file, f_mode=mode)
        file.i_count += 1
        return fd

    @api_entry(gate=True)
    def close(self, fd: int) -> None:
        """``close()``"""
        from mrelease_ref.kernel.pid import put_pid
        from mrelease_ref.mm.mmap import fput

        int_arg("fd", fd)
        files = self.task.files
        f = files.fdt.pop(fd, None) if files is not None else None
        if f is None:
            raise OSError(errno.EBADF, "close: Bad file descriptor")
        if f.private_data is not None:
            put_pid(f.private_data)
        if f.f_inode is not None:
            fput(f)

    @api_entry(gate=True)
    def posix_fadvise(self, fd: int, offset: int, length: int, advice: int) -> None:
        """``posix_fadvise()`` (offsets in bytes; ``length=0`` means to the end)."""
        from mrelease_ref.mm.fadvise import generic_fadvise

        for name, value in (("fd", fd), ("offset", offset), ("length", length),
                            ("advice", advice)):
            int_arg(name, value)
        files = self.task.files
        f = files.fdt.get(fd) if files is not None else None
        if f is None:
            raise OSError(errno.EBADF, "posix_fadvise: Bad file descriptor")
        with self.kernel.running(self.task):
            _raise(generic_fadvise(f, offset, length, advice), "posix_fadvise")
        self.kernel._after_api()

    # --- memory calls on ranges: madvise helpers, mprotect, mlock, memfd, mincore, smaps ------
    # (mm/mprotect.c, mm/mlock.c, mm/memfd.c, mm/mincore.c, fs/proc/task_mmu.c)

    def _range(
        self, m: Mapping | int, start: int, nr_pages: int | None, length: int | None
    ) -> tuple[int, int]:
        """(address, length in bytes) of a call's range: pages of a Mapping, or raw bytes."""
        pg = self.kernel.pg
        if isinstance(m, Mapping):
            if length is not None:
                raise TypeError("with a Mapping, give start= and nr_pages= (pages), not length")
            nonneg_int_arg("start", start)
            count = m.nr_pages - start if nr_pages is None else nonneg_int_arg("nr_pages",
                                                                              nr_pages)
            if start + count > m.nr_pages:
                raise ValueError(f"pages {start}..{start + count} are outside {m!r}")
            return m.start + (start << pg.PAGE_SHIFT), count << pg.PAGE_SHIFT
        if isinstance(m, bool) or not isinstance(m, int):
            raise TypeError("pass the Mapping that mmap() returned, or an address (int)")
        if length is None or isinstance(length, bool) or not isinstance(length, int):
            raise TypeError("an address needs length= (bytes)")
        if start or nr_pages is not None:
            raise TypeError("start= and nr_pages= apply to a Mapping, not to an address")
        if m < 0 or length < 0:
            raise ValueError("address and length must not be negative")
        return m, length

    def _vma_at(self, addr: int) -> VmAreaStruct:
        from mrelease_ref.include.linux.mm_types import find_vma

        mm = self.task.mm
        vma = find_vma(mm, addr) if mm is not None else None
        if vma is None:
            raise ValueError(f"{addr:#x} is not mapped in {self.comm} (pid {self.pid})")
        return vma

    def _access_error(self, vma: VmAreaStruct, write: bool) -> bool:
        """arch/x86/mm/fault.c: an access the VMA forbids is a SIGSEGV (bad_area_access_error)."""
        from mrelease_ref.kernel.signal import SIGSEGV
        from mrelease_ref.mm.mprotect import access_error

        if not access_error(write, vma):
            return False
        _deliver_fault_signal(self.task, 0, SIGSEGV)
        return True

    @api_entry(gate=True)
    def mprotect(
        self,
        m: Mapping | int,
        prot: int,
        *,
        start: int = 0,
        nr_pages: int | None = None,
        length: int | None = None,
    ) -> None:
        """``mprotect()``: ``prot`` is PROT_NONE/READ/WRITE/EXEC (``mrelease_ref.mm.mprotect``)
        over a range given as for :meth:`madvise`. Splits and merges VMAs as the kernel does;
        a later access the new rights forbid is a SIGSEGV. Raises OSError(EINVAL, ENOMEM,
        EACCES) like the kernel."""
        from mrelease_ref.mm.mprotect import do_mprotect_pkey

        _int_arg("prot", prot)
        addr, size = self._range(m, start, nr_pages, length)
        mm = self.task.mm
        assert mm is not None
        self._syscall(_as_gen(do_mprotect_pkey, mm, addr, size, prot), "mprotect")

    @api_entry(gate=True)
    def mlock(
        self,
        m: Mapping | int,
        *,
        start: int = 0,
        nr_pages: int | None = None,
        length: int | None = None,
    ) -> None:
        """``mlock()`` of a range (given as for :meth:`madvise`): VM_LOCKED, every page
        faulted in and moved to the unevictable list (Mlocked in meminfo). Without
        CAP_IPC_LOCK the 8 MiB RLIMIT_MEMLOCK applies (ENOMEM); a hole is ENOMEM."""
        from mrelease_ref.include.linux.mm_types import VM_LOCKED
        from mrelease_ref.mm.mlock import do_mlock

        addr, size = self._range(m, start, nr_pages, length)
        self._syscall(_as_gen(do_mlock, self.task, addr, size, VM_LOCKED), "mlock")

    @api_entry(gate=True)
    def munlock(
        self,
        m: Mapping | int,
        *,
        start: int = 0,
        nr_pages: int | None = None,
        length: int | None = None,
    ) -> None:
        """``munlock()`` of a range: VM_LOCKED cleared, the folios back on the evictable
        LRU (once no other locked mapping holds them)."""
        from mrelease_ref.mm.mlock import sys_munlock

        addr, size = self._range(m, start, nr_pages, length)
        self._syscall(_as_gen(sys_munlock, self.task, addr, size), "munlock")

    @api_entry(gate=True)
    def mlockall(self, flags: int) -> None:
        """``mlockall(MCL_CURRENT[|MCL_ONFAULT])`` (MCL_FUTURE is not modelled)."""
        from mrelease_ref.mm.mlock import sys_mlockall

        _int_arg("flags", flags)
        self._syscall(_as_gen(sys_mlockall, self.task, flags), "mlockall")

    @api_entry(gate=True)
    def memfd_create(self, name: str, flags: int = 0) -> int:
        """``memfd_create()``: a descriptor for a new, empty shmem file; size it with
        :meth:`ftruncate`, map it with :meth:`mmap_fd`."""
        from mrelease_ref.mm.memfd import sys_memfd_create

        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        _int_arg("flags", flags)
        return self._syscall(_as_gen(sys_memfd_create, self.task, name, flags), "memfd_create")

    @api_entry(gate=True)
    def ftruncate(self, fd: int, length: int) -> None:
        """``ftruncate()`` of a memfd (bytes; the model keeps whole pages)."""
        from mrelease_ref.mm.memfd import do_ftruncate

        _int_arg("fd", fd)
        _int_arg("length", length)
        self._syscall(_as_gen(do_ftruncate, self.task, fd, length), "ftruncate")

    @api_entry(gate=True)
    def mmap_fd(
        self, fd: int, nr_pages: int, shared: bool, *, write: bool = True, offset: int = 0
    ) -> Mapping:
        """``mmap()`` of an open descriptor (a memfd, or a file from :meth:`open`)."""
        _int_arg("fd", fd)
        files = self.task.files
        f = files.fdt.get(fd) if files is not None else None
        if f is None:
            raise OSError(errno.EBADF, "mmap: Bad file descriptor")
        if f.f_inode is None:  # a tty or a pidfd: no ->mmap (do_mmap())
            raise OSError(errno.ENODEV, "mmap: No such device")
        bool_arg("shared", shared)
        return self.mmap(nr_pages, f.f_inode, shared, write=write,
                         fd_write=bool(f.f_mode & FMODE_WRITE), offset=offset)

    @api_entry(gate=True)
    def mincore(
        self,
        m: Mapping | int,
        *,
        start: int = 0,
        nr_pages: int | None = None,
        length: int | None = None,
    ) -> list[int]:
        """``mincore()``: one entry per page, 1 if resident (file VMAs: in the page cache,
        mapped or not). OSError(EINVAL) for an unaligned address, ENOMEM for a hole."""
        from mrelease_ref.mm.mincore import sys_mincore

        addr, size = self._range(m, start, nr_pages, length)
        self._check_can_call()
        with self.kernel.running(self.task):
            vec = sys_mincore(self.task, addr, size)
        if isinstance(vec, int):
            _raise(vec, "mincore")
            return []
        return vec

    @api_entry()
    def smaps(self) -> list[dict[str, int | str]]:
        """``/proc/<pid>/smaps``: one dict per VMA (start, end, perms, name, Size and the
        kB fields of ``mrelease_ref.fs.proc.task_mmu.SMAPS_FIELDS``); [] without an mm."""
        from mrelease_ref.fs.proc.task_mmu import show_smap

        mm = self.task.mm
        return [] if mm is None else [show_smap(vma) for vma in mm.mm_mt]

    # --- processes and signals ---------------------------------------------------------------

    @api_entry(gate=True)
    def pidfd_open(self, pid: int, flags: int = 0) -> int:
        """``pidfd_open()``: returns a pidfd, raises OSError like ``os.pidfd_open``."""
        from mrelease_ref.kernel.pid import sys_pidfd_open

        _int_arg("pid", pid)
        _int_arg("flags", flags)
        return self._syscall(_as_gen(sys_pidfd_open, self.task, pid, flags), "pidfd_open")

    @api_entry(gate=True)
    def kill(self, pid: int, sig: int) -> None:
        """``kill()``: raises OSError(EPERM/ESRCH/EINVAL) like ``os.kill``."""
        from mrelease_ref.kernel.signal import sys_kill

        _int_arg("pid", pid)
        _int_arg("sig", sig)
        self._syscall(_as_gen(sys_kill, self.task, pid, int(sig)), "kill")

    @api_entry(gate=True)
    def pidfd_send_signal(self, pidfd: int, sig: int, flags: int = 0) -> None:
        """``pidfd_send_signal()`` (no siginfo): the pidfd's scope (PIDFD_THREAD: one
        thread) or a PIDFD_SIGNAL_THREAD/THREAD_GROUP flag; raises OSError like the kernel."""
        from mrelease_ref.kernel.signal import sys_pidfd_send_signal

        _int_arg("pidfd", pidfd)
        _int_arg("sig", sig)
        _int_arg("flags", flags)
        self._syscall(
            _as_gen(sys_pidfd_send_signal, self.task, pidfd, int(sig), flags),
            "pidfd_send_signal",
        )

    @api_entry(gate=True)
    def process_mrelease(self, pidfd: int, flags: int = 0) -> None:
        """``process_mrelease()``: returns None or raises OSError with the kernel's errno."""
        _int_arg("pidfd", pidfd)
        _int_arg("flags", flags)
        if flags < 0:
            flags &= 0xFFFFFFFF  # unsigned int in the kernel
        sys_process_mrelease = self.kernel.series.process_mrelease  # the variant's syscall
        self._syscall(sys_process_mrelease(self.task, pidfd, flags), "process_mrelease")

    @api_entry(gate=True)
    def sigaction(self, sig: int, handler: str | Callable[[int], None]) -> None:
        """Set the action for ``sig``: "SIG_DFL", "SIG_IGN", "exit_group", or a callable
        ``handler(sig)`` run at delivery."""
        from mrelease_ref.kernel.signal import SIGKILL, SIGSTOP, valid_signal

        _int_arg("sig", sig)
        if not valid_signal(sig) or sig < 1:  # do_sigaction()
            raise OSError(errno.EINVAL, f"sigaction: invalid signal {sig}")
        if int(sig) in (SIGKILL, SIGSTOP):
            raise OSError(errno.EINVAL, "sigaction: SIGKILL and SIGSTOP cannot be caught")
        if not callable(handler) and (
            not isinstance(handler, str) or handler not in (SIG_DFL, SIG_IGN, "exit_group")
        ):
            raise TypeError("handler must be 'SIG_DFL', 'SIG_IGN', 'exit_group' or a callable")
        if handler == SIG_DFL:
            self.task.sighand.action.pop(int(sig), None)
        else:
            self.task.sighand.action[int(sig)] = handler

    @api_entry(gate=True)
    def sigprocmask(self, how: int, sigs: Iterable[int]) -> None:
        """Block or unblock signals for this thread (SIGKILL/SIGSTOP stay unblocked)."""
        from mrelease_ref.kernel.signal import SIGKILL, SIGSTOP, recalc_sigpending

        _int_arg("how", how)
        if how not in (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK):
            raise ValueError("how must be SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK")
        mask = 0
        for s in signal_numbers_arg("sigs", sigs):
            mask |= sigmask(s)
        mask &= ~(sigmask(SIGKILL) | sigmask(SIGSTOP))
        t = self.task
        if how == SIG_BLOCK:
            t.blocked |= mask
        elif how == SIG_UNBLOCK:
            t.blocked &= ~mask
        elif how == SIG_SETMASK:
            t.blocked = mask
        else:
            raise ValueError("how must be SIG_BLOCK, SIG_UNBLOCK or SIG_SETMASK")
        recalc_sigpending(t)
        if t.sigpending:
            self.kernel.wake_signal(t)

    @api_entry(gate=True)
    def exit(self, code: int = 0) -> None:
        """``exit_group(code)``: the process starts exiting when it next runs."""
        from mrelease_ref.kernel.exit import do_group_exit

        _int_arg("code", code)
        self.kernel.start(self.task, do_group_exit(self.task, code), "exit_group")

    @api_entry(gate=True)
    def thread_exit(self, code: int = 0) -> None:
        """``exit(code)`` of this thread only (SYS_exit)."""
        from mrelease_ref.kernel.exit import do_exit

        _int_arg("code", code)
        self.kernel.start(self.task, do_exit(self.task, code), "exit")

    @api_entry(gate=True)
    def waitpid(self, pid: int, options: int = 0) -> int:
        """``waitpid()`` for a child: sleeps until it has exited, then reaps it.

        With ``options=WNOHANG`` (1) it returns 0 at once while the child has not exited.
        Without it, a child that nothing will make exit would sleep forever: the model
        raises ValueError (kill the child or let it exit first) and leaves no waiter.
        """
        from mrelease_ref.include.linux.sched import thread_group_empty
        from mrelease_ref.kernel.exit import wait_task_zombie
        from mrelease_ref.sim.kernel import Deadlock

        _int_arg("pid", pid)
        _int_arg("options", options)
        if options & ~WNOHANG:
            raise OSError(errno.EINVAL, "waitpid: only WNOHANG is modelled")
        for child in self.task.children:
            if child.tgid == pid:
                if options & WNOHANG and not (
                    child.exit_state == EXIT_ZOMBIE and thread_group_empty(child)
                ):
                    return 0
                try:
                    return self._syscall(wait_task_zombie(self.task, child), "waitpid")
                except Deadlock as e:
                    raise ValueError(
                        f"waitpid({pid}) would sleep forever: {child.comm} has not exited and "
                        "nothing will make it exit; kill() it or exit() it first, or pass WNOHANG"
                    ) from e
        raise OSError(errno.ECHILD, "waitpid: No child processes")

    # --- threads, sharers and children -------------------------------------------------------

    @api_entry(gate=True)
    def clone_thread(self) -> Process:
        """A new thread in this process (CLONE_VM|CLONE_THREAD|CLONE_SIGHAND|CLONE_FILES)."""
        from mrelease_ref.sim.clone import clone_thread

        p = Process(self.kernel, clone_thread(self.task))
        self.kernel._after_api()
        return p

    @api_entry(gate=True)
    def clone_vm(self, name: str, *, vfork: bool = False) -> Process:
        """A new process sharing this address space (CLONE_VM; with ``vfork``, CLONE_VFORK).

        The child is this process's child: reap it with ``waitpid()``.
        """
        from mrelease_ref.sim.clone import clone_vm

        str_arg("name", name)
        bool_arg("vfork", vfork)
        p = Process(self.kernel, clone_vm(self.task, name, vfork))
        self.kernel._after_api()
        return p

    @api_entry(gate=True)
    def spawn_child(self, name: str, uid: int | None = None) -> Process:
        """fork() + execve(): a child with a fresh address space, reaped by ``waitpid()``."""
        return self.kernel.spawn(name, self.task.cred.uid if uid is None else uid, parent=self)

    # --- /proc readers and the freezer ---------------------------------------------------------

    @api_entry(gate=True)
    def read_proc(self, pid: int, name: str = "cmdline", *, block: bool = False) -> ProcRead:
        """Read ``/proc/<pid>/cmdline`` (or ``environ``/``mem``).

        With ``block=True`` the read stops inside copy_to_user() holding the target's
        ``mm_users`` until ``ProcRead.release()``; the reader then finishes when it runs.
        """
        from mrelease_ref.fs.proc.base import UserBuffer, mem_release

        _int_arg("pid", pid)
        if not isinstance(name, str) or name not in ("cmdline", "environ", "mem"):
            raise ValueError("name must be 'cmdline', 'environ' or 'mem'")
        bool_arg("block", block)
        k = self.kernel
        target = _proc_task(k, pid)
        if target is None:
            raise OSError(errno.ENOENT, f"open /proc/{pid}/{name}: No such file or directory")
        if self.task.work is not None:
            raise ValueError(f"{self.comm} is busy in {self.task.work_label!r}; run the kernel "
                             "(Kernel.run()) before it reads")
        buf = UserBuffer(faulting=block)
        if name == "cmdline":
            gen = k.series.get_task_cmdline(self.task, target, buf)
        else:
            with k.running(self.task):
                mm = _mem_open(self.task, target, _PROC_MODES[name])
            if isinstance(mm, int):
                raise OSError(-mm, f"open /proc/{pid}/{name}: {os.strerror(-mm)}")
            gen = _read_then_close(self.task, mm, buf)
            try:
                k.start(self.task, gen, f"read /proc/{pid}/{name}")
            except BaseException:
                gen.close()
                mem_release(mm)  # no read will run: the open's mm_count goes with the file
                raise
            gen = None
        if gen is not None:
            k.start(self.task, gen, f"read /proc/{pid}/{name}")
        while self.task.work is not None and k.step(self.task):
            pass
        k._after_api()
        return ProcRead(self, buf)

    @api_entry()
    def freeze(self) -> None:
        """Put every thread in a cgroup-v1 freezer and wait until it reads FROZEN: nothing
        runs, SIGKILL included. How each thread freezes depends on what it sleeps in
        (:meth:`sleep`, :mod:`mrelease_ref.kernel.freezer`)."""
        from mrelease_ref.sim.freezing import freeze_process

        freeze_process(self.kernel, self.task)
        self.kernel._after_api()

    @api_entry()
    def thaw(self) -> None:
        """Release the freezer (``freezer.state`` THAWED)."""
        from mrelease_ref.sim.freezing import thaw_process_group

        thaw_process_group(self.kernel, self.task)
        self.kernel._after_api()

    # --- signals to threads, freezer sleeps (kernel/signal.c, kernel/freezer.c) ------------

    @api_entry(gate=True)
    def sleep(self, how: str) -> None:
        """Say what this thread's user space waits in: ``"nanosleep"`` (the default),
        ``"futex"``, ``"sigtimedwait"`` (TASK_FREEZABLE sleeps), ``"pause"``,
        ``"sigsuspend"``, ``"poll"``, ``"select"``, ``"epoll_wait"`` (not freezable), or
        ``"busy"`` (computing). It decides how the freezer freezes the thread and what a
        signal then does (:mod:`mrelease_ref.kernel.freezer`)."""
        from mrelease_ref.kernel.freezer import USER_SLEEPS

        if not isinstance(how, str) or how not in USER_SLEEPS:
            raise ValueError(f"how must be one of {sorted(USER_SLEEPS)}, got {how!r}")
        self._check_can_call()
        if self.task.work is not None:
            raise ValueError(f"{self.comm} (tid {self.tid}) is in the kernel "
                             f"({self.task.work_label}); let it finish (Kernel.run()) first")
        self.task.sleep_state = USER_SLEEPS[how]

    @property
    def freezer_state(self) -> str:
        """``freezer.state`` of this process's freezer group ("THAWED" if it has none)."""
        from mrelease_ref.kernel.cgroup.legacy_freezer import freezer_read, task_freezer

        fz = task_freezer(self.task)
        return "THAWED" if fz is None else freezer_read(fz)

    @api_entry(gate=True)
    def tgkill(self, tgid: int, tid: int, sig: int) -> None:
        """``tgkill()``: signal thread ``tid`` of process ``tgid`` only (PIDTYPE_PID);
        raises OSError(EINVAL/ESRCH/EPERM) like the kernel."""
        from mrelease_ref.kernel.signal import sys_tgkill

        _int_arg("tgid", tgid)
        _int_arg("tid", tid)
        _int_arg("sig", sig)
        self._syscall(_as_gen(sys_tgkill, self.task, tgid, tid, int(sig)), "tgkill")

    @api_entry(gate=True)
    def fsync(self, fd: int, *, background: bool = False) -> WorkResult | None:
        """``fsync()`` of a file: write back its dirty pages and wait for the I/O
        (``file_write_and_wait_range()``, an uninterruptible wait).

        ``background=True`` starts the call in this thread and returns at once with the
        :class:`~mrelease_ref.sim.kernel.WorkResult`; on a hung device
        (``Kernel.hold_io = True``) the thread then sleeps in D state -- not woken by any
        signal, not frozen by the freezer -- until the I/O completes.
        """
        from mrelease_ref.mm.page_writeback import file_write_and_wait_range

        _int_arg("fd", fd)
        bool_arg("background", background)
        self._check_can_call()
        files = self.task.files
        f = files.fdt.get(fd) if files is not None else None
        if f is None:
            raise OSError(errno.EBADF, "fsync: Bad file descriptor")
        inode = f.f_inode
        if inode is None:
            raise OSError(errno.EINVAL, "fsync: Invalid argument")
        gen = file_write_and_wait_range(inode.i_mapping, 0, inode.i_size - 1)
        if background:
            result = self.kernel.start(self.task, gen, "fsync")
            self.kernel.step(self.task)  # enter the call: submit the I/O, start waiting
            self.kernel._after_api()
            return result
        self._syscall(gen, "fsync")
        return None

    @api_entry(gate=True)
    def tkill(self, tid: int, sig: int) -> None:
        """``tkill()``: signal thread ``tid`` only; raises OSError like the kernel."""
        from mrelease_ref.kernel.signal import sys_tkill

        _int_arg("tid", tid)
        _int_arg("sig", sig)
        self._syscall(_as_gen(sys_tkill, self.task, tid, int(sig)), "tkill")

    # --- fork with copy-on-write, page contents, read()/write(), /proc/<pid>/mem ----------
    # (added together; the kernel side is kernel/fork.py, mm/memory.py, mm/filemap.py,
    # mm/gup.py and fs/proc/base.py)

    @api_entry(gate=True)
    def fork(self, name: str | None = None, *, uid: int | None = None) -> Process:
        """``fork()``: a child with a copy-on-write copy of this address space.

        Every private page is shared write-protected until one side writes it; shared
        mappings stay shared. ``name`` defaults to this process's name. ``uid`` runs
        setuid() in the child (root only drops its capabilities with a new uid). The
        child is this process's child: reap it with ``waitpid()``. Raises OSError(EINTR)
        when a signal is pending in this process (the kernel restarts the call after
        delivering it, or the process dies of it).
        """
        from mrelease_ref.include.linux.sched import Cred
        from mrelease_ref.kernel.fork import ERESTARTNOINTR, copy_process

        comm = self.comm if name is None else name
        if not isinstance(comm, str) or not comm:
            raise TypeError("name must be a non-empty str (or None for the parent's)")
        if uid is not None:
            _int_arg("uid", uid)
            if uid < 0:
                raise ValueError("uid must be >= 0")
            if self.task.cred.uid != 0 and uid != self.task.cred.uid:
                raise ValueError("only root may fork a child with another uid (setuid)")
        self._check_can_call()
        if self.task.mm is None:
            raise ValueError(f"{self.comm} has no address space to fork")
        child: list[TaskStruct] = []

        def call() -> KernelGen[int]:
            t = yield from copy_process(self.task, comm)
            if isinstance(t, int):
                return t
            child.append(t)
            return t.tgid

        k = self.kernel
        ret = k.syscall(self.task, call())
        k._after_api()
        if ret == -ERESTARTNOINTR:
            raise OSError(errno.EINTR, "fork: a signal is pending (copy_process() returned "
                                       "-ERESTARTNOINTR; the signal is handled first)")
        _raise(ret, "fork")
        t = child[0]
        if uid is not None and uid != t.cred.uid:
            t.cred = Cred(uid, t.cred.caps if uid == 0 else frozenset())
        return Process(k, t)

    def _page_addr(self, m: Mapping, page: int) -> int:
        if not isinstance(m, Mapping):
            raise TypeError("pass the Mapping that mmap() returned")
        _int_arg("page", page)
        if not 0 <= page < m.nr_pages:
            raise ValueError(f"page {page} is outside {m!r} (0..{m.nr_pages - 1})")
        return m.start + (page << self.kernel.pg.PAGE_SHIFT)

    @api_entry(gate=True)
    def poke(self, m: Mapping, page: int = 0, value: int | None = None, *,
             partial: bool = False) -> int:
        """Store to one page of ``m`` (a user-space write): fault it in for writing, then
        fill it with ``value`` (default: a fresh token) -- or, with ``partial``, store
        ``value`` into part of it, so the result depends on the old content
        (``partial_write_token(old, value)``). Returns the page's new content token, or
        raises OSError(EFAULT) after the fault's signal (SIGBUS, the OOM kill) was sent."""
        if value is not None:
            _int_arg("value", value)
        bool_arg("partial", partial)
        token = self.kernel.next_token() if value is None else value
        return self._access(m, page, True, lambda vma, addr: _cpu_store(
            vma, addr, token, {} if partial else None))

    @api_entry(gate=True)
    def peek(self, m: Mapping, page: int = 0) -> int:
        """Load from one page of ``m`` (a user-space read): fault it in, return its token
        (0 for zeros). Raises OSError(EFAULT) after a failed fault's signal."""
        return self._access(m, page, False, _cpu_load)

    def _access(self, m: Mapping, page: int, write: bool,
                cpu: Callable[[VmAreaStruct, int], int]) -> int:
        """One user-space access to a page: the fault, then what the CPU does (``cpu``)."""
        from mrelease_ref.include.linux.mm_types import find_vma
        from mrelease_ref.kernel.signal import SIGSEGV
        from mrelease_ref.mm.memory import handle_mm_fault
        from mrelease_ref.mm.mprotect import access_error

        self._check_can_call()
        addr = self._page_addr(m, page)
        k = self.kernel
        mm = self.task.mm
        assert mm is not None
        vma = find_vma(mm, addr)
        if vma is None or vma.vm_start > addr or access_error(write, vma):
            # do_user_addr_fault(): bad_area() / bad_area_access_error() -> SIGSEGV
            _force_sig_fault(self.task, SIGSEGV)
            k._after_api()
            what = "poke: the write" if write else "peek: the read"
            raise OSError(errno.EFAULT, f"{what} took SIGSEGV at {addr:#x}")
        with k.running(self.task):
            ret = handle_mm_fault(vma, addr, write)
            token = 0 if ret else cpu(vma, addr)
        if ret:
            self._fault_signal(ret)
        k._after_api()
        if ret:
            what = "poke: the write" if write else "peek: the read"
            raise OSError(errno.EFAULT, f"{what} faulted (vm_fault {ret:#x})")
        return token

    def _file(self, fd: int, mode: int, what: str) -> File:
        _int_arg("fd", fd)
        files = self.task.files
        f = files.fdt.get(fd) if files is not None else None
        if f is None or f.f_inode is None or f.f_inode.kind not in ("ext4", "shmem"):
            raise OSError(errno.EBADF, f"{what}: Bad file descriptor")
        if not f.f_mode & mode:
            raise OSError(errno.EBADF, f"{what}: file not open for {what}ing")
        return f

    def _page_offset(self, offset: int) -> int:
        _int_arg("offset", offset)
        pg = self.kernel.pg
        if offset < 0 or offset & ((1 << pg.PAGE_SHIFT) - 1):
            raise ValueError(f"offset must be a non-negative multiple of {pg.PAGE_SIZE}, "
                             f"got {offset}")
        return offset >> pg.PAGE_SHIFT

    @api_entry(gate=True)
    def write(self, fd: int, offset: int, nr_pages: int | None = None,
              data: Sequence[int] | None = None) -> int:
        """``pwrite()`` whole pages at byte ``offset`` (page aligned): either ``nr_pages``
        pages of fresh tokens or the tokens in ``data``. The pages go to the page cache,
        dirty (``generic_perform_write()``). Returns the bytes written."""
        from mrelease_ref.mm.filemap import generic_perform_write

        pg = self.kernel.pg
        if (nr_pages is None) == (data is None):
            raise TypeError("pass exactly one of nr_pages= and data=")
        index = self._page_offset(offset)
        k = self.kernel
        if data is None:
            assert nr_pages is not None
            _int_arg("nr_pages", nr_pages)
            if nr_pages < 0:
                raise ValueError("nr_pages must be >= 0")
            tokens = [k.next_token() for _ in range(nr_pages)]
        else:
            tokens = list(data)
            for t in tokens:
                _int_arg("data item", t)
        self._check_can_call()
        f = self._file(fd, FMODE_WRITE, "write")
        assert f.f_mapping is not None
        with k.running(self.task):
            done = generic_perform_write(f.f_mapping, index, tokens)
        k._after_api()
        if tokens and not done:
            raise OSError(errno.ENOMEM, "write: Cannot allocate memory")
        return done << pg.PAGE_SHIFT

    @api_entry(gate=True)
    def read(self, fd: int, offset: int, nr_pages: int) -> list[int]:
        """``pread()`` of whole pages at byte ``offset`` (page aligned): the pages' tokens
        (fewer at the end of the file), through the page cache (``filemap_read()``)."""
        from mrelease_ref.mm.filemap import filemap_read

        index = self._page_offset(offset)
        _int_arg("nr_pages", nr_pages)
        if nr_pages < 0:
            raise ValueError("nr_pages must be >= 0")
        self._check_can_call()
        f = self._file(fd, FMODE_READ, "read")
        assert f.f_mapping is not None
        k = self.kernel
        with k.running(self.task):
            out = filemap_read(f, index, nr_pages)
        k._after_api()
        if out is None:
            raise OSError(errno.ENOMEM, "read: Cannot allocate memory")
        return out

    @api_entry(gate=True)
    def proc_mem_open(self, pid: int) -> ProcMem:
        """Open ``/proc/<pid>/mem``: raises OSError(ESRCH) when the task has no mm (a
        zombie), OSError(EACCES) without ptrace access; the handle keeps the mm struct
        (``mm_count``), not its memory."""
        _int_arg("pid", pid)
        self._check_can_call()
        target = _proc_task(self.kernel, pid)
        if target is None:
            raise OSError(errno.ENOENT, f"open /proc/{pid}/mem: No such file or directory")
        with self.kernel.running(self.task):
            mm = _mem_open(self.task, target)
        _raise(mm if isinstance(mm, int) else 0, f"open /proc/{pid}/mem")
        assert not isinstance(mm, int)
        return ProcMem(self, pid, mm)

    @api_entry(gate=True)
    def proc_mem_read(self, pid: int, addr: int, nr_pages: int) -> list[int]:
        """Open ``/proc/<pid>/mem``, read ``nr_pages`` pages at ``addr``, close it."""
        fh = self.proc_mem_open(pid)
        try:
            return fh.read(addr, nr_pages)
        finally:
            fh.close()

    @api_entry(gate=True)
    def proc_mem_write(self, pid: int, addr: int, data: Sequence[int]) -> int:
        """Open ``/proc/<pid>/mem``, write one page per token at ``addr``, close it;
        returns the pages written."""
        fh = self.proc_mem_open(pid)
        try:
            return fh.write(addr, data)
        finally:
            fh.close()


@dataclass(slots=True, eq=False)
class ProcMem:
    """An open ``/proc/<pid>/mem``: reads and writes at an address, page granular."""

    process: Process
    pid: int
    mm: Any
    closed: bool = False

    def _rw(self, addr: int, buf: list[int], nr_pages: int, write: bool) -> int:
        from mrelease_ref.fs.proc.base import mem_rw_pages

        pg = self.process.kernel.pg
        if self.closed:
            raise ValueError("this /proc/<pid>/mem handle is closed")
        _int_arg("addr", addr)
        if addr < 0 or addr & ((1 << pg.PAGE_SHIFT) - 1):
            raise ValueError(f"addr must be a page-aligned address, got {addr:#x}")
        p = self.process
        what = f"{'write' if write else 'read'} /proc/{self.pid}/mem"
        return p._syscall(mem_rw_pages(p.task, self.mm, addr, buf, nr_pages, write), what)

    def read(self, addr: int, nr_pages: int) -> list[int]:
        """``pread()``: the tokens of up to ``nr_pages`` pages at ``addr`` (fewer on a short
        read, none at end of file); OSError(EIO) when the first page cannot be read."""
        _int_arg("nr_pages", nr_pages)
        if nr_pages < 0:
            raise ValueError("nr_pages must be >= 0")
        buf: list[int] = []
        self._rw(addr, buf, nr_pages, write=False)
        return buf

    def write(self, addr: int, data: Sequence[int]) -> int:
        """``pwrite()`` of one page per token at ``addr``; returns the pages written
        (OSError(EIO) when not even the first one could be)."""
        buf = list(data)
        for t in buf:
            _int_arg("data item", t)
        return self._rw(addr, buf, len(buf), write=True)

    def close(self) -> None:
        """``close()``: drop the mm_count the open took."""
        from mrelease_ref.fs.proc.base import mem_release

        if not self.closed:
            self.closed = True
            mem_release(self.mm)


def _mem_open(current: TaskStruct, target: TaskStruct, mode: int = PTRACE_MODE_ATTACH) -> Any:
    """``open("/proc/<pid>/mem")`` (or ``environ`` with PTRACE_MODE_READ): fs/proc/base.c:
    mem_open() -> __mem_open() (module level: inside the class body the name would be
    mangled)."""
    from mrelease_ref.fs.proc.base import __mem_open

    return __mem_open(current, target, mode)


def _user_entry(vma: VmAreaStruct, addr: int) -> tuple[Folio | None, int, bool]:
    """The page a present entry maps at ``addr``: (folio or None for the zero page / a PFN,
    index in the folio, writable?)."""
    from mrelease_ref.include.linux.mm_types import _PAGE_RW, PTE_IDX_SHIFT, PTE_PRESENT, Pmd

    pg = vma.vm_mm.kernel.pg
    entry = vma.vm_mm.pgd[addr >> pg.PMD_SHIFT]
    if isinstance(entry, Pmd):
        return entry.folio, pg.pte_index(addr), bool(entry.bits & _PAGE_RW)
    i = pg.pte_index(addr)
    val, folio = entry.vals[i], entry.refs[i]  # ptep_get(), read without building a Pte
    assert val & PTE_PRESENT and not isinstance(folio, SwpEntry)
    return folio, val >> PTE_IDX_SHIFT, bool(val & _PAGE_RW)


def _cpu_store(vma: VmAreaStruct, addr: int, token: int, partial: dict[int, int] | None
               ) -> int:
    """What the CPU does with a store once the fault handler made the entry writable: the
    whole page becomes ``token``, or (``partial``, a memo of old -> new contents) a part
    of it does. Returns the page's new content."""
    from mrelease_ref.include.linux.highmem import (
        memcpy_from_page,
        memcpy_to_page,
        partial_write_token,
    )

    folio, idx, writable = _user_entry(vma, addr)
    assert writable, f"store through a read-only entry at {addr:#x}"
    if folio is None:
        return token
    if partial is not None:
        old = memcpy_from_page((folio, idx))
        new = partial.get(old)
        if new is None:
            new = partial[old] = partial_write_token(old, token)
        token = new
    memcpy_to_page((folio, idx), token)
    return token


def _cpu_load(vma: VmAreaStruct, addr: int) -> int:
    """What the CPU reads through a present entry (the zero page and PFN maps read 0)."""
    from mrelease_ref.include.linux.highmem import memcpy_from_page

    folio, idx, _ = _user_entry(vma, addr)
    return 0 if folio is None else memcpy_from_page((folio, idx))


def _deliver_fault_signal(task: TaskStruct, ret: int, sig: int | None = None) -> None:
    """What the arch fault handler does with a failed fault: SIGBUS (force_sig_fault()),
    or an OOM kill for VM_FAULT_OOM (pagefault_out_of_memory())."""
    from mrelease_ref.kernel.signal import SIGBUS, SIGKILL
    from mrelease_ref.mm.memory import VM_FAULT_OOM

    if sig is None:
        sig = SIGKILL if ret & VM_FAULT_OOM else SIGBUS
    _force_sig_fault(task, sig)


def _force_sig_fault(task: TaskStruct, sig: int) -> None:
    """``force_sig_fault()``: unblock, reset to SIG_DFL, and send. Module level on purpose:
    inside a class body ``__send_signal_locked`` would be name-mangled."""
    from mrelease_ref.kernel.signal import __send_signal_locked

    task.blocked &= ~sigmask(sig)  # force_sig_info(): unblock and reset to SIG_DFL
    task.sighand.action.pop(sig, None)
    # force_sig_info_to_task(): a default-action fault signal kills even a namespace init
    task.signal.flags &= ~SIGNAL_UNKILLABLE
    __send_signal_locked(sig, task, PIDTYPE_PID, force=True)


def _access_range(task: TaskStruct, mm: Any, addr: int, nr_pages: int, write: bool,
                  token: int = 0) -> int:
    """User accesses to ``nr_pages`` pages from ``addr``, each resolved against ``mm``'s
    VMAs as the MMU and ``do_user_addr_fault()`` would: a fault in a VMA, or SIGSEGV at
    the first address no VMA covers (``bad_area()``) or an access the VMA forbids
    (``access_error()``). A write stores part of ``token`` in each page (``_cpu_store()``).
    Returns the pages accessed."""
    from mrelease_ref.include.linux.mm_types import find_vma
    from mrelease_ref.kernel.signal import SIGSEGV
    from mrelease_ref.mm.memory import VM_FAULT_OOM, VM_FAULT_SIGBUS, handle_mm_fault
    from mrelease_ref.mm.mprotect import access_error

    partial: dict[int, int] = {}  # old content -> new content, for this call
    done = 0
    shift = mm.kernel.pg.PAGE_SHIFT
    for a in range(addr, addr + (nr_pages << shift), 1 << shift):
        vma = find_vma(mm, a)
        if vma is None or not vma.vm_start <= a:
            _force_sig_fault(task, SIGSEGV)  # bad_area(): SEGV_MAPERR
            break
        if access_error(write, vma):
            _force_sig_fault(task, SIGSEGV)  # access_error() -> bad_area_access_error()
            break
        ret = handle_mm_fault(vma, a, write)
        if ret & (VM_FAULT_SIGBUS | VM_FAULT_OOM):
            _deliver_fault_signal(task, ret)
            break
        if write:
            _cpu_store(vma, a, token, partial)
        done += 1
    return done


def _read_then_close(current: TaskStruct, mm: Any, buf: Any) -> KernelGen[int]:
    from mrelease_ref.fs.proc.base import mem_release, mem_rw

    n = yield from mem_rw(current, mm, buf)
    mem_release(mm)
    return n


def _proc_task(k: Kernel, pid: int) -> TaskStruct | None:
    """The task ``/proc/<pid>`` names: a process (a zombie too) or one of its threads
    (fs/proc/base.c:proc_pid_lookup() finds thread ids as well); None: ENOENT."""
    for t in k.tasks:
        for th in t.signal.threads if t.pid != pid else (t,):
            if th.pid == pid:
                return th
    return None


def _int_arg(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
