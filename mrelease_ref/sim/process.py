"""The user-space view of a process: what a program (or LMKD) can ask the kernel.

Not kernel code. A :class:`Process` wraps a thread-group leader; each method is a system
call or a memory access made by that process. System calls raise ``OSError`` with the
errno the kernel returns, as the ``os`` module does; misuse of this Python API raises
``TypeError``/``ValueError`` saying what to do instead.

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
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.sim.report import task_mem
from mrelease_ref.sim.sched import gc_paused

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import Kernel

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
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
        t = self.task
        if t.exit_state or t.dead:
            raise ValueError(f"{self.comm} (pid {self.pid}) has exited; it cannot make calls")
        if t.frozen:
            raise ValueError(f"{self.comm} is frozen; thaw() it before it makes calls")

    def _syscall(self, gen: KernelGen[int], what: str) -> int:
        self._check_can_call()
        k = self.kernel
        ret = k.syscall(self.task, gen)
        k._after_api()
        return _raise(ret, what)

    # --- memory ---------------------------------------------------------------------------

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
        """
        from mrelease_ref.mm.mmap import do_mmap

        if not isinstance(nr_pages, int) or isinstance(nr_pages, bool) or nr_pages <= 0:
            raise ValueError(f"nr_pages must be a positive int, got {nr_pages!r}")
        if file is not None and not isinstance(file, Inode):
            raise TypeError("file must come from Kernel.create_file() (or be None for anon)")
        if file is not None and offset + nr_pages > file.i_size:
            raise ValueError(f"mapping pages {offset}..{offset + nr_pages} exceeds {file!r}")
        self._check_can_call()
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
        kind = ("shared " if shared else "private ") + (
            file.name if file is not None else ("shmem" if shared else "anon")
        )
        self.kernel._after_api()
        return Mapping(vma.vm_start, nr_pages, kind)

    def _vma(self, m: Mapping) -> VmAreaStruct:
        if not isinstance(m, Mapping):
            raise TypeError("pass the Mapping that mmap() returned")
        mm = self.task.mm
        if mm is not None:
            for vma in mm.mm_mt:
                if vma.vm_start == m.start:
                    return vma
        raise ValueError(f"{m!r} is not mapped in {self.comm} (pid {self.pid})")

    def touch(
        self, m: Mapping, write: bool = False, *, start: int = 0, nr_pages: int | None = None
    ) -> int:
        """Access pages of ``m`` (read, or write): fault them in, or set young/dirty bits.

        Returns the number of pages accessed. A failing fault (SIGBUS after the reaper set
        MMF_UNSTABLE, or out of memory) sends the signal the kernel sends and stops.
        """
        from mrelease_ref.mm.memory import VM_FAULT_OOM, VM_FAULT_SIGBUS, handle_mm_fault

        self._check_can_call()
        vma = self._vma(m)
        count = m.nr_pages - start if nr_pages is None else nr_pages
        if start < 0 or count < 0 or start + count > m.nr_pages:
            raise ValueError(f"pages {start}..{start + count} are outside {m!r}")
        k = self.kernel
        done = 0
        with k.running(self.task), gc_paused():
            for addr in range(m.start + (start << PAGE_SHIFT),
                              m.start + ((start + count) << PAGE_SHIFT), 1 << PAGE_SHIFT):
                ret = handle_mm_fault(vma, addr, write)
                if ret & (VM_FAULT_SIGBUS | VM_FAULT_OOM):
                    self._fault_signal(ret)
                    break
                done += 1
        k._after_api()
        return done

    def _fault_signal(self, ret: int) -> None:
        _deliver_fault_signal(self.task, ret)

    def madvise(self, m: Mapping, advice: int) -> None:
        """``madvise()``: MADV_NORMAL/RANDOM/SEQUENTIAL/HUGEPAGE/NOHUGEPAGE, and
        MADV_COLD (20) / MADV_PAGEOUT (21), which run in the kernel as this process."""
        from mrelease_ref.include.linux.mm_types import VM_RAND_READ, VM_SEQ_READ
        from mrelease_ref.mm.madvise import MADV_COLD, MADV_PAGEOUT, madvise_cold, madvise_pageout

        vma = self._vma(m)
        if advice in (MADV_COLD, MADV_PAGEOUT):
            self._check_can_call()
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

    def munmap(self, m: Mapping) -> None:
        """``munmap()`` of a whole mapping."""
        from mrelease_ref.mm.mmap import do_munmap

        vma = self._vma(m)
        mm = self.task.mm
        assert mm is not None
        self._syscall(do_munmap(mm, vma, self.task), "munmap")

    def status(self) -> dict[str, int]:
        """``/proc/<pid>/status``: VmRSS, RssAnon, RssFile, RssShmem, VmSwap in kB."""
        from mrelease_ref.mm.oom_kill import find_lock_task_mm

        p = find_lock_task_mm(self.task)
        return task_mem(p.mm if p is not None else None)

    # --- files ---------------------------------------------------------------------------

    def open(self, file: Inode, write: bool = True) -> int:
        """``open()`` a file from Kernel.create_file(); returns the descriptor."""
        from mrelease_ref.kernel.pid import get_unused_fd

        if not isinstance(file, Inode):
            raise TypeError("open() takes a file from Kernel.create_file()")
        self._check_can_call()
        files = self.task.files
        assert files is not None
        fd = get_unused_fd(self.task)
        mode = FMODE_READ | (FMODE_WRITE if write else 0)
        files.fdt[fd] = File(file.kind, file, f_mode=mode)
        file.i_count += 1
        return fd

    def close(self, fd: int) -> None:
        """``close()``"""
        from mrelease_ref.kernel.pid import put_pid
        from mrelease_ref.mm.mmap import fput

        self._check_can_call()
        files = self.task.files
        f = files.fdt.pop(fd, None) if files is not None else None
        if f is None:
            raise OSError(errno.EBADF, "close: Bad file descriptor")
        if f.private_data is not None:
            put_pid(f.private_data)
        if f.f_inode is not None:
            fput(f)

    def posix_fadvise(self, fd: int, offset: int, length: int, advice: int) -> None:
        """``posix_fadvise()`` (offsets in bytes; ``length=0`` means to the end)."""
        from mrelease_ref.mm.fadvise import generic_fadvise

        self._check_can_call()
        files = self.task.files
        f = files.fdt.get(fd) if files is not None else None
        if f is None:
            raise OSError(errno.EBADF, "posix_fadvise: Bad file descriptor")
        with self.kernel.running(self.task):
            _raise(generic_fadvise(f, offset, length, advice), "posix_fadvise")
        self.kernel._after_api()

    # --- processes and signals ---------------------------------------------------------------

    def pidfd_open(self, pid: int, flags: int = 0) -> int:
        """``pidfd_open()``: returns a pidfd, raises OSError like ``os.pidfd_open``."""
        from mrelease_ref.kernel.pid import sys_pidfd_open

        _int_arg("pid", pid)
        _int_arg("flags", flags)
        return self._syscall(_as_gen(sys_pidfd_open, self.task, pid, flags), "pidfd_open")

    def kill(self, pid: int, sig: int) -> None:
        """``kill()``: raises OSError(EPERM/ESRCH/EINVAL) like ``os.kill``."""
        from mrelease_ref.kernel.signal import sys_kill

        _int_arg("pid", pid)
        _int_arg("sig", int(sig))
        self._syscall(_as_gen(sys_kill, self.task, pid, int(sig)), "kill")

    def pidfd_send_signal(self, pidfd: int, sig: int, flags: int = 0) -> None:
        """``pidfd_send_signal()`` (no siginfo; flags 0): raises OSError like the kernel."""
        from mrelease_ref.kernel.signal import sys_pidfd_send_signal

        _int_arg("pidfd", pidfd)
        _int_arg("sig", int(sig))
        _int_arg("flags", flags)
        self._syscall(
            _as_gen(sys_pidfd_send_signal, self.task, pidfd, int(sig), flags),
            "pidfd_send_signal",
        )

    def process_mrelease(self, pidfd: int, flags: int = 0) -> None:
        """``process_mrelease()``: returns None or raises OSError with the kernel's errno."""
        _int_arg("pidfd", pidfd)
        _int_arg("flags", flags)
        if flags < 0:
            flags &= 0xFFFFFFFF  # unsigned int in the kernel
        sys_process_mrelease = self.kernel.series.process_mrelease  # the variant's syscall
        self._syscall(sys_process_mrelease(self.task, pidfd, flags), "process_mrelease")

    def sigaction(self, sig: int, handler: str | Callable[[int], None]) -> None:
        """Set the action for ``sig``: "SIG_DFL", "SIG_IGN", "exit_group", or a callable
        ``handler(sig)`` run at delivery."""
        from mrelease_ref.kernel.signal import SIGKILL, SIGSTOP

        _int_arg("sig", int(sig))
        if int(sig) in (SIGKILL, SIGSTOP):
            raise OSError(errno.EINVAL, "sigaction: SIGKILL and SIGSTOP cannot be caught")
        if handler not in (SIG_DFL, SIG_IGN, "exit_group") and not callable(handler):
            raise TypeError("handler must be 'SIG_DFL', 'SIG_IGN', 'exit_group' or a callable")
        self._check_can_call()
        if handler == SIG_DFL:
            self.task.sighand.action.pop(int(sig), None)
        else:
            self.task.sighand.action[int(sig)] = handler

    def sigprocmask(self, how: int, sigs: Iterable[int]) -> None:
        """Block or unblock signals for this thread (SIGKILL/SIGSTOP stay unblocked)."""
        from mrelease_ref.kernel.signal import SIGKILL, SIGSTOP, recalc_sigpending

        mask = 0
        for s in sigs:
            mask |= sigmask(int(s))
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

    def exit(self, code: int = 0) -> None:
        """``exit_group(code)``: the process starts exiting when it next runs."""
        from mrelease_ref.kernel.exit import do_group_exit

        self._check_can_call()
        self.kernel.start(self.task, do_group_exit(self.task, code), "exit_group")

    def thread_exit(self, code: int = 0) -> None:
        """``exit(code)`` of this thread only (SYS_exit)."""
        from mrelease_ref.kernel.exit import do_exit

        self._check_can_call()
        self.kernel.start(self.task, do_exit(self.task, code), "exit")

    def waitpid(self, pid: int) -> int:
        """``waitpid()`` for a child: sleeps until it has exited, then reaps it."""
        from mrelease_ref.kernel.exit import wait_task_zombie

        for child in self.task.children:
            if child.tgid == pid:
                return self._syscall(wait_task_zombie(self.task, child), "waitpid")
        raise OSError(errno.ECHILD, "waitpid: No child processes")

    # --- threads, sharers and children -------------------------------------------------------

    def clone_thread(self) -> Process:
        """A new thread in this process (CLONE_VM|CLONE_THREAD|CLONE_SIGHAND|CLONE_FILES)."""
        from mrelease_ref.sim.clone import clone_thread

        self._check_can_call()
        p = Process(self.kernel, clone_thread(self.task))
        self.kernel._after_api()
        return p

    def clone_vm(self, name: str, *, vfork: bool = False) -> Process:
        """A new process sharing this address space (CLONE_VM; with ``vfork``, CLONE_VFORK).

        The child is this process's child: reap it with ``waitpid()``.
        """
        from mrelease_ref.sim.clone import clone_vm

        self._check_can_call()
        p = Process(self.kernel, clone_vm(self.task, name, vfork))
        self.kernel._after_api()
        return p

    def spawn_child(self, name: str, uid: int | None = None) -> Process:
        """fork() + execve(): a child with a fresh address space, reaped by ``waitpid()``."""
        self._check_can_call()
        return self.kernel.spawn(name, self.task.cred.uid if uid is None else uid, parent=self)

    # --- /proc readers and the freezer ---------------------------------------------------------

    def read_proc(self, pid: int, name: str = "cmdline", *, block: bool = False) -> ProcRead:
        """Read ``/proc/<pid>/cmdline`` (or ``environ``/``mem``).

        With ``block=True`` the read stops inside copy_to_user() holding the target's
        ``mm_users`` until ``ProcRead.release()``; the reader then finishes when it runs.
        """
        from mrelease_ref.fs.proc.base import UserBuffer, proc_mem_open

        if name not in ("cmdline", "environ", "mem"):
            raise ValueError("name must be 'cmdline', 'environ' or 'mem'")
        self._check_can_call()
        target = self.kernel.process(pid).task
        buf = UserBuffer(faulting=block)
        k = self.kernel
        if name == "cmdline":
            gen = k.series.get_task_cmdline(self.task, target, buf)
        else:
            with k.running(self.task):
                mm = proc_mem_open(target)
            if mm is None:
                return ProcRead(self, buf)
            gen = _read_then_close(self.task, mm, buf)
        k.start(self.task, gen, f"read /proc/{pid}/{name}")
        while self.task.work is not None and k.step(self.task):
            pass
        k._after_api()
        return ProcRead(self, buf)

    def freeze(self) -> None:
        """Put every thread in a cgroup-v1 freezer: nothing runs, SIGKILL included."""
        for t in self.task.signal.threads:
            t.frozen = True

    def thaw(self) -> None:
        """Release the freezer."""
        for t in self.task.signal.threads:
            t.frozen = False


def _deliver_fault_signal(task: TaskStruct, ret: int) -> None:
    """What the arch fault handler does with a failed fault: SIGBUS (force_sig_fault()),
    or an OOM kill for VM_FAULT_OOM (pagefault_out_of_memory()). Module level on purpose:
    inside a class body ``__send_signal_locked`` would be name-mangled."""
    from mrelease_ref.kernel.signal import SIGBUS, SIGKILL, __send_signal_locked
    from mrelease_ref.mm.memory import VM_FAULT_OOM

    sig = SIGKILL if ret & VM_FAULT_OOM else SIGBUS
    task.blocked &= ~sigmask(sig)  # force_sig_info(): unblock and reset to SIG_DFL
    task.sighand.action.pop(sig, None)
    # force_sig_info_to_task(): a default-action fault signal kills even a namespace init
    task.signal.flags &= ~SIGNAL_UNKILLABLE
    __send_signal_locked(sig, task, PIDTYPE_PID, force=True)


def _read_then_close(current: TaskStruct, mm: Any, buf: Any) -> KernelGen[int]:
    from mrelease_ref.fs.proc.base import mem_release, mem_rw

    n = yield from mem_rw(current, mm, buf)
    mem_release(mm)
    return n


def _int_arg(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
