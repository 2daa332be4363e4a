"""mm holder child: pin a victim's ``mm_users`` with a /proc read blocked on a uffd page.

Run by :class:`mrelease_ref.lab.measure.ProcHolder` as
``python -I _holder_main.py PID WHAT READY_FD CTL_FD PPID`` (stdlib only).

A reader thread calls ``preadv(/proc/PID/WHAT)`` into a page registered with userfaultfd
(MISSING mode) and never filled. The kernel takes ``get_task_mm()``/``mmget()`` before it
copies to user space (fs/proc/base.c: get_task_cmdline(), environ_read(), mem_rw()), so the
read blocks in ``copy_to_user()`` with ``mm_users + 1`` (docs/sources.md §M4.4). The main
thread sees the fault on the uffd, reports ``{"pinned": true}``, waits for one byte (or EOF)
on CTL_FD, then resolves the fault with ``UFFDIO_ZEROPAGE``; the read finishes and drops the
reference (running ``exit_mmap`` here if it was the last one). It then reports
``{"released": true, "release_ns": ...}``, waits for a second byte (or EOF) and only then
exits, so the parent can measure what the release freed before this process's own memory is
freed too.

Limitations:
    - Needs kernel-mode uffd faults: root/CAP_SYS_PTRACE or vm.unprivileged_userfaultfd=1.
    - userfaultfd numbers are known for x86_64/aarch64/riscv64/loongarch64, with
      /dev/userfaultfd as the fallback.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import mmap
import os
import select
import signal
import sys
import threading
import time
from typing import Any

PAGE = mmap.PAGESIZE
PR_SET_PDEATHSIG = 1
UFFD_API = 0xAA
UFFDIO_API = 0xC018AA3F
UFFDIO_REGISTER = 0xC020AA00
UFFDIO_ZEROPAGE = 0xC020AA04
USERFAULTFD_IOC_NEW = 0xAA00
UFFDIO_REGISTER_MODE_MISSING = 1
UFFD_EVENT_PAGEFAULT = 0x12
_NR_USERFAULTFD = {"x86_64": 323, "aarch64": 282, "riscv64": 282, "loongarch64": 282}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class UffdioApi(ctypes.Structure):
    _fields_ = (
        ("api", ctypes.c_uint64),
        ("features", ctypes.c_uint64),
        ("ioctls", ctypes.c_uint64),
    )


class UffdioRange(ctypes.Structure):
    _fields_ = (("start", ctypes.c_uint64), ("len", ctypes.c_uint64))


class UffdioRegister(ctypes.Structure):
    _fields_ = (("range", UffdioRange), ("mode", ctypes.c_uint64), ("ioctls", ctypes.c_uint64))


class UffdioZeropage(ctypes.Structure):
    _fields_ = (("range", UffdioRange), ("mode", ctypes.c_uint64), ("zeropage", ctypes.c_int64))


def _uffd_open() -> int:
    nr = _NR_USERFAULTFD.get(os.uname().machine)
    if nr is not None:
        fd = int(_libc.syscall(ctypes.c_long(nr), ctypes.c_long(os.O_CLOEXEC)))
        if fd >= 0:
            return fd
    dev = os.open("/dev/userfaultfd", os.O_RDWR | os.O_CLOEXEC)
    try:
        return fcntl.ioctl(dev, USERFAULTFD_IOC_NEW, os.O_CLOEXEC)
    finally:
        os.close(dev)


def _register(uffd: int, addr: int) -> None:
    fcntl.ioctl(uffd, UFFDIO_API, UffdioApi(UFFD_API, 0, 0))
    reg = UffdioRegister(UffdioRange(addr, PAGE), UFFDIO_REGISTER_MODE_MISSING, 0)
    fcntl.ioctl(uffd, UFFDIO_REGISTER, reg)


def _offset(pid: int, what: str) -> int:
    """0 for cmdline/environ; for mem, the start of the victim's first readable mapping."""
    if what != "mem":
        return 0
    with open(f"/proc/{pid}/maps", encoding="ascii") as f:
        for line in f:
            rng, perms = line.split()[:2]
            if perms.startswith("r"):
                return int(rng.split("-")[0], 16)
    raise OSError(f"/proc/{pid}/maps: no readable mapping")


def _report(fd: int, msg: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(msg) + "\n").encode())


def _wait_fault(uffd: int, reader: threading.Thread, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not select.select([uffd], [], [], 0.01)[0]:
        if not reader.is_alive():
            raise OSError("the /proc read finished without faulting on the uffd page")
        if time.monotonic() > deadline:
            raise TimeoutError("no uffd fault")
    msg = os.read(uffd, 32)
    if msg[0] != UFFD_EVENT_PAGEFAULT:
        raise OSError(f"unexpected uffd event {msg[0]:#x}")


def main(argv: list[str]) -> int:
    pid, what, ready_fd, ctl_fd, ppid = int(argv[1]), argv[2], *map(int, argv[3:6])
    _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != ppid:
        return 1
    buf = mmap.mmap(-1, PAGE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    result: dict[str, Any] = {}

    def reader() -> None:
        try:
            result["nread"] = os.preadv(proc_fd, [buf], offset)
        except OSError as exc:
            result["error"] = str(exc)

    try:
        uffd = _uffd_open()
        _register(uffd, addr)
        offset = _offset(pid, what)
        proc_fd = os.open(f"/proc/{pid}/{what}", os.O_RDONLY)
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        _wait_fault(uffd, thread, 10.0)
    except Exception as exc:  # reported to the parent, which raises
        _report(ready_fd, {"pinned": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    _report(ready_fd, {"pinned": True})
    os.read(ctl_fd, 1)
    t0 = time.perf_counter_ns()
    fcntl.ioctl(uffd, UFFDIO_ZEROPAGE, UffdioZeropage(UffdioRange(addr, PAGE), 0, 0))
    thread.join()
    release_ns = time.perf_counter_ns() - t0
    _report(ready_fd, {"released": True, "release_ns": release_ns, **result})
    os.read(ctl_fd, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
