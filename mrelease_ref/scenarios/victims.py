"""A victim process described as data, built on a Kernel (not kernel code).

A :class:`VictimSpec` lists mappings (kind, size, how many pages are touched and dirtied);
:func:`build_victim` creates the files, spawns the process, maps and touches everything,
and returns a :class:`Victim` handle. The same spec is meant to drive the real-kernel lab.

Kinds: ``anon`` (private anonymous, written), ``file-private`` (read), ``file-cow``
(private file, read, then ``dirty`` pages written: copy-on-write), ``file-shared`` (shared
file mapping of a read-write fd, read, ``dirty`` pages written), ``shmem`` (shared
anonymous, written), ``anon-mlocked``, ``anon-thp`` (madvise(MADV_HUGEPAGE), written),
``memfd-shared`` (memfd_create() + ftruncate(), MAP_SHARED, written), ``memfd-private``
(MAP_PRIVATE of a memfd, read, ``dirty`` pages written: COW of shmem pages). A mapping's
``ops`` are calls the victim makes after setup (see :data:`Op`); their results (errno
names, or resident pages for ``mincore``) are in ``Victim.op_results``.

Limitations:
- Every mapping is touched from its first page; partial patterns need the Process API.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mrelease_ref.sim.process import MADV_HUGEPAGE, MADV_NOHUGEPAGE, Mapping, Process
from mrelease_ref.sim.validate import int_arg, nonneg_int_arg, str_arg

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode
    from mrelease_ref.sim.kernel import Kernel

KINDS = ("anon", "file-private", "file-cow", "file-shared", "shmem", "anon-mlocked", "anon-thp",
         "memfd-shared", "memfd-private")

Op = tuple[str, int, int, int]
"""A call the victim makes on one of its mappings after setup: ``(name, arg, start_page,
nr_pages)`` with the names of ``mrelease_ref/lab/_victim_main.py`` (madvise,
madvise_unaligned, mprotect, mlock, munlock, munmap, touch, access, drain, mincore, vmas,
pmdmapped)."""


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """One mapping of a victim: ``kind`` (see the module docstring), ``nr_pages``, and for
    the writable file kinds how many pages to ``dirty``."""

    kind: str
    nr_pages: int
    dirty: int = 0
    ops: tuple[Op, ...] = ()
    thp: bool | None = None
    """File kinds only: madvise(MADV_HUGEPAGE) (True) or MADV_NOHUGEPAGE (False, so the
    page-cache folios are mapped with PTEs) before touching; None keeps the default."""

    def __post_init__(self) -> None:
        for op in self.ops:
            if op[0] not in _OPS:
                raise ValueError(f"unknown op {op[0]!r}; ops are {sorted(_OPS)}")
        if self.thp is not None and not self.kind.startswith("file"):
            raise ValueError(f"thp applies to file kinds; use anon/anon-thp, not {self.kind}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        int_arg("nr_pages", self.nr_pages)
        int_arg("dirty", self.dirty)
        if self.nr_pages <= 0 or not 0 <= self.dirty <= self.nr_pages:
            raise ValueError("need nr_pages > 0 and 0 <= dirty <= nr_pages")


@dataclass(frozen=True, slots=True)
class VictimSpec:
    """A victim: its name, uid and mappings."""

    mappings: tuple[MappingSpec, ...]
    name: str = "app"
    uid: int = 10001

    def __post_init__(self) -> None:
        if not isinstance(self.mappings, tuple) or not all(
            isinstance(m, MappingSpec) for m in self.mappings
        ):
            raise TypeError("mappings must be a tuple of MappingSpec")
        str_arg("name", self.name)
        nonneg_int_arg("uid", self.uid)


@dataclass(slots=True)
class Victim:
    """A built victim: the process, its mappings (in spec order) and the files they use."""

    process: Process
    mappings: list[Mapping] = field(default_factory=list)
    files: dict[str, Inode] = field(default_factory=dict)
    op_results: list[list[str | int]] = field(default_factory=list)


def _map_one(k: Kernel, v: Victim, i: int, spec: MappingSpec) -> None:
    p = v.process
    kind, n = spec.kind, spec.nr_pages
    if kind.startswith("file"):
        f = k.create_file(f"{v.process.comm}-{kind}-{i}.dat", n)
        v.files[f"{kind}-{i}"] = f
        m = p.mmap(n, file=f, shared=kind == "file-shared")
        if spec.thp is not None:
            p.madvise(m, MADV_HUGEPAGE if spec.thp else MADV_NOHUGEPAGE)
        p.touch(m)
        if spec.dirty:
            p.touch(m, write=True, nr_pages=spec.dirty)
    elif kind == "shmem":
        m = p.mmap(n, shared=True)
        p.touch(m, write=True)
    elif kind.startswith("memfd"):
        fd = p.memfd_create(f"victim-{kind}")
        p.ftruncate(fd, n << 12)
        m = p.mmap_fd(fd, n, shared=kind == "memfd-shared")
        p.touch(m, write=kind == "memfd-shared")
        if spec.dirty:
            p.touch(m, write=True, nr_pages=spec.dirty)
    else:
        m = p.mmap(n, locked=kind == "anon-mlocked", thp=kind == "anon-thp")
        p.touch(m, write=True)
    v.mappings.append(m)


def build_victim(k: Kernel, spec: VictimSpec, parent: Process | None = None) -> Victim:
    """Spawn the victim described by ``spec`` and fault in all of its memory."""
    p = k.spawn(spec.name, spec.uid, parent=parent)
    v = Victim(p)
    for i, m in enumerate(spec.mappings):
        _map_one(k, v, i, m)
    v.op_results = [[_run_op(k, p, m, op) for op in ms.ops]
                    for m, ms in zip(v.mappings, spec.mappings, strict=True)]
    return v


_OPS = frozenset({"madvise", "madvise_unaligned", "mprotect", "mlock", "munlock", "munmap",
                  "touch",
                  "access", "drain", "mincore", "vmas", "pmdmapped"})


def _call(fn: Callable[[], object]) -> str:
    """Run a system call; its errno name, "0" on success."""
    try:
        fn()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return "0"


def _run_op(k: Kernel, p: Process, m: Mapping, op: Op) -> str | int:
    """One op of ``MappingSpec.ops`` through the Process API (as the lab victim does)."""
    from mrelease_ref.mm.mprotect import access_error

    name, arg, start, nr = op
    if name == "madvise":
        return _call(lambda: p.madvise(m, arg, start=start, nr_pages=nr))
    if name == "madvise_unaligned":
        return _call(lambda: p.madvise(m.start + (start << 12) + 1, arg, length=nr << 12))
    if name == "mprotect":
        return _call(lambda: p.mprotect(m, arg, start=start, nr_pages=nr))
    if name == "mlock":
        return _call(lambda: p.mlock(m, start=start, nr_pages=nr))
    if name == "munlock":
        return _call(lambda: p.munlock(m, start=start, nr_pages=nr))
    if name == "munmap":
        return _call(lambda: p.munmap(m, start=start, nr_pages=nr))
    if name == "touch":
        p.touch(m, write=bool(arg), start=start, nr_pages=nr)
        return "0"
    if name == "access":  # a forked child's access: the arch fault handler's verdict
        vma = p._vma_at(m.start + (start << 12))
        return "SIGSEGV" if access_error(bool(arg), vma) else "0"
    if name == "drain":
        k.lru_add_drain_all()
        return "0"
    if name == "pmdmapped":
        return sum(int(r["FilePmdMapped"]) for r in p.smaps()
                   if int(r["start"]) < m.end and int(r["end"]) > m.start)
    if name == "vmas":
        mm = p.task.mm
        assert mm is not None
        return sum(1 for v in mm.mm_mt if v.vm_start < m.end and v.vm_end > m.start)
    try:  # mincore
        return sum(p.mincore(m, start=start, nr_pages=nr))
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc.errno))


OVERVIEW_VICTIM = VictimSpec(
    (
        MappingSpec("anon", 2048),
        MappingSpec("file-private", 1024),
        MappingSpec("file-cow", 512, dirty=128),
        MappingSpec("file-shared", 256, dirty=32),
    )
)
"""The victim of the overview notebook: anon, private file, COW and shared file memory."""
