"""A private cgroup-v1 memory group, to make the kernel's OOM killer act on a chosen victim.

Kernel: mm/memcontrol-v1.c (``memory.limit_in_bytes``, ``memory.oom_control``),
mm/oom_kill.c:out_of_memory() -> oom_kill_process() -> __oom_kill_process() ->
mark_oom_victim().

:class:`MemcgGroup` creates a uniquely named group under the v1 memory hierarchy. A victim
launched with ``VictimSpec.cgroup_procs = group.procs`` joins it before it maps anything, so
all of its memory is charged there. :func:`provoke_oom` then gives the victim
``oom_score_adj`` 1000, caps the group just above its usage and starts a helper in the group
that allocates past the cap: the group's OOM killer picks the victim (the highest badness)
and kills it, which is what v6.18 does to any OOM victim -- SIGKILL, then
``mark_oom_victim()``, which thaws the whole process (``thaw_process()``), frozen or not.

Limitations:
    - Needs root and a writable cgroup-v1 ``memory`` hierarchy (:func:`find_memcg_root`).
    - The victim must fit the helper's allocation once it is gone (``headroom_mib`` +
      its own size >= ``alloc_mib``); otherwise the group OOM-kills the helper too.
    - ``close()`` moves tasks still in the group to the hierarchy's root group.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mrelease_ref.lab._closing import Closing
from mrelease_ref.lab.freezer import _mounts, _try_rmdir, _write  # the same cgroupfs plumbing

__all__ = ("MemcgGroup", "OomResult", "find_memcg_root", "provoke_oom")

_counter = itertools.count()
MIB = 1 << 20


def find_memcg_root() -> tuple[Path | None, str]:
    """The writable cgroup-v1 memory hierarchy, or None and the reason."""
    for mnt, fstype, opts in _mounts():
        if fstype == "cgroup" and "memory" in opts and os.access(mnt, os.W_OK):
            return Path(mnt), f"cgroup-v1 memory at {mnt}"
    return None, "no writable cgroup-v1 memory hierarchy"


class MemcgGroup(Closing):
    """A private v1 memory cgroup; a context manager that always removes it."""

    def __init__(self) -> None:
        root, reason = find_memcg_root()
        if root is None:
            raise OSError(errno.ENOENT, reason)
        self.root = root
        name = f"mrelease_lab.{os.getpid()}.{next(_counter)}.{secrets.token_hex(3)}"
        self.path = root / name
        self.path.mkdir()
        self._closed = False

    @property
    def procs(self) -> str:
        """The group's ``cgroup.procs`` file (write a pid to move that process in)."""
        return str(self.path / "cgroup.procs")

    def usage(self) -> int:
        """``memory.usage_in_bytes``."""
        return int((self.path / "memory.usage_in_bytes").read_text())

    def set_limit(self, nbytes: int) -> None:
        """``memory.limit_in_bytes``."""
        _write(self.path / "memory.limit_in_bytes", str(nbytes))

    def oom_kills(self) -> int:
        """How many tasks the group's OOM killer has killed (``memory.oom_control``)."""
        fields = (self.path / "memory.oom_control").read_text().split()
        return int(fields[fields.index("oom_kill") + 1]) if "oom_kill" in fields else 0

    def close(self, timeout_s: float = 5.0) -> None:
        """Move leftover tasks to the root group and remove the group. Idempotent."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout_s
        while self.path.exists():
            with contextlib.suppress(OSError):
                for pid in (self.path / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        _write(self.root / "cgroup.procs", pid)
            if _try_rmdir(self.path, deadline):
                return
            time.sleep(0.005)

    def __repr__(self) -> str:
        return f"MemcgGroup({self.path.name})"


@dataclass(frozen=True, slots=True)
class OomResult:
    """What :func:`provoke_oom` saw: the helper finished its allocation, OOM kills."""

    helper_done: bool
    oom_kills: int


_HELPER = (
    "import mmap, os, sys\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "n = int(sys.argv[2]) << 20\n"
    "m = mmap.mmap(-1, n)\n"
    "for i in range(0, n, 4096):\n"
    "    m[i] = 1\n"
    "print('done', flush=True)\n"
)


def provoke_oom(group: MemcgGroup, victim_pid: int, *, headroom_mib: int = 24,
                alloc_mib: int = 32, timeout_s: float = 20.0) -> OomResult:
    """Make ``victim_pid`` the group's OOM victim: oom_score_adj 1000, limit = usage +
    ``headroom_mib``, then a helper in the group allocates ``alloc_mib``."""
    _write(Path(f"/proc/{victim_pid}/oom_score_adj"), "1000")
    group.set_limit(group.usage() + headroom_mib * MIB)
    helper = subprocess.run(
        [sys.executable, "-I", "-c", _HELPER, group.procs, str(alloc_mib)],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s, check=False,
    )
    return OomResult(helper.returncode == 0 and b"done" in helper.stdout, group.oom_kills())
