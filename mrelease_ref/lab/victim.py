"""Victim processes with exactly specified mappings, and test files on a real filesystem.

:func:`launch_victim` starts a fresh interpreter (``python -I _victim_main.py``), not a
fork of the caller, so the victim carries only what its :class:`VictimSpec` asks for plus
the interpreter itself (about 10 MB of RSS, ~0.4 ms of reap; docs/sources.md §M6 "empty").
The child maps, touches every page, reports ready over a pipe and sleeps until killed.

Mapping kinds (:class:`Kind`), docs/sources.md §M5–§M7 names in brackets:

* ``anon``: private anonymous, 4 KiB pages (``MADV_NOHUGEPAGE``), written.
* ``anon_thp``: private anonymous with ``MADV_HUGEPAGE``, written.
* ``anon_mlock``: private anonymous, written, then ``mlock()``.
* ``file_private``: ``MAP_PRIVATE`` ``PROT_READ`` of an O_RDONLY fd, read [A].
* ``file_shared``: ``MAP_SHARED`` of an **O_RDWR** fd (VM_SHARED), read, then
  ``dirty_pages`` written [B2/B3].
* ``file_cow``: ``MAP_PRIVATE`` ``PROT_READ|PROT_WRITE``, read, then ``dirty_pages``
  written (COW to anon) [D].
* ``shmem``: ``MAP_SHARED|MAP_ANONYMOUS`` (shmem, VM_SHARED), written.
* ``memfd_shared`` / ``memfd_private``: ``memfd_create()`` + ``ftruncate()``, mapped
  MAP_SHARED and written, or MAP_PRIVATE, read, then ``dirty_pages`` written (COW); the
  victim keeps the descriptor open.

``MappingSpec.ops`` are calls the victim makes after setup (madvise, mprotect, mlock,
munlock, touches, a forked child's access, mincore); :attr:`Victim.op_results` has their
errno names.

File mappings of PMD-sized page-cache folios are PMD-mapped by default on this kernel
(ext4 large folios, ``read_ahead_kb`` 8192, THP-aligned address). ``MappingSpec.thp=False``
applies ``MADV_NOHUGEPAGE`` first, which forces PTE mappings of the same folios.
``MappingSpec.small_folios=True`` faults the file in under ``MADV_RANDOM`` (no readahead,
so 4 KiB folios for pages not cached yet) and restores ``MADV_NORMAL`` afterwards, so the
zap still sees a VMA with recency (``vma_has_recency()``).

``VictimSpec.forks`` fork()s copy-on-write children once everything is mapped: one per
``(mapping index, pages)`` entry; the child writes one byte to each of the first ``pages``
pages of that mapping (so exactly those pages are copied) and sleeps.
:attr:`Victim.children` and :attr:`Victim.child_pidfds` reach them; they share the
victim's mapping addresses, so :func:`mapping_rss` with :attr:`Victim.maps` measures them
too, and :func:`private_anon_kb` says what of a process's memory only it maps.

``VictimSpec.sharer=True`` adds a second process sharing the victim's mm
(``clone(CLONE_VM|SIGCHLD)``, docs/sources.md §M3.3); :attr:`Victim.sharer_pid` and
:attr:`Victim.sharer_pidfd` reach it. The child reports where each mapping starts
(:attr:`Victim.maps`), so :func:`mapping_rss` can read the spec's own mappings out of
``/proc/<pid>/smaps`` without the interpreter's memory.

Limitations:
    - The victim is a Python process; its own image is part of every measurement.
    - Victims die with the parent thread that launched them (``PR_SET_PDEATHSIG``), so
      launch from a thread that outlives the victim.
    - The CLONE_VM sharer is x86_64 only (a machine-code stub, see ``_victim_main.py``).
    - Fork children run Python after fork(), so they copy some interpreter pages of their
      own (``private_anon_kb()`` measures them); they die with the victim
      (``PR_SET_PDEATHSIG``), so the victim must stay alive while they are used.
    - ``make_test_file`` refuses tmpfs/ramfs by mount type only; it does not check for
      other page-cache-less filesystems.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from mrelease_ref.lab._closing import Closing
from mrelease_ref.lab.syscalls import PAGE_SIZE, pidfd_open, posix_fadvise

__all__ = (
    "Kind",
    "MappingSpec",
    "Victim",
    "VictimError",
    "VictimSpec",
    "VictimStatus",
    "clear_refs",
    "launch_victim",
    "make_test_file",
    "mapping_rss",
    "mapping_vmas",
    "private_anon_kb",
    "read_status",
    "scratch_file",
    "wait_sleeping",
    "warm_file",
)

_CHILD = Path(__file__).with_name("_victim_main.py")
_NO_PAGE_CACHE_FS = frozenset({"tmpfs", "ramfs", "devtmpfs"})


class Kind(StrEnum):
    """How one mapping of the victim is made (see the module docstring)."""

    ANON = "anon"
    ANON_THP = "anon_thp"
    ANON_MLOCK = "anon_mlock"
    FILE_PRIVATE = "file_private"
    FILE_SHARED = "file_shared"
    FILE_COW = "file_cow"
    SHMEM = "shmem"
    MEMFD_SHARED = "memfd_shared"
    MEMFD_PRIVATE = "memfd_private"

    @property
    def is_file(self) -> bool:
        """Whether the mapping is backed by a file (needs ``path``)."""
        return self.value.startswith("file")


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """One mapping: ``nr_pages`` 4 KiB pages, all touched; ``dirty_pages`` of them written."""

    kind: Kind
    nr_pages: int
    dirty_pages: int = 0
    path: str | None = None
    thp: bool | None = None
    """File kinds only: ``MADV_HUGEPAGE`` (True) / ``MADV_NOHUGEPAGE`` (False) before
    touching; None keeps the kernel default (PMD-mapped page-cache folios when it can)."""
    small_folios: bool = False
    """File kinds only: fault under ``MADV_RANDOM`` so uncached pages come in as 4 KiB
    folios (see the module docstring)."""
    ops: tuple[tuple[str, int, int, int], ...] = ()
    """Calls the victim makes on this mapping once every mapping is set up:
    ``(name, arg, start_page, nr_pages)``, see ``_victim_main.py``; their results are in
    :attr:`Victim.op_results`."""

    def __post_init__(self) -> None:
        if self.nr_pages <= 0:
            raise ValueError(f"nr_pages must be > 0, got {self.nr_pages}")
        if self.kind.is_file and self.path is None:
            raise ValueError(f"{self.kind} needs a path")
        if self.thp is not None and not self.kind.is_file:
            raise ValueError(f"thp applies to file kinds; use anon/anon_thp, not {self.kind}")
        if self.small_folios and not self.kind.is_file:
            raise ValueError(f"small_folios applies to file kinds, not {self.kind}")
        dirtyable = self.kind in (Kind.FILE_SHARED, Kind.FILE_COW, Kind.MEMFD_PRIVATE)
        if self.dirty_pages and not dirtyable:
            raise ValueError("dirty_pages only applies to file_shared/file_cow/memfd_private, "
                             f"not {self.kind}")
        if not 0 <= self.dirty_pages <= self.nr_pages:
            raise ValueError(f"dirty_pages {self.dirty_pages} not in [0, {self.nr_pages}]")


@dataclass(frozen=True, slots=True)
class VictimSpec:
    """All mappings of one victim, an optional CPU to pin it to, and an optional CLONE_VM
    sharer process."""

    mappings: tuple[MappingSpec, ...]
    cpu: int | None = None
    sharer: bool = False
    sleep: str = "pause"
    """What the main thread waits in once ready (:data:`SLEEPS`)."""
    threads: int = 0
    """Extra threads (``Victim.thread_tids``), waiting in ``thread_sleep``."""
    thread_sleep: str = ""
    """What the extra threads wait in ("" = the same as ``sleep``)."""
    cgroup_procs: str = ""
    """A ``cgroup.procs`` file the victim writes its pid into before it maps anything (e.g.
    :attr:`mrelease_ref.lab.memcg.MemcgGroup.procs`, so its memory is charged there)."""

    def __post_init__(self) -> None:
        for how in (self.sleep, self.thread_sleep or self.sleep):
            if how not in SLEEPS:
                raise ValueError(f"sleep must be one of {SLEEPS}, got {how!r}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")
    forks: tuple[tuple[int, int], ...] = ()
    """fork() children: ``(mapping index, pages the child writes)`` each."""

    @classmethod
    def of(
        cls,
        kind: Kind | str,
        nr_pages: int,
        dirty_pages: int = 0,
        path: str | None = None,
        thp: bool | None = None,
        *,
        small_folios: bool = False,
    ) -> VictimSpec:
        """A victim with a single mapping."""
        return cls((MappingSpec(Kind(kind), nr_pages, dirty_pages, path, thp, small_folios),))

    @property
    def nr_pages(self) -> int:
        """Total pages over all mappings."""
        return sum(m.nr_pages for m in self.mappings)

    def to_json(self) -> str:
        """The argument handed to the child."""
        return json.dumps(asdict(self))


SLEEPS = ("pause", "nanosleep", "futex", "select", "busy")
"""What a victim's threads may wait in: ``pause()`` and ``select()`` are not freezable
sleeps, ``nanosleep()`` and a futex wait are (TASK_FREEZABLE), ``busy`` spins in user space
(see mrelease_ref.kernel.freezer)."""


@dataclass(frozen=True, slots=True)
class VictimStatus:
    """The fields of ``/proc/<pid>/status`` the lab uses; sizes in kB (None = line absent)."""

    state: str
    vm_rss_kb: int | None
    rss_anon_kb: int | None
    rss_file_kb: int | None
    rss_shmem_kb: int | None
    shd_pnd: int
    sig_pnd: int
    raw: dict[str, str] = field(repr=False, compare=False)


def _kb(raw: dict[str, str], key: str) -> int | None:
    value = raw.get(key)
    return int(value.split()[0]) if value else None


def read_status(pid: int) -> VictimStatus:
    """Parse ``/proc/<pid>/status``; raise ``ProcessLookupError`` once the pid is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        raise ProcessLookupError(3, f"/proc/{pid}/status: no such process") from None
    raw = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        raw[key] = value.strip()
    return VictimStatus(
        state=raw.get("State", "?")[:1],
        vm_rss_kb=_kb(raw, "VmRSS"),
        rss_anon_kb=_kb(raw, "RssAnon"),
        rss_file_kb=_kb(raw, "RssFile"),
        rss_shmem_kb=_kb(raw, "RssShmem"),
        shd_pnd=int(raw.get("ShdPnd", "0"), 16),
        sig_pnd=int(raw.get("SigPnd", "0"), 16),
        raw=raw,
    )


def mapping_rss(pid: int, ranges: Iterable[tuple[int, int]]) -> dict[str, int]:
    """Sum of the ``/proc/<pid>/smaps`` sizes (kB) of the VMAs that overlap ``ranges``.

    ``ranges`` are ``(start, length)`` pairs in bytes, e.g. ``Victim.maps``. Each VMA counts
    once, so two adjacent spec mappings the kernel merged into one VMA are counted right.
    Keys are the smaps field names (``Rss``, ``Anonymous``, ``AnonHugePages``,
    ``FilePmdMapped``, ``Locked``, ...). A zombie (no mm) gives ``{}``; a reaped pid raises
    ``ProcessLookupError``.
    """
    spans = [(start, start + length) for start, length in ranges]
    out: dict[str, int] = {}
    inside = False
    for fields in _smaps(pid):
        head = fields[0]
        if "-" in head and not head.endswith(":"):
            lo, hi = (int(x, 16) for x in head.split("-"))
            inside = any(lo < end and start < hi for start, end in spans)
            continue
        if inside and len(fields) == 3 and fields[2] == "kB":
            key = fields[0].rstrip(":")
            out[key] = out.get(key, 0) + int(fields[1])
    return out


def _smaps(pid: int) -> Iterator[list[str]]:
    """The whitespace-split lines of ``/proc/<pid>/smaps`` (ProcessLookupError if gone)."""
    try:
        f = open(f"/proc/{pid}/smaps", encoding="ascii", errors="replace")  # noqa: SIM115
    except FileNotFoundError:
        raise ProcessLookupError(3, f"/proc/{pid}/smaps: no such process") from None
    with f:
        for line in f:
            fields = line.split()
            if fields:
                yield fields


def private_anon_kb(pid: int, outside: Iterable[tuple[int, int]] = ()) -> int:
    """kB of ``pid``'s anonymous memory that no other process maps: Private_Clean +
    Private_Dirty of its VMAs without a backing file ([heap], [stack], anonymous mmaps)
    and Private_Dirty of its private file VMAs (their copy-on-write pages: a shared
    library's relocated data), skipping VMAs that overlap ``outside`` (``(start, length)``
    pairs). What a reap of ``pid`` frees besides those ranges. 0 for a zombie; a reaped
    pid raises ``ProcessLookupError``."""
    spans = [(start, start + length) for start, length in outside]
    total = 0
    counted: tuple[str, ...] = ()
    for fields in _smaps(pid):
        head = fields[0]
        if "-" in head and not head.endswith(":"):
            lo, hi = (int(x, 16) for x in head.split("-"))
            path = fields[5] if len(fields) > 5 else ""
            anon = path == "" or path.startswith("[")
            private_file = not anon and fields[1].endswith("p")
            counted = ()
            if not any(lo < end and start < hi for start, end in spans):
                counted = (("Private_Clean:", "Private_Dirty:") if anon else
                           ("Private_Dirty:",) if private_file else ())
            continue
        if head in counted:
            total += int(fields[1])
    return total


def mapping_vmas(pid: int, start: int, length: int) -> int:
    """How many VMAs of ``/proc/<pid>/maps`` overlap ``[start, start + length)`` (how
    mprotect/mlock/madvise split a mapping); raises ``ProcessLookupError`` once gone."""
    try:
        text = Path(f"/proc/{pid}/maps").read_text()
    except FileNotFoundError:
        raise ProcessLookupError(3, f"/proc/{pid}/maps: no such process") from None
    count = 0
    for line in text.splitlines():
        lo, hi = (int(x, 16) for x in line.split(maxsplit=1)[0].split("-"))
        count += lo < start + length and start < hi
    return count


def clear_refs(pid: int) -> None:
    """``echo 1 > /proc/<pid>/clear_refs``: clear the young bits of every PTE/PMD of ``pid``
    and PG_referenced of the folios they map (fs/proc/task_mmu.c:clear_refs_write())."""
    Path(f"/proc/{pid}/clear_refs").write_text("1")


class VictimError(RuntimeError):
    """The victim child failed to set up its mappings."""


class Victim(Closing):
    """Handle on a running victim: pid, pidfd, status, kill, wait; a context manager."""

    def __init__(self, popen: subprocess.Popen[bytes], pidfd: int, spec: VictimSpec) -> None:
        self.popen = popen
        self.pidfd = pidfd
        self.spec = spec
        self.maps: tuple[tuple[int, int], ...] = ()
        """``(start, length)`` of each spec mapping, in spec order (bytes)."""
        self.sharer_pid: int | None = None
        self.sharer_pidfd = -1
        self.op_results: tuple[tuple[str | int, ...], ...] = ()
        """Per mapping, the result of each of its ``MappingSpec.ops`` (errno names)."""
        self.thread_tids: tuple[int, ...] = ()
        """Ids of the extra threads (``VictimSpec.threads``)."""
        self.children: list[int] = []
        """Pids of the fork() children (``VictimSpec.forks``), in spec order."""
        self.child_pidfds: list[int] = []

    @property
    def pid(self) -> int:
        """The victim's pid (valid until :meth:`wait` reaps it)."""
        return self.popen.pid

    def status(self) -> VictimStatus:
        """Current ``/proc/<pid>/status`` (VmRSS, RssAnon, RssFile, RssShmem in kB)."""
        return read_status(self.pid)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` through the pidfd (no pid-reuse race)."""
        signal.pidfd_send_signal(self.pidfd, sig)

    def exited(self, timeout_s: float = 0.0) -> bool:
        """Whether the victim has exited (pidfd readable); does not reap it."""
        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)
        return bool(poller.poll(int(timeout_s * 1000)))

    def wait(self, timeout_s: float = 30.0) -> int:
        """Reap the victim and return its exit status (negative = killed by a signal)."""
        return self.popen.wait(timeout=timeout_s)

    def close(self, timeout_s: float = 60.0) -> None:
        """SIGKILL if still running, reap, close the pidfd. Idempotent.

        Thaw first: a v1-frozen victim cannot die, and this raises ``TimeoutExpired``.
        """
        if self.sharer_pidfd >= 0:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.sharer_pidfd, signal.SIGKILL)
            os.close(self.sharer_pidfd)
            self.sharer_pidfd = -1
        while self.child_pidfds:
            fd = self.child_pidfds.pop()
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            os.close(fd)
        if self.popen.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.kill(signal.SIGKILL)
            self.popen.wait(timeout=timeout_s)
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


    def __repr__(self) -> str:
        return f"Victim(pid={self.pid}, pages={self.spec.nr_pages})"


def wait_sleeping(victim: Victim, timeout_s: float = 5.0) -> None:
    """Wait until every thread of ``victim`` that should sleep (``VictimSpec.sleep`` /
    ``thread_sleep`` other than ``busy``) sleeps in the kernel: State S with a wait channel.

    The ready message is written just before the main thread enters its sleep, so a freeze
    right after :func:`launch_victim` could catch it still running -- and a running task
    freezes through the fake signal, not in place (mrelease_ref.kernel.freezer).
    """
    spec = victim.spec
    tids = (victim.pid, *victim.thread_tids)
    hows = (spec.sleep, *([spec.thread_sleep or spec.sleep] * len(victim.thread_tids)))
    deadline = time.monotonic() + timeout_s
    for tid, how in zip(tids, hows, strict=True):
        if how == "busy":
            continue
        task = Path(f"/proc/{victim.pid}/task/{tid}")
        while True:
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
            wchan = (task / "wchan").read_text().strip()
            if state == "S" and wchan not in ("", "0"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"thread {tid} not asleep in {how} (state {state})")
            time.sleep(0.001)


def _read_line(fd: int, timeout_s: float) -> bytes:
    """Read up to a newline (or EOF) from ``fd`` within ``timeout_s``."""
    buf = b""
    deadline = time.monotonic() + timeout_s
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"victim not ready after {timeout_s} s")
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    return buf


def _spawn(spec: VictimSpec, ready_w: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-I", str(_CHILD), spec.to_json(), str(ready_w), str(os.getpid())]
    return subprocess.Popen(
        argv, pass_fds=(ready_w,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )


def launch_victim(spec: VictimSpec, ready_timeout_s: float = 120.0) -> Victim:
    """Start a victim and return once every page of every mapping has been touched."""
    ready_r, ready_w = os.pipe()
    try:
        popen = _spawn(spec, ready_w)
    except BaseException:
        os.close(ready_r)
        raise
    finally:
        os.close(ready_w)
    victim = Victim(popen, -1, spec)
    try:
        victim.pidfd = pidfd_open(popen.pid)
        line = _read_line(ready_r, ready_timeout_s)
        msg: dict[str, Any] = (
            json.loads(line) if line else {"ok": False, "error": "child exited silently"}
        )
        if not msg.get("ok"):
            raise VictimError(f"victim {popen.pid} failed: {msg.get('error')}")
        victim.maps = tuple((int(a), int(n)) for a, n in msg.get("maps", ()))
        victim.op_results = tuple(tuple(r) for r in msg.get("ops", ()))
        victim.thread_tids = tuple(int(t) for t in msg.get("threads", ()))
        if msg.get("sharer") is not None:
            victim.sharer_pid = int(msg["sharer"])
            victim.sharer_pidfd = pidfd_open(victim.sharer_pid)
        for pid in msg.get("forks") or ():
            victim.children.append(int(pid))
            victim.child_pidfds.append(pidfd_open(int(pid)))
    except BaseException:
        victim.close()
        raise
    finally:
        os.close(ready_r)
    return victim


def _fstype(path: Path) -> str:
    """Filesystem type of the mount holding ``path`` (longest mountinfo prefix)."""
    real, best, best_type = str(path.resolve()), "", "?"
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            mnt = left.split()[4]
            inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
            if inside and len(mnt) >= len(best):
                best, best_type = mnt, right.split()[0]
    return best_type


def make_test_file(nr_pages: int, directory: str = "/var/tmp", drop_cache: bool = True) -> Path:
    """Write an ``nr_pages`` file of non-zero bytes on a real fs, fsync, and drop its cache.

    The page cache is dropped with ``posix_fadvise(DONTNEED)``, per file, never globally.
    The caller owns (and must unlink) the file; use :func:`scratch_file` to have that done.
    """
    fstype = _fstype(Path(directory))
    if fstype in _NO_PAGE_CACHE_FS:
        raise ValueError(f"{directory} is on {fstype}; the lab needs a disk-backed fs")
    fd, name = tempfile.mkstemp(prefix="mrelease_lab.", suffix=".dat", dir=directory)
    try:
        chunk = bytes(range(1, 256)) * (PAGE_SIZE * 64 // 255 + 1)
        chunk = chunk[: PAGE_SIZE * 64]
        left = nr_pages * PAGE_SIZE
        while left > 0:
            left -= os.write(fd, chunk[: min(left, len(chunk))])
        os.fsync(fd)
        if drop_cache:
            posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except BaseException:
        os.unlink(name)
        raise
    finally:
        os.close(fd)
    return Path(name)


def warm_file(path: str | Path) -> None:
    """Read the whole file with ``read()`` so it sits in the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        while os.read(fd, 1 << 20):
            pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def scratch_file(
    nr_pages: int, directory: str = "/var/tmp", drop_cache: bool = True
) -> Iterator[Path]:
    """:func:`make_test_file` that unlinks the file when the block ends."""
    path = make_test_file(nr_pages, directory, drop_cache)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
