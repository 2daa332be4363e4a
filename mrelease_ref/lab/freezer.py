"""Freeze and thaw one process deterministically with the cgroup freezer.

Kernel: kernel/cgroup/legacy_freezer.c (v1 ``freezer.state``) and kernel/cgroup/freezer.c
(v2 ``cgroup.freeze``).

:class:`FreezerGroup` creates a uniquely named child group, moves the pid into it, and on
``close()`` (or leaving the ``with`` block, or at interpreter exit) thaws it, moves any
remaining tasks back to where the pid came from, and removes the group. The cgroup-v1
freezer is preferred because a v1-frozen task is **not woken by SIGKILL** (docs/sources.md §M2):
freeze, SIGKILL, and the victim sits "dying but mm attached" until thawed. The cgroup-v2
freezer is the fallback.

Example::

    with FreezerGroup(pid) as fz:
        fz.freeze()                  # waits for FROZEN
        os.kill(pid, signal.SIGKILL)
        ...                          # victim is dying, mm still attached (v1 only)
        fz.thaw()

Limitations:
    - v2 fallback: a fatal signal *does* wake a v2-frozen task, so "frozen + SIGKILL" is a
      race there, not a held state (``Backend.holds_sigkill`` is False).
    - v2 fallback moves the pid to a new group at the cgroup2 root, which changes its v2
      controllers (memory, cpu) for the duration.
    - A vfork parent never reaches FROZEN (docs/sources.md §M2); use ``freeze(strict=False)``.
    - Cleanup runs on ``close()``, ``with`` exit and ``atexit``; a SIGKILLed parent leaks
      the group (``rmdir /sys/fs/cgroup/freezer/mrelease_lab.*`` removes it).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import itertools
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mrelease_ref.lab._closing import Closing

__all__ = ("Backend", "FreezerGroup", "find_backend", "frozen")

GROUP_PREFIX = "mrelease_lab"
_POLL_S = 0.0005
_counter = itertools.count()
_live_groups: dict[int, FreezerGroup] = {}


@dataclass(frozen=True, slots=True)
class Backend:
    """One usable freezer: ``kind`` v1 or v2, mounted at ``root``."""

    kind: Literal["v1", "v2"]
    root: Path

    @property
    def holds_sigkill(self) -> bool:
        """Whether a frozen task stays frozen (mm attached) after SIGKILL."""
        return self.kind == "v1"


def _mounts() -> list[tuple[str, str, list[str]]]:
    """``(mount point, fstype, options)`` from /proc/self/mounts."""
    out = []
    with open("/proc/self/mounts", encoding="ascii", errors="replace") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 4:
                out.append((fields[1], fields[2], fields[3].split(",")))
    return out


def find_backend() -> tuple[Backend | None, str]:
    """Find a writable freezer: v1 first, then cgroup2. Return ``(backend, reason)``."""
    v2_root = None
    for mnt, fstype, opts in _mounts():
        if fstype == "cgroup" and "freezer" in opts and os.access(mnt, os.W_OK):
            return Backend("v1", Path(mnt)), f"cgroup-v1 at {mnt}"
        if fstype == "cgroup2" and v2_root is None and os.access(mnt, os.W_OK):
            v2_root = mnt
    if v2_root is not None:
        return Backend("v2", Path(v2_root)), f"cgroup2 at {v2_root} (SIGKILL wakes frozen)"
    return None, "no writable cgroup-v1 freezer hierarchy and no writable cgroup2 mount"


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _try_rmdir(path: Path, deadline: float) -> bool:
    """Remove a cgroup directory: True once it is gone, False while it is still busy
    (EBUSY: tasks or children left) and ``deadline`` (time.monotonic()) has not passed."""
    try:
        path.rmdir()
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno != errno.EBUSY or time.monotonic() > deadline:
            raise
        return False
    return True


def _own_cgroup(pid: int, backend: Backend) -> Path:
    """The group of ``pid`` in ``backend``'s hierarchy (the mount root if unknown)."""
    want = "" if backend.kind == "v2" else "freezer"
    try:
        with open(f"/proc/{pid}/cgroup", encoding="ascii") as f:
            for line in f:
                _, controllers, rel = line.rstrip("\n").split(":", 2)
                if want in controllers.split(","):  # v2 line is "0::/path"
                    return backend.root / rel.lstrip("/")
    except (OSError, ValueError):
        pass
    return backend.root


class FreezerGroup(Closing):
    """A private freezer cgroup holding one pid; a context manager that always cleans up."""

    def __init__(self, pid: int, backend: Backend | None = None) -> None:
        if backend is None:
            backend, reason = find_backend()
            if backend is None:
                raise OSError(errno.ENOENT, reason)
        self.pid = pid
        self.backend = backend
        self.home = _own_cgroup(pid, backend)
        name = f"{GROUP_PREFIX}.{os.getpid()}.{pid}.{next(_counter)}.{secrets.token_hex(3)}"
        self.path = backend.root / name
        self.path.mkdir()
        self._closed = False
        _live_groups[id(self)] = self
        try:
            _write(self.path / "cgroup.procs", str(pid))
        except BaseException:
            self.close()
            raise

    def add(self, pid: int) -> None:
        """Move another pid into the group (e.g. a CLONE_VM sharer, docs/sources.md §M3.3).

        It is moved to the hierarchy root (not back home) when the group is closed.
        """
        _write(self.path / "cgroup.procs", str(pid))

    def state(self) -> str:
        """``THAWED``, ``FREEZING`` or ``FROZEN`` (v2 mapped onto the v1 names)."""
        if self.backend.kind == "v1":
            return (self.path / "freezer.state").read_text().strip()
        want = (self.path / "cgroup.freeze").read_text().strip() == "1"
        events = (self.path / "cgroup.events").read_text().split()
        frozen = events[events.index("frozen") + 1] == "1" if "frozen" in events else False
        if frozen:
            return "FROZEN"
        return "FREEZING" if want else "THAWED"

    def _set(self, frozen: bool) -> None:
        if self.backend.kind == "v1":
            _write(self.path / "freezer.state", "FROZEN" if frozen else "THAWED")
        else:
            _write(self.path / "cgroup.freeze", "1" if frozen else "0")

    def _wait_state(self, want: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        state = self.state()
        while state != want and time.monotonic() < deadline:
            time.sleep(_POLL_S)
            state = self.state()
        return state

    def freeze(self, *, strict: bool = True, timeout_s: float = 5.0) -> str:
        """Freeze and wait for FROZEN; ``strict=False`` returns the state after the timeout."""
        self._set(True)
        state = self._wait_state("FROZEN", timeout_s)
        if strict and state != "FROZEN":
            raise TimeoutError(f"{self.path}: state {state} after {timeout_s} s, not FROZEN")
        return state

    def thaw(self, timeout_s: float = 5.0) -> None:
        """Thaw and wait for THAWED."""
        self._set(False)
        state = self._wait_state("THAWED", timeout_s)
        if state != "THAWED":
            raise TimeoutError(f"{self.path}: state {state} after {timeout_s} s, not THAWED")

    def pids(self) -> list[int]:
        """Pids currently in the group (empty once the group is removed)."""
        try:
            return [int(x) for x in (self.path / "cgroup.procs").read_text().split()]
        except FileNotFoundError:
            return []

    def _evacuate(self) -> None:
        for pid in self.pids():
            dest = self.home if pid == self.pid else self.backend.root
            try:
                _write(dest / "cgroup.procs", str(pid))
            except OSError as exc:
                if exc.errno != errno.ESRCH:  # an exited task is fine
                    raise

    def _rmdir(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not _try_rmdir(self.path, deadline):
            time.sleep(0.002)

    def close(self, timeout_s: float = 5.0) -> None:
        """Thaw, move remaining tasks out, remove the group. Idempotent."""
        if self._closed:
            return
        self._closed = True
        _live_groups.pop(id(self), None)
        if not self.path.exists():
            return
        try:
            self._set(False)
            self._evacuate()
        finally:
            self._rmdir(timeout_s)


    def __repr__(self) -> str:
        return f"FreezerGroup(pid={self.pid}, {self.backend.kind}, {self.path.name})"


class frozen(FreezerGroup):
    """``with frozen(pid) as fz:`` = FreezerGroup that is already FROZEN inside the block."""

    def __init__(self, pid: int, backend: Backend | None = None, *, strict: bool = True) -> None:
        super().__init__(pid, backend)
        try:
            self.freeze(strict=strict)
        except BaseException:
            self.close()
            raise


@atexit.register
def _close_leftovers() -> None:
    for group in list(_live_groups.values()):
        with contextlib.suppress(OSError):
            group.close()
