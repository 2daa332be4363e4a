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
that covers only part of a VMA is refused with ValueError (no VMA splitting in the model).

Limitations:
- A process is single-threaded unless ``clone_thread()`` adds threads; threads can make
  the same calls through their own :class:`Process` handle.
- Memory accesses (``touch``) are page-granular; there is no data.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mrelease_ref.include.linux.fs import FMODE_READ, FMODE_WRITE, File, Inode
from mrelease_ref.include.linux.mm_types import (
    PAGE_SHIFT,
    VM_HUGEPAGE,
    VM_NOHUGEPAGE,
    VM_WRITE,
    VmAreaStruct,
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
    from mrelease_ref.sim.kernel import Kernel

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
WNOHANG = 1
_PROC_MODES = {"mem": PTRACE_MODE_ATTACH, "environ": PTRACE_MODE_READ}  # fs/proc/base.c
MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL = 0, 1, 2
MADV_HUGEPAGE, MADV_NOHUGEPAGE = 14, 15


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

    def __post_init__(self) -> None:
        int_arg("Mapping.start", self.start)
        positive_int_arg("Mapping.nr_pages", self.nr_pages)
        if not isinstance(self.kind, str):
            raise TypeError(f"Mapping.kind must be a str, got {self.kind!r}")

    @property
    def end(self) -> int:
        """First address past the mapping."""
        return self.start + (self.nr_pages << PAGE_SHIFT)


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
        if file is not None and file.kind != "ext4":
            raise ValueError("file must be a disk-backed file from Kernel.create_file()")
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
        nr_pages = (vma.vm_end - vma.vm_start) >> PAGE_SHIFT  # hugetlb rounds up
        kind = ("shared " if shared else "private ") + (
            file.name if file is not None else ("shmem" if shared else "anon")
        )
        self.kernel._after_api()
        return Mapping(vma.vm_start, nr_pages, kind)

    def _vma(self, m: Mapping) -> VmAreaStruct:
        """The caller's VMA that is exactly ``m`` (ValueError if there is none)."""
        vmas = self._vmas_in(m)
        if len(vmas) == 1 and (vmas[0].vm_start, vmas[0].vm_end) == (m.start, m.end):
            return vmas[0]
        raise ValueError(
            f"{m!r} is not exactly one mapping of {self.comm} (pid {self.pid}): pass the "
            "Mapping this process's mmap() returned"
        )

    def _vmas_in(self, m: Mapping) -> list[VmAreaStruct]:
        """The caller's VMAs inside ``m``; ValueError if one lies only partly inside it
        (the model does not split VMAs). Empty when nothing of ``m`` is mapped."""
        if not isinstance(m, Mapping):
            raise TypeError("pass the Mapping that mmap() returned")
        mm = self.task.mm
        if mm is None:
            raise ValueError(f"{self.comm} has no address space")
        vmas = [v for v in mm.mm_mt if v.vm_start < m.end and v.vm_end > m.start]
        for v in vmas:
            if v.vm_start < m.start or v.vm_end > m.end:
                raise ValueError(
                    f"{m!r} covers only part of a mapping of {self.comm} (pid {self.pid}); "
                    "the model does not split VMAs: pass the Mapping mmap() returned"
                )
        return vmas

    @api_entry(gate=True)
    def touch(
        self, m: Mapping, write: bool = False, *, start: int = 0, nr_pages: int | None = None
    ) -> int:
        """Access pages of ``m`` (read, or write): fault them in, or set young/dirty bits.

        Returns the number of pages accessed. A failing fault (SIGBUS after the reaper set
        MMF_UNSTABLE, or out of memory) sends the signal the kernel sends and stops; so
        does an address no VMA of this process covers (SIGSEGV, see the module docstring).
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
        with k.running(self.task), gc_paused():
            done = _access_range(self.task, mm, m.start + (start << PAGE_SHIFT), count, write)
        k._after_api()
        return done

    def _fault_signal(self, ret: int) -> None:
        _deliver_fault_signal(self.task, ret)

    @api_entry(gate=True)
    def madvise(self, m: Mapping, advice: int) -> None:
        """``madvise()``: MADV_NORMAL/RANDOM/SEQUENTIAL/HUGEPAGE/NOHUGEPAGE, and
        MADV_COLD (20) / MADV_PAGEOUT (21), which run in the kernel as this process.

        ENOMEM when no VMA of this process lies in ``m`` (as for an unmapped range)."""
        from mrelease_ref.include.linux.mm_types import VM_RAND_READ, VM_SEQ_READ
        from mrelease_ref.mm.madvise import MADV_COLD, MADV_PAGEOUT, madvise_cold, madvise_pageout

        int_arg("advice", advice)
        if not self._vmas_in(m):
            raise OSError(errno.ENOMEM, "madvise: range not mapped")
        vma = self._vma(m)
        if advice in (MADV_COLD, MADV_PAGEOUT):
            fn = madvise_pageout if advice == MADV_PAGEOUT else madvise_cold
            with self.kernel.running(self.task):
                ret = fn(vma, m.start, m.end)
            self.kernel._after_api()
            _raise(ret, "madvise")
        elif advice == MADV_NORMAL:
            vma.vm_flags &= ~(VM_SEQ_READ | VM_RAND_READ)
        elif advice == MADV_RANDOM:
            vma.vm_flags = (vma.vm_flags & ~VM_SEQ_READ) | VM_RAND_READ
        elif advice == MADV_SEQUENTIAL:
            vma.vm_flags = (vma.vm_flags & ~VM_RAND_READ) | VM_SEQ_READ
        elif advice == MADV_HUGEPAGE:  # hugepage_madvise()
            vma.vm_flags = (vma.vm_flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE
        elif advice == MADV_NOHUGEPAGE:
            vma.vm_flags = (vma.vm_flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE
        else:
            raise OSError(errno.EINVAL, "madvise: advice not modelled")

    @api_entry(gate=True)
    def munmap(self, m: Mapping) -> None:
        """``munmap()`` of the whole mappings inside ``m`` (none: nothing to do, success)."""
        from mrelease_ref.mm.mmap import do_munmap

        mm = self.task.mm
        for vma in self._vmas_in(m):
            assert mm is not None
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
        """``pidfd_send_signal()`` (no siginfo; flags 0): raises OSError like the kernel."""
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
        from mrelease_ref.fs.proc.base import (
            UserBuffer,
            get_task_cmdline,
            mem_release,
            proc_mem_open,
        )

        _int_arg("pid", pid)
        if not isinstance(name, str) or name not in ("cmdline", "environ", "mem"):
            raise ValueError("name must be 'cmdline', 'environ' or 'mem'")
        bool_arg("block", block)
        k = self.kernel
        target = next((t for t in k.tasks if t.pid == pid), None)
        if target is None:
            raise OSError(errno.ENOENT, f"open /proc/{pid}/{name}: No such file or directory")
        if self.task.work is not None:
            raise ValueError(f"{self.comm} is busy in {self.task.work_label!r}; run the kernel "
                             "(Kernel.run()) before it reads")
        buf = UserBuffer(faulting=block)
        if name == "cmdline":
            gen = get_task_cmdline(self.task, target, buf)
        else:
            with k.running(self.task):
                mm = proc_mem_open(target, self.task, _PROC_MODES[name])
            if isinstance(mm, int):
                raise OSError(-mm, f"open /proc/{pid}/{name}: {os.strerror(-mm)}")
            if mm is None:
                return ProcRead(self, buf)
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
        """Put every thread in a cgroup-v1 freezer: nothing runs, SIGKILL included."""
        for t in self.task.signal.threads:
            t.frozen = True

    @api_entry()
    def thaw(self) -> None:
        """Release the freezer."""
        for t in self.task.signal.threads:
            t.frozen = False


def _deliver_fault_signal(task: TaskStruct, ret: int) -> None:
    """What the arch fault handler does with a failed fault: SIGBUS (force_sig_fault()),
    or an OOM kill for VM_FAULT_OOM (pagefault_out_of_memory())."""
    from mrelease_ref.kernel.signal import SIGBUS, SIGKILL
    from mrelease_ref.mm.memory import VM_FAULT_OOM

    _force_sig_fault(task, SIGKILL if ret & VM_FAULT_OOM else SIGBUS)


def _force_sig_fault(task: TaskStruct, sig: int) -> None:
    """``force_sig_fault()``: unblock, reset to SIG_DFL, and send. Module level on purpose:
    inside a class body ``__send_signal_locked`` would be name-mangled."""
    from mrelease_ref.kernel.signal import __send_signal_locked

    task.blocked &= ~sigmask(sig)  # force_sig_info(): unblock and reset to SIG_DFL
    task.sighand.action.pop(sig, None)
    # force_sig_info_to_task(): a default-action fault signal kills even a namespace init
    task.signal.flags &= ~SIGNAL_UNKILLABLE
    __send_signal_locked(sig, task, PIDTYPE_PID, force=True)


def _access_range(task: TaskStruct, mm: Any, addr: int, nr_pages: int, write: bool) -> int:
    """User accesses to ``nr_pages`` pages from ``addr``, each resolved against ``mm``'s
    VMAs as the MMU and ``do_user_addr_fault()`` would: a fault in a VMA, or SIGSEGV at
    the first address no VMA covers (``bad_area()``) or a write to a VMA without
    VM_WRITE (``access_error()``). Returns the pages accessed."""
    from mrelease_ref.kernel.signal import SIGSEGV
    from mrelease_ref.mm.memory import VM_FAULT_OOM, VM_FAULT_SIGBUS, handle_mm_fault

    end = addr + (nr_pages << PAGE_SHIFT)
    done = 0
    while addr < end:
        vma = next((v for v in mm.mm_mt if v.vm_start <= addr < v.vm_end), None)
        if vma is None:
            _force_sig_fault(task, SIGSEGV)  # bad_area(): SEGV_MAPERR
            break
        if write and not vma.vm_flags & VM_WRITE:
            _force_sig_fault(task, SIGSEGV)  # access_error() -> bad_area_access_error()
            break
        stop = min(end, vma.vm_end)
        for a in range(addr, stop, 1 << PAGE_SHIFT):
            ret = handle_mm_fault(vma, a, write)
            if ret & (VM_FAULT_SIGBUS | VM_FAULT_OOM):
                _deliver_fault_signal(task, ret)
                return done
            done += 1
        addr = stop
    return done


def _read_then_close(current: TaskStruct, mm: Any, buf: Any) -> KernelGen[int]:
    from mrelease_ref.fs.proc.base import mem_release, mem_rw

    n = yield from mem_rw(current, mm, buf)
    mem_release(mm)
    return n


def _int_arg(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
