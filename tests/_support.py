"""Small helpers the tests share (not tests themselves: no ``test_`` prefix)."""

from __future__ import annotations

from typing import Any

import pytest

from mrelease_ref import Kernel, Mapping
from mrelease_ref.include.linux.mm_types import MmStruct, VmAreaStruct
from mrelease_ref.sim.process import Process


def small_kernel(variant: str, **kw: Any) -> Kernel:
    """A kernel with 4 KiB folios and the invariant checker on; ``kw`` overrides."""
    args: dict[str, Any] = {"large_folios": False, "debug_vm": True}
    args.update(kw)
    return Kernel(variant, **args)


def mm_of(p: Process) -> MmStruct:
    """The process's mm (asserting it still has one)."""
    mm = p.task.mm
    assert mm is not None
    return mm


def vma_of(p: Process, m: Mapping) -> VmAreaStruct:
    """The VMA behind a mapping."""
    return next(v for v in mm_of(p).mm_mt if v.vm_start == m.start)


def require_parity_lab() -> None:
    """Skip (with the reason) unless the live parity lab can run here: root syscalls and a
    cgroup-v1 freezer that holds a SIGKILLed task."""
    from mrelease_ref.lab import freezer, syscalls

    ok, reason = syscalls.available()
    if not ok:
        pytest.skip(reason)
    backend, reason = freezer.find_backend()
    if backend is None or not backend.holds_sigkill:
        pytest.skip(f"needs the cgroup-v1 freezer to hold a SIGKILLed task; have {reason}")
def errno_of(fn: Any, *args: Any, **kw: Any) -> int:
    """The errno of the OSError ``fn(*args, **kw)`` raises, 0 if it returns."""
    try:
        fn(*args, **kw)
    except OSError as e:
        assert e.errno is not None
        return e.errno
    return 0
