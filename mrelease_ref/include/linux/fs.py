"""Files, inodes and the page cache (``struct address_space``).

Kernel: include/linux/fs.h (struct file, struct file_ra_state, struct inode, struct
address_space, FMODE_*),
include/linux/pagemap.h, include/linux/xarray.h (only as a mapping index -> entry).

``AddressSpace.i_pages`` maps a page index to the folio whose *first* index it is; folios in
the page cache are naturally aligned, so :func:`mrelease_ref.mm.filemap.filemap_get_entry`
finds the folio covering any index by trying each order in use. ``shadows`` holds the
workingset shadow entries that reclaim leaves behind (``cachestat()`` counts them as
evicted).

Model-only fields: ``kernel``, ``orders`` (folio orders present, for lookup);
``Inode.i_disk`` is the backing store: the content token of every page written back (see
:mod:`mrelease_ref.include.linux.highmem`; pages never written back hold the file's
initial content).

Limitations:
- No buffer heads or filesystem private data beyond a ``private`` object the tests can set.
- One file system behaviour for regular files ("ext4"): large folios up to order 9
  (readahead chooses, mm/readahead.py), writeback completes when the kernel's I/O worker
  runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio, VmAreaStruct
    from mrelease_ref.include.linux.sched import Pid
    from mrelease_ref.sim.kernel import Kernel

FMODE_READ: Final = 0x1
FMODE_WRITE: Final = 0x2
FMODE_RANDOM: Final = 0x1000
FMODE_NOREUSE: Final = 0x800000

# address_space flags: include/linux/pagemap.h
AS_UNEVICTABLE: Final = 1 << 3


@dataclass(slots=True, eq=False)
class AddressSpace:
    """Kernel: include/linux/fs.h (struct address_space)"""

    kernel: Kernel
    host: Inode | None
    a_ops: str
    i_pages: dict[int, Folio] = field(default_factory=dict)
    shadows: dict[int, int] = field(default_factory=dict)
    nrpages: int = 0
    i_mmap: list[VmAreaStruct] = field(default_factory=list)
    flags: int = 0
    orders: list[int] = field(default_factory=list)

    def __repr__(self) -> str:
        name = self.host.name if self.host else self.a_ops
        return f"AddressSpace({name}, nrpages={self.nrpages})"


@dataclass(slots=True, eq=False)
class Inode:
    """Kernel: include/linux/fs.h (struct inode)

    ``i_size`` is in pages here. ``kind`` is "ext4" for disk-backed files and "shmem" for
    tmpfs/shared anonymous memory. ``i_count`` counts open files and mappings.
    """

    kernel: Kernel
    i_ino: int
    name: str
    i_size: int
    kind: str
    i_mapping: AddressSpace = field(init=False)
    i_count: int = 0
    private_data_on_read: bool = False
    i_disk: dict[int, int] = field(default_factory=dict)
    # SHMEM_I(inode)->flags & VM_NORESERVE: shmem_acct_size() charged nothing for it
    # (memfd_create()'s shmem_file_setup(..., VM_NORESERVE)), so eviction uncharges nothing
    noreserve: bool = False

    def __repr__(self) -> str:
        return f"Inode({self.name}, {self.kind}, pages={self.i_size})"


@dataclass(slots=True, eq=False)
class FileRaState:
    """Kernel: include/linux/fs.h (struct file_ra_state): one open file's readahead window.

    ``ra_pages`` is -1 until :func:`mrelease_ref.mm.readahead.file_ra_state_init` copies the
    device's ``read_ahead_kb`` in (the model does it at the first read, the kernel at open).
    ``prev_pos`` is in bytes, -1 before the first read.
    """

    start: int = 0
    size: int = 0
    async_size: int = 0
    ra_pages: int = -1
    order: int = 0
    mmap_miss: int = 0
    prev_pos: int = -1


@dataclass(slots=True, eq=False)
class File:
    """Kernel: include/linux/fs.h (struct file)

    ``f_op`` names the file operations: "ext4", "shmem", "pidfs", "proc", "pipe", "tty".
    For a pidfd, ``private_data`` is the :class:`~mrelease_ref.include.linux.sched.Pid`.
    """

    f_op: str
    f_inode: Inode | None = None
    private_data: Pid | None = None
    f_flags: int = 0
    f_mode: int = FMODE_READ | FMODE_WRITE
    f_count: int = 1
    f_ra: FileRaState = field(default_factory=FileRaState)

    @property
    def f_mapping(self) -> AddressSpace | None:
        """``file->f_mapping``"""
        return self.f_inode.i_mapping if self.f_inode else None

    def __repr__(self) -> str:
        what = self.f_inode.name if self.f_inode else self.private_data
        return f"File({self.f_op}, {what})"


def file_inode(f: File) -> Inode | None:
    """Kernel: include/linux/fs.h:file_inode()"""
    return f.f_inode


def mapping_unevictable(mapping: AddressSpace) -> bool:
    """Kernel: include/linux/pagemap.h:mapping_unevictable()"""
    return bool(mapping.flags & AS_UNEVICTABLE)
