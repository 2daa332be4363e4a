"""Victim child: map what the spec asks for, touch every page, report ready, sleep.

Run by :mod:`mrelease_ref.lab.victim` as ``python -I _victim_main.py SPEC_JSON READY_FD PPID``
in a fresh interpreter (stdlib only, never imports the package), so the child carries no
memory of the parent. It sets ``PR_SET_PDEATHSIG(SIGKILL)`` so it dies with its parent.

Protocol: one JSON line on READY_FD, ``{"ok": true, "maps": [[start, length], ...],
"sharer": PID or null, "ops": [[result, ...], ...], "threads": [TID, ...],
"forks": [PID, ...]}`` (one ``[start, length]`` and one list of op results per mapping, in
spec order; the extra threads' ids; the fork children's pids) or
``{"ok": false, "error": ...}``.

Each mapping may carry ``ops`` run after every mapping is set up, as
``[name, arg, start_page, nr_pages]``: ``madvise`` (arg: advice), ``madvise_unaligned``
(start + 1 byte), ``mprotect`` (arg: prot), ``mlock``, ``munlock``, ``munmap``, ``touch`` (arg: 1 =
write), ``access`` (a forked child reads or writes the page; result: the signal that killed
it or "0"), ``drain`` (mlock + munlock of a scratch page: ``lru_add_drain()`` on this CPU),
``mincore`` (result: resident pages), ``vmas`` (result: VMAs overlapping the mapping),
``pmdmapped`` (result: their FilePmdMapped, kB).
Results are errno names ("0", "EINVAL", ...). With
ops, the victim pins itself to the CPU it runs on, so per-CPU LRU batches filled by one op
are the ones a later op (or ``drain``) empties.
``"sleep"`` says what the main thread then waits in (``pause`` by default, ``nanosleep``,
``futex``, ``select`` or ``busy``); ``"threads"`` extra threads wait in ``"thread_sleep"``
(default: the same).

With ``"forks": [[MAP, PAGES], ...]`` the child then fork()s one copy-on-write child per
entry; child *i* writes one byte to each of the first PAGES pages of mapping MAP (a COW
copy each), tells the victim it is done, and sleeps in ``pause()``. Fork children set
``PR_SET_PDEATHSIG(SIGKILL)`` too, so they die when the victim exits.

With ``"sharer": true`` the child also starts a second *process* that shares its mm
(``clone(CLONE_VM|SIGCHLD)``, not a thread): the clone returns on a private one-page stack
into a 30-byte machine-code stub that sets ``PR_SET_PDEATHSIG(SIGKILL)`` and loops on
``pause()``, so the sharer never runs Python code (docs/sources.md §M3.3 used small C victims
for the same purpose).

Limitations:
    - Touching is a Python loop, one byte per 4 KiB page (about 0.3 s per GiB of faults).
    - THP needs the mapping to be 2 MiB aligned; the kernel's choice of address decides.
    - The sharer stub is x86_64 machine code; other machines report an error.
    - ``small_folios`` relies on ``MADV_RANDOM`` turning readahead off, so page faults read
      single 4 KiB folios (mm/filemap.c:do_sync_mmap_readahead()); pages already cached
      keep whatever folio size they have.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import platform
import select
import signal
import sys
import threading
import time
from typing import Any

PAGE = mmap.PAGESIZE
PR_SET_PDEATHSIG = 1
CLONE_VM = 0x100
_NR_CLONE_X86_64 = 56
_SHARER_STUB = bytes.fromhex(
    "bf01000000"  # mov edi, 1 (PR_SET_PDEATHSIG)
    "be09000000"  # mov esi, 9 (SIGKILL)
    "b89d000000"  # mov eax, 157 (prctl)
    "0f05"  # syscall
    "b822000000"  # loop: mov eax, 34 (pause)
    "0f05"  # syscall
    "ebf7"  # jmp loop
)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _PyBuffer(ctypes.Structure):
    _fields_ = (
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    )


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = (ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int)
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = (ctypes.POINTER(_PyBuffer),)


def _address(m: mmap.mmap) -> int:
    """Start address of ``m``, read-only mappings included (the buffer protocol's ``buf``)."""
    view = _PyBuffer()
    if _get_buffer(m, ctypes.byref(view), 0) != 0:
        raise OSError("PyObject_GetBuffer failed")
    try:
        return int(view.buf)
    finally:
        _release_buffer(ctypes.byref(view))


def _touch(m: mmap.mmap, nr_pages: int, write: bool) -> None:
    if write:
        for off in range(0, nr_pages * PAGE, PAGE):
            m[off] = 1
    else:
        total = 0
        for off in range(0, nr_pages * PAGE, PAGE):
            total += m[off]


def _map_anon(kind: str, nr_pages: int) -> mmap.mmap:
    if kind == "shmem":
        m = mmap.mmap(-1, nr_pages * PAGE, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        _touch(m, nr_pages, write=True)
        return m
    m = mmap.mmap(-1, nr_pages * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    m.madvise(mmap.MADV_HUGEPAGE if kind == "anon_thp" else mmap.MADV_NOHUGEPAGE)
    _touch(m, nr_pages, write=True)
    if (
        kind == "anon_mlock"
        and _libc.mlock(ctypes.c_void_p(_address(m)), ctypes.c_size_t(nr_pages * PAGE)) != 0
    ):
        err = ctypes.get_errno()
        raise OSError(err, f"mlock: {os.strerror(err)}")
    return m


def _map_file(kind: str, nr_pages: int, desc: dict[str, Any]) -> mmap.mmap:
    dirty_pages, path, thp = int(desc["dirty_pages"]), str(desc["path"]), desc.get("thp")
    shared = kind == "file_shared"
    writable = kind == "file_cow" or (shared and dirty_pages > 0)
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    fd = os.open(path, os.O_RDWR if shared else os.O_RDONLY)
    try:
        flags = mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE
        m = mmap.mmap(fd, nr_pages * PAGE, flags=flags, prot=prot)
    finally:
        os.close(fd)
    if thp is not None:
        m.madvise(mmap.MADV_HUGEPAGE if thp else mmap.MADV_NOHUGEPAGE)
    small = bool(desc.get("small_folios"))
    if small:
        m.madvise(mmap.MADV_RANDOM)  # no readahead: faults read 4 KiB folios
    _touch(m, nr_pages, write=False)
    if small:
        m.madvise(mmap.MADV_NORMAL)  # back to VM_* recency, so the zap marks accessed
    _touch(m, dirty_pages, write=True)
    return m


def _map_memfd(kind: str, nr_pages: int, desc: dict[str, Any], keep_fds: list[int]) -> mmap.mmap:
    """memfd_create() + ftruncate(); MAP_SHARED written, or MAP_PRIVATE read then
    ``dirty_pages`` written (COW). The descriptor stays open (the file outlives a reap)."""
    fd = os.memfd_create(f"victim-{kind}")
    keep_fds.append(fd)
    os.ftruncate(fd, nr_pages * PAGE)
    shared = kind == "memfd_shared"
    m = mmap.mmap(fd, nr_pages * PAGE, flags=mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE)
    if shared:
        _touch(m, nr_pages, write=True)
    else:
        _touch(m, nr_pages, write=False)
        _touch(m, int(desc["dirty_pages"]), write=True)
    return m


def _map_one(desc: dict[str, Any], keep_fds: list[int]) -> mmap.mmap:
    kind, nr_pages = str(desc["kind"]), int(desc["nr_pages"])
    if kind.startswith("memfd"):
        return _map_memfd(kind, nr_pages, desc, keep_fds)
    if kind.startswith("anon") or kind == "shmem":
        return _map_anon(kind, nr_pages)
    return _map_file(kind, nr_pages, desc)


# --- operations on the mappings after setup (madvise, mprotect, mlock, ...) -------------

_libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_libc.mlock.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
_libc.munlock.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
_libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)


def _errname(ret: int) -> str:
    if ret == 0:
        return "0"
    import errno as _errno

    err = ctypes.get_errno()
    return _errno.errorcode.get(err, str(err))


def _child_access(addr: int, write: bool) -> str:
    """Access ``addr`` in a forked child; the signal that killed it, or "0"."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        try:
            cell = ctypes.c_char.from_address(addr)
            if write:
                cell.value = b"x"
            else:
                _ = cell.value
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name
    return "0"


def _drain(scratch: mmap.mmap) -> None:
    """lru_add_drain() on this CPU: mlock_fixup() -> mlock_vma_pages_range() drains it."""
    addr = _address(scratch)
    _libc.mlock(ctypes.c_void_p(addr), ctypes.c_size_t(PAGE))
    _libc.munlock(ctypes.c_void_p(addr), ctypes.c_size_t(PAGE))


def _run_op(m: mmap.mmap, op: list[Any], scratch: mmap.mmap) -> str | int:
    name, arg, start, nr = str(op[0]), int(op[1]), int(op[2]), int(op[3])
    addr = _address(m) + start * PAGE
    size = nr * PAGE
    ctypes.set_errno(0)
    if name == "madvise":
        return _errname(_libc.madvise(ctypes.c_void_p(addr), ctypes.c_size_t(size), arg))
    if name == "madvise_unaligned":
        return _errname(_libc.madvise(ctypes.c_void_p(addr + 1), ctypes.c_size_t(size), arg))
    if name == "mprotect":
        return _errname(_libc.mprotect(ctypes.c_void_p(addr), ctypes.c_size_t(size), arg))
    if name == "mlock":
        return _errname(_libc.mlock(ctypes.c_void_p(addr), ctypes.c_size_t(size)))
    if name == "munlock":
        return _errname(_libc.munlock(ctypes.c_void_p(addr), ctypes.c_size_t(size)))
    if name == "munmap":  # a hole in the middle of the mapping (never touched again)
        _libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
        return _errname(_libc.munmap(ctypes.c_void_p(addr), ctypes.c_size_t(size)))
    if name == "touch":  # through the address: mprotect() may have changed the rights
        for page in range(addr, addr + size, PAGE):
            cell = ctypes.c_char.from_address(page)
            if arg:
                cell.value = b"\x02"
            else:
                _ = cell.value
        return "0"
    if name == "access":  # arg: 1 = write
        return _child_access(addr, bool(arg))
    if name == "drain":
        _drain(scratch)
        return "0"
    if name == "vmas":  # VMAs of /proc/self/maps overlapping the mapping
        lo_m, hi_m = _address(m), _address(m) + len(m)
        with open("/proc/self/maps", encoding="ascii") as f:
            spans = [[int(x, 16) for x in line.split(maxsplit=1)[0].split("-")] for line in f]
        return sum(1 for lo, hi in spans if lo < hi_m and lo_m < hi)
    if name == "pmdmapped":  # FilePmdMapped (kB) of the VMAs overlapping the mapping
        lo_m, hi_m = _address(m), _address(m) + len(m)
        total, inside = 0, False
        with open("/proc/self/smaps", encoding="ascii") as f:
            for line in f:
                head = line.split(maxsplit=1)[0]
                if "-" in head and not head.endswith(":"):
                    lo, hi = (int(x, 16) for x in head.split("-"))
                    inside = lo < hi_m and lo_m < hi
                elif inside and head == "FilePmdMapped:":
                    total += int(line.split()[1])
        return total
    if name == "mincore":
        vec = ctypes.create_string_buffer(nr)
        ret = _libc.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(size), vec)
        return sum(b & 1 for b in vec.raw) if ret == 0 else _errname(ret)
    raise ValueError(f"unknown op {name!r}")


def _run_ops(spec: dict[str, Any], keep: list[mmap.mmap]) -> list[list[str | int]]:
    """Each mapping's ``ops`` in spec order, on the CPU the victim runs on (per-CPU LRU
    batches then drain where the ops expect), with one result per op."""
    if not any(desc.get("ops") for desc in spec["mappings"]):
        return [[] for _ in spec["mappings"]]
    scratch = mmap.mmap(-1, PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    scratch[0] = 1
    keep.append(scratch)
    return [[_run_op(m, op, scratch) for op in desc.get("ops", ())]
            for m, desc in zip(keep, spec["mappings"], strict=False)]


def _start_sharer(keep: list[mmap.mmap]) -> int:
    """clone(CLONE_VM|SIGCHLD) into the pause() stub; return the sharer's pid."""
    if platform.machine() != "x86_64":
        raise OSError(f"the CLONE_VM sharer stub is x86_64 code, not {platform.machine()}")
    private = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS  # not shmem: the reap must free them
    rwx = mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC
    code = mmap.mmap(-1, PAGE, flags=private, prot=rwx)
    code[: len(_SHARER_STUB)] = _SHARER_STUB
    stack = mmap.mmap(-1, PAGE, flags=private)
    keep += [code, stack]
    top = _address(stack) + PAGE - 16  # 16-byte aligned; glibc syscall() `ret`s to [top]
    ctypes.c_uint64.from_buffer(stack, PAGE - 16).value = _address(code)
    pid = int(
        _libc.syscall(
            ctypes.c_long(_NR_CLONE_X86_64),
            ctypes.c_long(CLONE_VM | int(signal.SIGCHLD)),
            ctypes.c_void_p(top),
            ctypes.c_void_p(0),
            ctypes.c_void_p(0),
            ctypes.c_long(0),
        )
    )
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"clone(CLONE_VM): {os.strerror(err)}")
    return pid


def _wait_forever(how: str) -> None:
    """Sleep the way ``how`` says, forever (``VictimSpec.sleep``): the freezer freezes a
    TASK_FREEZABLE sleep in place and anything else through a fake signal."""
    if how == "nanosleep":  # clock_nanosleep(): TASK_INTERRUPTIBLE|TASK_FREEZABLE
        while True:
            time.sleep(1000)
    if how == "futex":  # a lock taken twice: sem_wait() -> futex wait, also freezable
        lock = threading.Lock()
        lock.acquire()
        while True:
            lock.acquire()
    if how == "select":  # select(): TASK_INTERRUPTIBLE, not freezable
        while True:
            select.select([], [], [], 1000)
    if how == "busy":  # running in user space
        while True:
            pass
    while True:  # "pause": pause(), TASK_INTERRUPTIBLE, not freezable
        signal.pause()


def _start_threads(spec: dict[str, Any]) -> list[int]:
    """Start ``spec["threads"]`` extra threads sleeping as ``thread_sleep``; their tids."""
    how = str(spec.get("thread_sleep") or spec.get("sleep") or "pause")
    tids: list[int] = []
    ready = threading.Semaphore(0)

    def run() -> None:
        tids.append(threading.get_native_id())
        ready.release()
        _wait_forever(how)

    for _ in range(int(spec.get("threads") or 0)):
        threading.Thread(target=run, daemon=True).start()
        ready.acquire()
    return tids
def _fork_children(keep: list[mmap.mmap], forks: list[list[int]]) -> list[int]:
    """fork() one child per ``[map index, pages to write]``; return their pids once every
    child has written its pages."""
    pids = []
    for idx, pages in forks:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child never returns)
            code = 1
            try:
                os.close(r)
                _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
                _touch(keep[int(idx)], int(pages), write=True)
                os.write(w, b"1")
                os.close(w)
                while True:
                    signal.pause()
            finally:
                os._exit(code)
        os.close(w)
        ok = os.read(r, 1)
        os.close(r)
        if ok != b"1":
            raise OSError(f"fork child {pid} failed before writing its pages")
        pids.append(pid)
    return pids


def main(argv: list[str]) -> int:
    spec, ready_fd, ppid = json.loads(argv[1]), int(argv[2]), int(argv[3])
    _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != ppid:
        return 1
    if spec.get("cpu") is not None:
        os.sched_setaffinity(0, {int(spec["cpu"])})
    elif any(desc.get("ops") for desc in spec["mappings"]):  # see the module docstring
        _libc.sched_getcpu.restype = ctypes.c_int
        os.sched_setaffinity(0, {_libc.sched_getcpu()})
    keep: list[mmap.mmap] = []
    keep_fds: list[int] = []
    try:
        if spec.get("cgroup_procs"):  # join the group first: every page is charged there
            with open(str(spec["cgroup_procs"]), "w", encoding="ascii") as f:
                f.write(str(os.getpid()))
        # threads first: a thread stack mapped after the spec's mappings could land next to
        # one and merge with it (one VMA), adding the stack to the mapping's smaps RSS
        threads = _start_threads(spec)
        for desc in spec["mappings"]:
            m = _map_one(desc, keep_fds)
            keep.append(m)
        maps = [[_address(m), len(m)] for m in keep]
        results = _run_ops(spec, keep)
        sharer = _start_sharer(keep) if spec.get("sharer") else None
        forks = _fork_children(keep, spec.get("forks") or [])
        msg: dict[str, Any] = {"ok": True, "maps": maps, "sharer": sharer, "ops": results,
                               "threads": threads, "forks": forks}
    except Exception as exc:  # reported to the parent, which raises
        msg = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    os.write(ready_fd, (json.dumps(msg) + "\n").encode())
    os.close(ready_fd)
    if not msg["ok"]:
        return 1
    _wait_forever(str(spec.get("sleep") or "pause"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
