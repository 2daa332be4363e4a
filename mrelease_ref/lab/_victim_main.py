"""Victim child: map what the spec asks for, touch every page, report ready, sleep.

Run by :mod:`mrelease_ref.lab.victim` as ``python -I _victim_main.py SPEC_JSON READY_FD PPID``
in a fresh interpreter (stdlib only, never imports the package), so the child carries no
memory of the parent. It sets ``PR_SET_PDEATHSIG(SIGKILL)`` so it dies with its parent.

Protocol: one JSON line on READY_FD, ``{"ok": true}`` or ``{"ok": false, "error": ...}``.

Limitations:
    - Touching is a Python loop, one byte per 4 KiB page (about 0.3 s per GiB of faults).
    - THP needs the mapping to be 2 MiB aligned; the kernel's choice of address decides.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import signal
import sys
from typing import Any

PAGE = mmap.PAGESIZE
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


def _address(m: mmap.mmap) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(m))


def _touch(m: mmap.mmap, nr_pages: int, write: bool) -> None:
    if write:
        for off in range(0, nr_pages * PAGE, PAGE):
            m[off] = 1
    else:
        total = 0
        for off in range(0, nr_pages * PAGE, PAGE):
            total += m[off]


def _map_anon(kind: str, nr_pages: int) -> mmap.mmap:
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


def _map_file(kind: str, nr_pages: int, dirty_pages: int, path: str, thp: bool | None) -> mmap.mmap:
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
    _touch(m, nr_pages, write=False)
    _touch(m, dirty_pages, write=True)
    return m


def _map_one(desc: dict[str, Any]) -> mmap.mmap:
    kind, nr_pages = str(desc["kind"]), int(desc["nr_pages"])
    if kind.startswith("anon"):
        return _map_anon(kind, nr_pages)
    thp = desc.get("thp")
    return _map_file(kind, nr_pages, int(desc["dirty_pages"]), str(desc["path"]), thp)


def main(argv: list[str]) -> int:
    spec, ready_fd, ppid = json.loads(argv[1]), int(argv[2]), int(argv[3])
    _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != ppid:
        return 1
    if spec.get("cpu") is not None:
        os.sched_setaffinity(0, {int(spec["cpu"])})
    keep: list[mmap.mmap] = []
    try:
        keep.extend(_map_one(desc) for desc in spec["mappings"])
        msg: dict[str, Any] = {"ok": True}
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
