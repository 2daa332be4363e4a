"""A victim process described as data, built on a Kernel (not kernel code).

A :class:`VictimSpec` lists mappings (kind, size, how many pages are touched and dirtied);
:func:`build_victim` creates the files, spawns the process, maps and touches everything,
and returns a :class:`Victim` handle. The same spec is meant to drive the real-kernel lab.

Kinds: ``anon`` (private anonymous, written), ``file-private`` (read), ``file-cow``
(private file, read, then ``dirty`` pages written: copy-on-write), ``file-shared`` (shared
file mapping of a read-write fd, read, ``dirty`` pages written), ``shmem`` (shared
anonymous, written), ``anon-mlocked``, ``anon-thp`` (madvise(MADV_HUGEPAGE), written).

Limitations:
- Every mapping is touched from its first page; partial patterns need the Process API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mrelease_ref.sim.process import Mapping, Process
from mrelease_ref.sim.validate import int_arg, nonneg_int_arg, str_arg

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode
    from mrelease_ref.sim.kernel import Kernel

KINDS = ("anon", "file-private", "file-cow", "file-shared", "shmem", "anon-mlocked", "anon-thp")


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """One mapping of a victim: ``kind`` (see the module docstring), ``nr_pages``, and for
    the writable file kinds how many pages to ``dirty``."""

    kind: str
    nr_pages: int
    dirty: int = 0

    def __post_init__(self) -> None:
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


def _map_one(k: Kernel, v: Victim, i: int, spec: MappingSpec) -> None:
    p = v.process
    kind, n = spec.kind, spec.nr_pages
    if kind.startswith("file"):
        f = k.create_file(f"{v.process.comm}-{kind}-{i}.dat", n)
        v.files[f"{kind}-{i}"] = f
        m = p.mmap(n, file=f, shared=kind == "file-shared")
        p.touch(m)
        if spec.dirty:
            p.touch(m, write=True, nr_pages=spec.dirty)
    elif kind == "shmem":
        m = p.mmap(n, shared=True)
        p.touch(m, write=True)
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
    return v


OVERVIEW_VICTIM = VictimSpec(
    (
        MappingSpec("anon", 2048),
        MappingSpec("file-private", 1024),
        MappingSpec("file-cow", 512, dirty=128),
        MappingSpec("file-shared", 256, dirty=32),
    )
)
"""The victim of the overview notebook: anon, private file, COW and shared file memory."""
