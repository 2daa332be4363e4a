"""Memory probes for the lab: Free+pcp, /proc/meminfo, cachestat, and an mm holder.

Kernel: mm/vmstat.c (/proc/vmstat, /proc/zoneinfo), fs/proc/meminfo.c, mm/filemap.c
(cachestat), fs/proc/base.c (the /proc reads that pin ``mm_users``).

* :func:`free_pages_with_pcp` is the probe that works on this kernel (docs/sources.md §M0.9):
  freed pages wait on per-CPU lists (pcp ``high_max`` ≈ 188 MiB per CPU) and are missing from
  MemFree, so count ``nr_free_pages`` plus every pageset ``count:``.
* :class:`ProcHolder` pins a victim's ``mm_users`` deterministically (docs/sources.md §M4.4): a
  child process's ``pread()`` of ``/proc/<pid>/{cmdline,environ,mem}`` blocks in
  ``copy_to_user()`` on a never-filled userfaultfd page, holding ``mmget()`` until
  :meth:`ProcHolder.release`.

Limitations:
    - Free+pcp and meminfo are global: other work on the machine adds noise (±10–90 MB seen).
    - This kernel boots with ``deferred_init=lazy``: ``nr_free_pages`` only counts memory
      initialised so far (≈3.6 GiB at boot of 24 GiB), unlike MemFree. Deltas across a reap
      are fine; absolute values and deltas across large allocations are not.
    - ``meminfo()`` values are kB except the ``HugePages_*`` counts, which are pages.
    - ProcHolder needs root (kernel-mode uffd faults) and a known userfaultfd syscall number
      or /dev/userfaultfd.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

from mrelease_ref.lab._closing import Closing
from mrelease_ref.lab.syscalls import CacheStat, cachestat

__all__ = (
    "ProcHolder",
    "cachestat_file",
    "fincore_pages",
    "free_pages_with_pcp",
    "large_folio_fraction",
    "meminfo",
    "mincore_file",
    "pcp_count_pages",
    "smaps_rollup",
    "vmstat",
)

_HOLDER = Path(__file__).with_name("_holder_main.py")


def vmstat() -> dict[str, int]:
    """/proc/vmstat as a dict of counters."""
    out = {}
    with open("/proc/vmstat", encoding="ascii") as f:
        for line in f:
            key, value = line.split()
            out[key] = int(value)
    return out


def pcp_count_pages() -> int:
    """Sum of every per-CPU pageset ``count:`` in /proc/zoneinfo (pages)."""
    total = 0
    with open("/proc/zoneinfo", encoding="ascii") as f:
        for line in f:
            fields = line.split()
            if len(fields) == 2 and fields[0] == "count:":
                total += int(fields[1])
    return total


def free_pages_with_pcp() -> int:
    """``nr_free_pages`` + Σ pcp ``count`` (pages): the free-memory probe that sees frees."""
    return vmstat()["nr_free_pages"] + pcp_count_pages()


def meminfo() -> dict[str, int]:
    """/proc/meminfo; values in kB (``HugePages_*`` are page counts)."""
    out = {}
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            out[key] = int(rest.split()[0])
    return out


def smaps_rollup(pid: int) -> dict[str, int]:
    """``/proc/<pid>/smaps_rollup`` sizes in kB (Rss, Anonymous, FilePmdMapped, ...)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3 and fields[2] == "kB":
                out[fields[0].rstrip(":")] = int(fields[1])
    return out


KPF_COMPOUND_HEAD = 15
KPF_COMPOUND_TAIL = 16


def large_folio_fraction(pid: int, start: int, length: int, step_pages: int = 16) -> float:
    """Fraction of the resident pages of ``[start, start+length)`` in ``pid`` that belong to
    a large folio (compound head or tail in /proc/kpageflags), sampling every
    ``step_pages``-th page. Needs root (PFNs in /proc/<pid>/pagemap).

    Kernel: fs/proc/task_mmu.c (pagemap: bit 63 present, bits 0-54 PFN), fs/proc/page.c
    (kpageflags: KPF_COMPOUND_HEAD 15, KPF_COMPOUND_TAIL 16).
    """
    page = 4096
    large = present = 0
    with open(f"/proc/{pid}/pagemap", "rb") as pm, open("/proc/kpageflags", "rb") as kf:
        for addr in range(start, start + length, step_pages * page):
            pm.seek(addr // page * 8)
            entry = int.from_bytes(pm.read(8), "little")
            if not entry >> 63 & 1:
                continue
            pfn = entry & ((1 << 55) - 1)
            kf.seek(pfn * 8)
            flags = int.from_bytes(kf.read(8), "little")
            present += 1
            large += bool(flags & (1 << KPF_COMPOUND_HEAD | 1 << KPF_COMPOUND_TAIL))
    return large / present if present else 0.0


def cachestat_file(path: str | Path) -> CacheStat:
    """cachestat(2) over the whole of ``path``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return cachestat(fd, 0, 0)
    finally:
        os.close(fd)


def mincore_file(path: str | Path, nr_pages: int) -> int:
    """Pages of the first ``nr_pages`` of ``path`` that ``mincore(2)`` reports resident,
    through a private read-only mapping made here (mm/mincore.c: for a mapped file,
    page-cache residency; nothing is faulted in)."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)
    fd = os.open(path, os.O_RDONLY)
    try:
        m = mmap.mmap(fd, nr_pages * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE,
                      prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    try:
        vec = ctypes.create_string_buffer(nr_pages)
        size = ctypes.c_size_t(nr_pages * mmap.PAGESIZE)
        if libc.mincore(ctypes.c_void_p(_mmap_address(m)), size, vec) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mincore: {os.strerror(err)}")
        return sum(b & 1 for b in vec.raw[:nr_pages])
    finally:
        m.close()


def _mmap_address(m: Any) -> int:
    """Start address of an mmap object (read-only ones included), via the buffer protocol."""
    import ctypes

    class _Buf(ctypes.Structure):
        _fields_ = (("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p),
                    ("len", ctypes.c_ssize_t), ("itemsize", ctypes.c_ssize_t),
                    ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                    ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p),
                    ("strides", ctypes.c_void_p), ("suboffsets", ctypes.c_void_p),
                    ("internal", ctypes.c_void_p))

    get = ctypes.pythonapi.PyObject_GetBuffer
    get.argtypes = (ctypes.py_object, ctypes.POINTER(_Buf), ctypes.c_int)
    rel = ctypes.pythonapi.PyBuffer_Release
    rel.argtypes = (ctypes.POINTER(_Buf),)
    view = _Buf()
    if get(m, ctypes.byref(view), 0) != 0:
        raise OSError("PyObject_GetBuffer failed")
    try:
        return int(view.buf or 0)
    finally:
        rel(ctypes.byref(view))


def fincore_pages(path: str | Path) -> int | None:
    """Resident pages of ``path`` by util-linux ``fincore(1)``; None if it is not installed.

    A third, independent page-cache probe next to cachestat(2) and mincore(2)
    (docs/sources.md §M5: "all three always agreed").
    """
    exe = shutil.which("fincore")
    if exe is None:
        return None
    out = subprocess.run([exe, "--raw", "--noheadings", "--output", "PAGES", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def _read_json_line(fd: int, timeout_s: float) -> dict[str, Any]:
    buf = b""
    deadline = time.monotonic() + timeout_s
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"mm holder: no answer in {timeout_s} s")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise OSError("mm holder exited without answering")
        buf += chunk
    result: dict[str, Any] = json.loads(buf)
    return result


class ProcHolder(Closing):
    """Pin ``mm_users`` of ``pid`` until :meth:`release`; a context manager.

    ``what`` picks the /proc file: ``cmdline``, ``environ`` or ``mem``. On return from the
    constructor the holder's read is blocked inside ``copy_to_user()`` with the mm pinned.
    """

    def __init__(
        self,
        pid: int,
        what: Literal["cmdline", "environ", "mem"] = "cmdline",
        timeout_s: float = 10.0,
    ) -> None:
        self.pid, self.what = pid, what
        self.release_ns: int | None = None
        self._ready_r, ready_w = os.pipe()
        self._ctl_r, self._ctl_w = os.pipe()
        argv = [
            sys.executable,
            "-I",
            str(_HOLDER),
            str(pid),
            what,
            str(ready_w),
            str(self._ctl_r),
            str(os.getpid()),
        ]
        try:
            self.popen = subprocess.Popen(
                argv, pass_fds=(ready_w, self._ctl_r), stdin=subprocess.DEVNULL
            )
        except BaseException:
            self._close_fds()
            raise
        finally:
            os.close(ready_w)
        try:
            msg = _read_json_line(self._ready_r, timeout_s)
            if not msg.get("pinned"):
                raise OSError(f"mm holder failed: {msg.get('error')}")
        except BaseException:
            self.close()
            raise

    def release(self, timeout_s: float = 60.0) -> int:
        """Let the read finish; return ns from resolving the fault to the read's return.

        If the holder had the last ``mm_users`` reference, that time includes ``exit_mmap``.
        The holder process then waits, still alive, until :meth:`close`, so a measurement
        taken between the two sees only what the release freed.
        """
        os.write(self._ctl_w, b"r")
        msg = _read_json_line(self._ready_r, timeout_s)
        self.release_ns = int(msg["release_ns"])
        return self.release_ns

    def _close_fds(self) -> None:
        for fd in (self._ready_r, self._ctl_r, self._ctl_w):
            if fd >= 0:
                os.close(fd)
        self._ready_r = self._ctl_r = self._ctl_w = -1

    def close(self, timeout_s: float = 10.0) -> None:
        """Let the holder finish (EOF on its control pipe releases a pin still held), reap
        it (killing it after ``timeout_s``), close fds. Idempotent."""
        if self._ctl_w >= 0:
            os.close(self._ctl_w)
            self._ctl_w = -1
        popen = getattr(self, "popen", None)
        if popen is not None and popen.returncode is None:
            try:
                popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        self._close_fds()

