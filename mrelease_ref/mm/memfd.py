"""memfd_create() and ftruncate() of a memfd: anonymous files backed by shmem.

Kernel: mm/memfd.c (SYSCALL_DEFINE2(memfd_create), alloc_file()), mm/shmem.c
(shmem_setattr()), fs/open.c (do_ftruncate())

A memfd is a shmem inode with no name in any directory: its pages live in the page cache
(swap-backed, counted as Shmem) for as long as a descriptor or a mapping holds the file.
It starts empty; ``ftruncate()`` gives it a size. A MAP_SHARED mapping of it is
VM_SHARED shmem, which ``__oom_reap_task_mm()`` skips; a MAP_PRIVATE mapping maps the shmem
pages read-only (RssShmem) and copies them on write (RssAnon): the reaper unmaps the former
and frees the latter, and the shmem pages stay with the file.

Limitations:
- No sealing (MFD_ALLOW_SEALING is accepted, F_ADD_SEALS is not modelled), no hugetlb
  memfds (MFD_HUGETLB raises ValueError), no exec/noexec policy (vm.memfd_noexec).
- Sizes are kept in pages: ``ftruncate()`` rounds the length up to a page.
- Shrinking a memfd below pages it holds is not modelled (``ValueError``); growing it and
  shrinking empty space are.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.fs import FMODE_READ, FMODE_WRITE, File

if TYPE_CHECKING:
    from mrelease_ref.include.linux.sched import TaskStruct

# include/uapi/linux/memfd.h
MFD_CLOEXEC: Final = 0x0001
MFD_ALLOW_SEALING: Final = 0x0002
MFD_HUGETLB: Final = 0x0004
MFD_NOEXEC_SEAL: Final = 0x0008
MFD_EXEC: Final = 0x0010
MFD_ALL_FLAGS: Final = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC
MFD_NAME_PREFIX: Final = "memfd:"
MFD_NAME_MAX_LEN: Final = 255 - len(MFD_NAME_PREFIX)  # NAME_MAX - prefix


def sys_memfd_create(current: TaskStruct, uname: str, flags: int) -> int:
    """Kernel: mm/memfd.c:SYSCALL_DEFINE2(memfd_create)

    Returns the new descriptor, or -EINVAL for an unknown flag, MFD_EXEC with
    MFD_NOEXEC_SEAL, or a name longer than 249 bytes.
    """
    from mrelease_ref.kernel.pid import get_unused_fd

    if flags & ~MFD_ALL_FLAGS:
        return -errno.EINVAL
    if flags & MFD_EXEC and flags & MFD_NOEXEC_SEAL:
        return -errno.EINVAL
    if flags & MFD_HUGETLB:
        raise ValueError("memfd_create(MFD_HUGETLB) is not modelled (no hugetlb pages)")
    if len(uname.encode()) > MFD_NAME_MAX_LEN:
        return -errno.EINVAL
    files = current.files
    assert files is not None
    inode = current.kernel.new_inode(f"{MFD_NAME_PREFIX}{uname} (deleted)", 0, "shmem")
    inode.noreserve = True  # shmem_file_setup(name, 0, VM_NORESERVE)
    fd = get_unused_fd(current)
    files.fdt[fd] = File("shmem", inode, f_mode=FMODE_READ | FMODE_WRITE)  # alloc_file()
    return fd


def shmem_setattr(file: File, nr_pages: int) -> int:
    """Kernel: mm/shmem.c:shmem_setattr() (ATTR_SIZE): grow or shrink ``i_size``."""
    inode = file.f_inode
    assert inode is not None
    mapping = inode.i_mapping
    if nr_pages < inode.i_size and any(idx + (1 << f.order) > nr_pages
                                       for idx, f in mapping.i_pages.items()):
        raise ValueError("shrinking a shmem file below pages it holds is not modelled "
                         "(shmem_truncate_range())")
    inode.i_size = nr_pages
    return 0


def do_ftruncate(current: TaskStruct, fd: int, length: int) -> int:
    """Kernel: fs/open.c:do_ftruncate() (do_sys_ftruncate()): EBADF for a bad descriptor,
    EINVAL for a negative length, a descriptor not open for writing, or a file that is not
    a shmem file in the model."""
    files = current.files
    f = files.fdt.get(fd) if files is not None else None
    if f is None:
        return -errno.EBADF
    if length < 0 or not f.f_mode & FMODE_WRITE or f.f_inode is None:
        return -errno.EINVAL
    if f.f_inode.kind != "shmem":
        raise ValueError("ftruncate() is modelled for shmem files (memfd_create()) only")
    pg = current.kernel.pg
    return shmem_setattr(f, (length + pg.PAGE_SIZE - 1) >> pg.PAGE_SHIFT)
