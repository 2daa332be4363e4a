"""Tasks, thread groups, signal state, credentials and pids.

Kernel: include/linux/sched.h (struct task_struct, PF_*), include/linux/sched/signal.h
(struct signal_struct, SIGNAL_*), include/linux/signal_types.h (struct sighand_struct),
include/linux/cred.h, include/linux/pid.h, include/linux/pid_namespace.h,
include/linux/fdtable.h.

Signal sets are ``int`` bitmasks with bit ``sig - 1`` for signal ``sig``, as ``sigset_t``.

Model-only task fields: ``kernel`` (owning Kernel), ``cpu`` (the CPU the task runs on),
``frozen`` (held by a cgroup freezer: not scheduled, not even by SIGKILL, as cgroup v1
behaves per docs/sources.md §M2), ``work`` (the kernel code the task is
executing, a generator driven by :mod:`mrelease_ref.sim.sched`), ``user_sleeping`` (sleeping
in user space, e.g. in ``nanosleep()``; a signal wakes it).

Freezer fields (kernel/freezer.c, see :mod:`mrelease_ref.kernel.freezer`): ``frozen`` is
``__state == TASK_FROZEN``; ``saved_state`` is the kernel's ``saved_state`` (the sleep a
task was frozen in, reset to TASK_RUNNING by a wake-up that matched it); ``sleep_state``
is the model's record of what the task's user space is waiting in while it has no other
kernel work: ``TASK_INTERRUPTIBLE|TASK_FREEZABLE`` for ``nanosleep()``/``futex()``
(the default), ``TASK_INTERRUPTIBLE`` for ``pause()``/``poll()``, ``TASK_RUNNING`` for a
task busy in user space. ``freezer`` is the legacy freezer cgroup the task is in (None:
the root, never freezing); ``memdie`` is TIF_MEMDIE.

Limitations:
- One uid per task (uid = euid = suid); capabilities are a set of names.
- No ptrace, no process groups or sessions, no CLONE_SIGHAND without CLONE_THREAD.
- Pid namespaces are a parent chain with per-level numbers; nothing else of a namespace.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import File
    from mrelease_ref.include.linux.mm_types import MmStruct
    from mrelease_ref.kernel.sched import KernelGen, Wait
    from mrelease_ref.sim.kernel import Kernel


class TaskFlags(enum.IntFlag):
    """``task->flags``. Kernel: include/linux/sched.h (PF_* defines)."""

    PF_EXITING = 0x00000004
    PF_POSTCOREDUMP = 0x00000008
    PF_SIGNALED = 0x00000400
    PF_KTHREAD = 0x00200000


PF_EXITING: Final = int(TaskFlags.PF_EXITING)
PF_POSTCOREDUMP: Final = int(TaskFlags.PF_POSTCOREDUMP)
PF_SIGNALED: Final = int(TaskFlags.PF_SIGNALED)
PF_KTHREAD: Final = int(TaskFlags.PF_KTHREAD)


class SignalFlags(enum.IntFlag):
    """``signal->flags``. Kernel: include/linux/sched/signal.h (SIGNAL_* defines)."""

    SIGNAL_STOP_STOPPED = 0x00000001
    SIGNAL_STOP_CONTINUED = 0x00000002
    SIGNAL_GROUP_EXIT = 0x00000004
    SIGNAL_UNKILLABLE = 0x00000040


SIGNAL_STOP_STOPPED: Final = int(SignalFlags.SIGNAL_STOP_STOPPED)
SIGNAL_STOP_CONTINUED: Final = int(SignalFlags.SIGNAL_STOP_CONTINUED)
SIGNAL_GROUP_EXIT: Final = int(SignalFlags.SIGNAL_GROUP_EXIT)
SIGNAL_UNKILLABLE: Final = int(SignalFlags.SIGNAL_UNKILLABLE)


class TaskState(enum.IntFlag):
    """``task->__state`` bits. Kernel: include/linux/sched.h (TASK_* defines).

    ``__TASK_STOPPED`` and ``__TASK_TRACED`` are module constants only (a class body would
    mangle their names)."""

    TASK_RUNNING = 0x00000000
    TASK_INTERRUPTIBLE = 0x00000001
    TASK_UNINTERRUPTIBLE = 0x00000002
    TASK_WAKEKILL = 0x00000100
    TASK_FREEZABLE = 0x00002000
    TASK_FROZEN = 0x00008000


TASK_RUNNING: Final = int(TaskState.TASK_RUNNING)
TASK_INTERRUPTIBLE: Final = int(TaskState.TASK_INTERRUPTIBLE)
TASK_UNINTERRUPTIBLE: Final = int(TaskState.TASK_UNINTERRUPTIBLE)
__TASK_STOPPED: Final = 0x00000004
__TASK_TRACED: Final = 0x00000008
TASK_WAKEKILL: Final = int(TaskState.TASK_WAKEKILL)
TASK_FREEZABLE: Final = int(TaskState.TASK_FREEZABLE)
TASK_FROZEN: Final = int(TaskState.TASK_FROZEN)
TASK_NORMAL: Final = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE
TASK_STOPPED: Final = TASK_WAKEKILL | __TASK_STOPPED
TASK_KILLABLE: Final = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE

# exit_state values: include/linux/sched.h
EXIT_DEAD: Final = 0x10
EXIT_ZOMBIE: Final = 0x20

# pid types: include/linux/pid_types.h
PIDTYPE_PID: Final = 0
PIDTYPE_TGID: Final = 1

SigHandler: TypeAlias = "str | Callable[..., None]"
"""``"SIG_DFL"``, ``"SIG_IGN"``, or a callable run in the task's context on delivery."""

SIG_DFL: Final = "SIG_DFL"
SIG_IGN: Final = "SIG_IGN"


def sigmask(sig: int) -> int:
    """Kernel: include/linux/signal.h:sigmask()"""
    return 1 << (sig - 1)


@dataclass(slots=True, eq=False)
class PidNamespace:
    """Kernel: include/linux/pid_namespace.h (struct pid_namespace)"""

    level: int
    parent: PidNamespace | None
    last_pid: int = 0
    child_reaper: TaskStruct | None = None

    def __repr__(self) -> str:
        return f"PidNamespace(level={self.level})"


@dataclass(slots=True, eq=False)
class Pid:
    """Kernel: include/linux/pid.h (struct pid)

    ``numbers`` holds ``(namespace, nr)`` from the root namespace down to the namespace the
    pid was allocated in. ``tasks`` are the tasks attached per pid type.
    """

    numbers: list[tuple[PidNamespace, int]]
    tasks: dict[int, list[TaskStruct]] = field(default_factory=dict)
    count: int = 1

    @property
    def nr(self) -> int:
        """The pid number in the root namespace."""
        return self.numbers[0][1]

    def __repr__(self) -> str:
        return f"Pid({self.nr})"


@dataclass(slots=True, eq=False)
class Cred:
    """Kernel: include/linux/cred.h (struct cred): one uid and the effective capabilities."""

    uid: int
    caps: frozenset[str]


@dataclass(slots=True, eq=False)
class CoreState:
    """Kernel: include/linux/sched/signal.h (struct core_state), while a core dump runs."""

    dumper: TaskStruct
    released: bool = False


@dataclass(slots=True, eq=False)
class SighandStruct:
    """Kernel: include/linux/sched/signal.h (struct sighand_struct)"""

    action: dict[int, SigHandler] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class SignalStruct:
    """Kernel: include/linux/sched/signal.h (struct signal_struct), shared by a thread group."""

    flags: int = 0
    group_exit_code: int = 0
    group_stop_count: int = 0
    core_state: CoreState | None = None
    shared_pending: int = 0
    threads: list[TaskStruct] = field(default_factory=list)
    nr_threads: int = 0
    live: int = 0
    quick_threads: int = 0
    sigcnt: int = 1
    oom_mm: MmStruct | None = None
    oom_score_adj: int = 0


@dataclass(slots=True, eq=False)
class FilesStruct:
    """Kernel: include/linux/fdtable.h (struct files_struct): the fd table."""

    fdt: dict[int, File] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class TaskStruct:
    """Kernel: include/linux/sched.h (struct task_struct)"""

    kernel: Kernel
    pid: int
    tgid: int
    comm: str
    cred: Cred
    signal: SignalStruct
    sighand: SighandStruct
    files: FilesStruct | None
    thread_pid: Pid
    mm: MmStruct | None = None
    flags: int = 0
    pending: int = 0
    blocked: int = 0
    sigpending: bool = False
    real_parent: TaskStruct | None = None
    children: list[TaskStruct] = field(default_factory=list)
    group_leader: TaskStruct | None = None
    exit_state: int = 0
    exit_code: int = 0
    stopped: bool = False
    usage: int = 1
    cpu: int = 0
    frozen: bool = False
    user_sleeping: bool = True
    work: KernelGen[object] | None = None
    work_label: str = ""
    waiting: Wait | None = None
    dead: bool = False
    autoreap: bool = False
    # --- the freezer (kernel/freezer.c) and the OOM killer's mark ---
    sleep_state: int = TASK_INTERRUPTIBLE | TASK_FREEZABLE
    saved_state: int = TASK_RUNNING
    freezer: object | None = None
    memdie: bool = False
    exit_mm: MmStruct | None = None  # only the exit_mm_field variant sets it (Brauner's patch)
    in_lru_fault: bool = False  # CONFIG_LRU_GEN: set by lru_gen_enter_fault() (mm/memory.c)

    def __repr__(self) -> str:
        return f"Task({self.comm}:{self.pid})"


def thread_group_leader(p: TaskStruct) -> bool:
    """Kernel: include/linux/sched/signal.h:thread_group_leader()"""
    return p.group_leader is p


def thread_group_empty(p: TaskStruct) -> bool:
    """Kernel: include/linux/sched/signal.h:thread_group_empty()"""
    return len(p.signal.threads) <= 1


def same_thread_group(p1: TaskStruct, p2: TaskStruct) -> bool:
    """Kernel: include/linux/sched/signal.h:same_thread_group()"""
    return p1.signal is p2.signal


def for_each_thread(p: TaskStruct) -> list[TaskStruct]:
    """Kernel: include/linux/sched/signal.h:for_each_thread() (a snapshot list)."""
    return list(p.signal.threads)


def is_global_init(tsk: TaskStruct) -> bool:
    """Kernel: include/linux/pid.h:is_global_init()"""
    return tsk.tgid == 1


def task_pid_vnr(tsk: TaskStruct) -> int:
    """Kernel: include/linux/pid.h:task_pid_vnr() (root-namespace number in the model)."""
    return tsk.pid
