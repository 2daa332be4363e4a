"""ctypes wrappers for the syscalls the lab needs, raising ``OSError`` like :mod:`os`.

Kernel: mm/oom_kill.c:process_mrelease(), kernel/pid.c:pidfd_open(),
mm/filemap.c:cachestat(), mm/mincore.c:mincore().

Every wrapper either returns a value or raises ``OSError(errno, strerror)``; the ``OSError``
constructor maps the errno to the usual subclass (ESRCH gives ``ProcessLookupError``), exactly
as the :mod:`os` functions do. Syscall numbers come from a table keyed by
``platform.machine()`` (docs/sources.md §K7.2): 448/434/451 in the generic table, alpha
558/544/561.

``available()`` answers "can the lab run here?" and gives the precise reason when it cannot.

Limitations:
    - MIPS (o32/n32/n64 use different bases) and x32 are not in the table; they raise
      :class:`UnsupportedArchError`. The alpha numbers for pidfd_open/cachestat are
      inferred (+110 offset), only process_mrelease 558 is confirmed.
    - ``mincore()`` takes a raw address; the caller must own the mapping for the call.
    - ``process_mrelease_ns()`` measures the ctypes call with ``perf_counter_ns``, so every
      result includes about 1 µs of Python/ctypes overhead.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import platform
import sys
import time
from dataclasses import dataclass
from typing import NamedTuple

__all__ = (
    "CacheStat",
    "UnsupportedArchError",
    "available",
    "cachestat",
    "file_mincore",
    "mincore",
    "pidfd_open",
    "posix_fadvise",
    "process_mrelease",
    "process_mrelease_ns",
    "syscall_numbers",
    "tgkill",
)

PAGE_SIZE = mmap.PAGESIZE

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


class SyscallNumbers(NamedTuple):
    """Syscall numbers of one architecture."""

    pidfd_open: int
    process_mrelease: int
    cachestat: int


_GENERIC = SyscallNumbers(pidfd_open=434, process_mrelease=448, cachestat=451)
_ALPHA = SyscallNumbers(pidfd_open=544, process_mrelease=558, cachestat=561)

_GENERIC_MACHINES = (
    *("x86_64", "amd64", "i386", "i486", "i586", "i686"),
    *("aarch64", "arm64", "aarch64_be", "armv6l", "armv7l", "armv8l", "arm"),
    *("riscv64", "riscv32", "loongarch64", "ppc", "ppc64", "ppc64le", "s390x"),
    *("sparc", "sparc64", "parisc", "parisc64", "m68k"),
)
_SYSCALL_TABLE: dict[str, SyscallNumbers] = {
    **dict.fromkeys(_GENERIC_MACHINES, _GENERIC),
    "alpha": _ALPHA,
}


class UnsupportedArchError(OSError):
    """No syscall number is known for this ``platform.machine()``."""


@dataclass(frozen=True, slots=True)
class CacheStat:
    """``struct cachestat`` (include/uapi/linux/mman.h); all counts are in pages."""

    nr_cache: int
    nr_dirty: int
    nr_writeback: int
    nr_evicted: int
    nr_recently_evicted: int


class _CachestatRange(ctypes.Structure):
    _fields_ = (("off", ctypes.c_uint64), ("len", ctypes.c_uint64))


class _Cachestat(ctypes.Structure):
    _fields_ = (
        ("nr_cache", ctypes.c_uint64),
        ("nr_dirty", ctypes.c_uint64),
        ("nr_writeback", ctypes.c_uint64),
        ("nr_evicted", ctypes.c_uint64),
        ("nr_recently_evicted", ctypes.c_uint64),
    )


def syscall_numbers(machine: str | None = None) -> SyscallNumbers:
    """Return the syscall numbers for ``machine`` (default: this machine).

    :raises UnsupportedArchError: (errno ENOSYS) when the machine is not in the table.
    """
    name = platform.machine() if machine is None else machine
    try:
        return _SYSCALL_TABLE[name]
    except KeyError:
        known = ", ".join(sorted(_SYSCALL_TABLE))
        msg = f"no syscall numbers known for machine {name!r} (known: {known})"
        raise UnsupportedArchError(errno.ENOSYS, msg) from None


def _raise_errno() -> None:
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err))


def _call(nr: int, *args: object) -> int:
    """Run ``syscall(nr, *args)``; raise ``OSError`` on -1."""
    ret = int(_syscall(ctypes.c_long(nr), *args))
    if ret == -1:
        _raise_errno()
    return ret


def tgkill(tgid: int, tid: int, sig: int) -> None:
    """``tgkill(tgid, tid, sig)`` (glibc's wrapper): signal one thread of one thread group.

    Kernel: kernel/signal.c:SYSCALL_DEFINE3(tgkill)
    """
    if int(_libc.tgkill(ctypes.c_int(tgid), ctypes.c_int(tid), ctypes.c_int(sig))) == -1:
        _raise_errno()


def pidfd_open(pid: int, flags: int = 0) -> int:
    """Open a pidfd for the thread-group leader ``pid`` (``os.pidfd_open``)."""
    if hasattr(os, "pidfd_open"):
        return os.pidfd_open(pid, flags)
    nr = syscall_numbers().pidfd_open
    return _call(nr, ctypes.c_long(pid), ctypes.c_long(flags))


def process_mrelease(pidfd: int, flags: int = 0) -> None:
    """Reap the memory of the dying process behind ``pidfd``.

    Kernel: mm/oom_kill.c:process_mrelease(). Errno order: EINVAL (flags), EBADF (not a
    pidfd), ESRCH (no task or no mm), EINVAL (task not dying).
    """
    nr = syscall_numbers().process_mrelease
    _call(nr, ctypes.c_long(pidfd), ctypes.c_long(flags))


def process_mrelease_ns(pidfd: int, flags: int = 0) -> tuple[int, int]:
    """Call process_mrelease once and return ``(errno, elapsed_ns)``; errno 0 is success.

    Does not raise for kernel errors, so the timed region holds only the syscall.
    """
    nr = ctypes.c_long(syscall_numbers().process_mrelease)
    fd_arg, flags_arg = ctypes.c_long(pidfd), ctypes.c_long(flags)
    t0 = time.perf_counter_ns()
    ret = _syscall(nr, fd_arg, flags_arg)
    t1 = time.perf_counter_ns()
    return (ctypes.get_errno() if ret == -1 else 0), t1 - t0


def cachestat(fd: int, off: int = 0, length: int = 0) -> CacheStat:
    """Page-cache state of ``[off, off+length)`` of ``fd`` (length 0 = to end of file).

    Kernel: mm/filemap.c:SYSCALL_DEFINE4(cachestat); ``flags`` must be 0.
    """
    rng = _CachestatRange(off, length)
    out = _Cachestat()
    nr = syscall_numbers().cachestat
    _call(nr, ctypes.c_long(fd), ctypes.byref(rng), ctypes.byref(out), ctypes.c_long(0))
    return CacheStat(
        out.nr_cache, out.nr_dirty, out.nr_writeback, out.nr_evicted, out.nr_recently_evicted
    )


_libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte))
_libc.mincore.restype = ctypes.c_int
_libc.mmap.argtypes = (
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
)
_libc.mmap.restype = ctypes.c_void_p
_libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
_libc.munmap.restype = ctypes.c_int
_MAP_FAILED = ctypes.c_void_p(-1).value


def mincore(addr: int, length: int) -> bytes:
    """Residency vector (one byte per page, bit 0 = resident) of a mapping you own.

    ``addr`` must be page aligned, e.g. ``ctypes.addressof(ctypes.c_char.from_buffer(m))``
    for a writable :class:`mmap.mmap`.
    """
    nr_pages = (length + PAGE_SIZE - 1) // PAGE_SIZE
    vec = (ctypes.c_ubyte * max(nr_pages, 1))()
    if _libc.mincore(addr, length, vec) != 0:
        _raise_errno()
    return bytes(vec)[:nr_pages]


def file_mincore(fd: int, length: int) -> bytes:
    """mincore() over a fresh, never-touched ``MAP_SHARED`` ``PROT_READ`` mapping of ``fd``.

    Mapping without touching faults nothing in, so this only reports the page cache.
    """
    if length == 0:
        return b""
    addr = _libc.mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if addr is None or addr == _MAP_FAILED:
        _raise_errno()
    try:
        return mincore(addr, length)
    finally:
        _libc.munmap(addr, length)


def posix_fadvise(fd: int, offset: int, length: int, advice: int) -> None:
    """``os.posix_fadvise`` (raises ``OSError``); e.g. ``os.POSIX_FADV_DONTNEED``."""
    os.posix_fadvise(fd, offset, length, advice)


def _probe_mrelease() -> str | None:
    """None when process_mrelease exists: ``(-1, 0)`` must give EBADF (LMKD's probe)."""
    try:
        process_mrelease(-1, 0)
    except UnsupportedArchError as exc:
        return str(exc)
    except OSError as exc:
        if exc.errno == errno.EBADF:
            return None
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        if exc.errno == errno.ENOSYS:
            return "process_mrelease(-1, 0) gave ENOSYS: kernel lacks the syscall (needs 5.15+)"
        return f"process_mrelease(-1, 0) gave {name}, expected EBADF (seccomp or a filter?)"
    return "process_mrelease(-1, 0) returned 0, expected EBADF"


def _probe_pidfd() -> str | None:
    try:
        fd = pidfd_open(os.getpid(), 0)
    except OSError as exc:
        return f"pidfd_open(self) failed: {exc}"
    os.close(fd)
    return None


def available() -> tuple[bool, str]:
    """Say whether the lab can run here; the string is the precise reason (or a summary)."""
    if not sys.platform.startswith("linux"):
        return False, f"not Linux (sys.platform={sys.platform!r})"
    if os.geteuid() != 0:
        return False, f"not root (euid={os.geteuid()}); the cgroup freezer needs root"
    for probe in (_probe_mrelease, _probe_pidfd):
        reason = probe()
        if reason is not None:
            return False, reason
    from mrelease_ref.lab import freezer

    backend, reason = freezer.find_backend()
    if backend is None:
        return False, reason
    return True, f"ok: process_mrelease present, freezer {reason}"
