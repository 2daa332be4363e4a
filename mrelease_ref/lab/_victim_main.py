"""Victim child: map what the spec asks for, touch every page, report ready, sleep.

Run by :mod:`mrelease_ref.lab.victim` as ``python -I _victim_main.py SPEC_JSON READY_FD PPID``
in a fresh interpreter (stdlib only, never imports the package), so the child carries no
memory of the parent. It sets ``PR_SET_PDEATHSIG(SIGKILL)`` so it dies with its parent.

Protocol: one JSON line on READY_FD, ``{"ok": true, "maps": [[start, length], ...],
"sharer": PID or null, "forks": [PID, ...]}`` (one ``[start, length]`` per mapping, in spec
order) or ``{"ok": false, "error": ...}``.

With ``"forks": [[MAP, PAGES], ...]`` the child then fork()s one copy-on-write child per
entry; child *i* writes one byte to each of the first PAGES pages of mapping MAP (a COW
copy each), tells the victim it is done, and sleeps in ``pause()``. Fork children set
``PR_SET_PDEATHSIG(SIGKILL)`` too, so they die when the victim exits.

With ``"sharer": true`` the child also starts a second *process* that shares its mm
(``clone(CLONE_VM|SIGCHLD)``, not a thread): the clone returns on a private one-page stack
into a 30-byte machine-code stub that sets ``PR_SET_PDEATHSIG(SIGKILL)`` and loops on
``pause()``, so the sharer never runs Python code (realkernel.md §3.3 used small C victims
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
import signal
import sys
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


def _map_one(desc: dict[str, Any]) -> mmap.mmap:
    kind, nr_pages = str(desc["kind"]), int(desc["nr_pages"])
    if kind.startswith("anon") or kind == "shmem":
        return _map_anon(kind, nr_pages)
    return _map_file(kind, nr_pages, desc)


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
    keep: list[mmap.mmap] = []
    try:
        for desc in spec["mappings"]:
            m = _map_one(desc)
            keep.append(m)
        maps = [[_address(m), len(m)] for m in keep]
        sharer = _start_sharer(keep) if spec.get("sharer") else None
        forks = _fork_children(keep, spec.get("forks") or [])
        msg: dict[str, Any] = {"ok": True, "maps": maps, "sharer": sharer, "forks": forks}
    except Exception as exc:  # reported to the parent, which raises
        msg = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    os.write(ready_fd, (json.dumps(msg) + "\n").encode())
    os.close(ready_fd)
    if not msg["ok"]:
        return 1
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
