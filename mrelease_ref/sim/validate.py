"""Argument checks and the entry gate shared by every public call (not kernel code).

Every public method of :class:`~mrelease_ref.sim.kernel.Kernel` and
:class:`~mrelease_ref.sim.process.Process` is wrapped by :func:`api_entry`, which

1. refuses calls a real task could not make (:func:`check_can_call`): a task that has exited,
   that is exiting (PF_EXITING: it is inside ``do_exit()``, or has called ``exit()``), that
   is frozen, or a kernel thread;
2. runs the invariant checker once, after the outermost call returns *or fails*
   (``Kernel(debug_vm=True)``), so a call that fails part-way is checked too.

The ``*_arg`` helpers raise ``TypeError``/``ValueError`` saying what to pass instead, before
any state changes (the API's "no half-built state" rule). New entry points use them and the
decorator; ``tests/test_bad_input.py`` fails for a public method that has no bad-input case.

Limitations:
- A task with a fatal signal pending may still make calls (as a task racing its SIGKILL on
  another CPU can); the kernel's own checks (``copy_process()``) refuse what they refuse.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from mrelease_ref.include.linux.sched import PF_EXITING, PF_KTHREAD, TaskStruct

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import Kernel

_NSIG: Final = 64
EXIT_WORK_LABELS: Final = ("exit_group", "exit")
"""``Kernel.start()`` labels of a task's own exit: once queued, it makes no more calls."""

F = TypeVar("F", bound=Callable[..., Any])


def int_arg(name: str, value: object) -> int:
    """``value`` must be an int (bool is refused: ``True`` is not a pid)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return value


def nonneg_int_arg(name: str, value: object) -> int:
    """``value`` must be an int >= 0."""
    if int_arg(name, value) < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return cast(int, value)


def positive_int_arg(name: str, value: object) -> int:
    """``value`` must be an int > 0."""
    if int_arg(name, value) <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return cast(int, value)


def bool_arg(name: str, value: object) -> bool:
    """``value`` must be True or False (not 0/1, not None)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def str_arg(name: str, value: object) -> str:
    """``value`` must be a non-empty str."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty str, got {value!r}")
    return value


def signal_number_arg(name: str, value: object) -> int:
    """A signal number for a signal *set* (sigprocmask): an int in 1..64, as Python's
    ``signal.pthread_sigmask()`` requires; there is no bit for 0 or for 65 and up."""
    sig = int_arg(name, value)
    if not 1 <= sig <= _NSIG:
        raise ValueError(f"{name}: signal number {sig} out of range [1; {_NSIG}]")
    return sig


def signal_numbers_arg(name: str, values: object) -> list[int]:
    """An iterable of signal numbers (each checked by :func:`signal_number_arg`)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be an iterable of signal numbers, got {values!r}")
    return [signal_number_arg(name, s) for s in values]


def check_can_call(p: Any) -> None:
    """The entry gate: the task behind ``p`` (a Process) can make a system call now.

    A task inside ``do_exit()`` (PF_EXITING) never returns to user space, so it issues no
    more system calls or memory accesses; neither does one that has exited, one a freezer
    holds, or a kernel thread (it has no user space).
    """
    t: TaskStruct = p.task
    who = f"{t.comm} (pid {t.pid})"
    if t.exit_state or t.dead:
        raise ValueError(f"{who} has exited; it cannot make calls")
    if t.flags & PF_KTHREAD:
        raise ValueError(f"{who} is a kernel thread; it makes no system calls")
    if t.flags & PF_EXITING or (t.work is not None and t.work_label in EXIT_WORK_LABELS):
        raise ValueError(
            f"{who} is exiting (do_exit(), PF_EXITING); a dying task makes no more calls: "
            "run the kernel (Kernel.run()) and check its state instead"
        )
    if t.frozen:
        raise ValueError(f"{t.comm} is frozen; thaw() it before it makes calls")


def _kernel_of(obj: Any) -> Kernel:
    k = getattr(obj, "kernel", None)
    return k if k is not None else cast("Kernel", obj)


def api_entry(*, gate: bool = False, check: bool = True) -> Callable[[F], F]:
    """Mark a public method as an API entry point.

    ``gate=True`` (Process calls made *by* the process) applies :func:`check_can_call`
    first. The invariant checker runs once after the outermost entry, in a ``finally``, so
    a call that raised part-way is checked as well (``check=False`` for ``Kernel.step()``,
    whose scheduler step checks already).
    """

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if gate:
                check_can_call(self)
            k = _kernel_of(self)
            k._api_depth += 1
            try:
                return fn(self, *args, **kwargs)
            finally:
                k._api_depth -= 1
                if check and k._api_depth == 0 and k.config.debug_vm:
                    k.check()

        wrapper.__api_entry__ = True  # type: ignore[attr-defined]
        wrapper.__api_gate__ = gate  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return deco


def is_api_entry(fn: object) -> bool:
    """Whether ``fn`` was wrapped by :func:`api_entry`."""
    return bool(getattr(fn, "__api_entry__", False))


def is_gated(fn: object) -> bool:
    """Whether ``fn`` applies the entry gate (:func:`check_can_call`)."""
    return bool(getattr(fn, "__api_gate__", False))


__all__ = [
    "EXIT_WORK_LABELS",
    "api_entry",
    "bool_arg",
    "check_can_call",
    "int_arg",
    "is_api_entry",
    "is_gated",
    "nonneg_int_arg",
    "positive_int_arg",
    "signal_number_arg",
    "signal_numbers_arg",
    "str_arg",
]
