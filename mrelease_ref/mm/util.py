"""Small mm helpers that live in mm/util.c, and the overcommit check.

Kernel: mm/util.c (folio_mapping(), __vm_enough_memory(), vm_commit_limit(),
vm_memory_committed()), include/linux/mman.h (vm_acct_memory(), vm_unacct_memory()),
security/commoncap.c (cap_vm_enough_memory()), mm/mmap.c (init_admin_reserve(),
init_user_reserve())

``__vm_enough_memory()`` decides whether a new commitment of ``pages`` may be made: every
private writable mapping (``accountable_mapping()``) and every shared anonymous one
(``shmem_acct_size()``) is charged at mmap() and uncharged when it goes. The mode is
``vm.overcommit_memory`` (``Kernel(overcommit_memory=...)``):

* 0, OVERCOMMIT_GUESS (the default, and these machines' setting): refuse a single
  commitment larger than all RAM plus all swap, and nothing else. Measured on the 6.18 VM
  (24,683,664 kB MemTotal, no swap) on 2026-12-03: a 23 GiB private writable mmap()
  succeeds, 24 GiB and 8 TiB fail with ENOMEM; read-only or MAP_NORESERVE 8 TiB succeed.
* 1, OVERCOMMIT_ALWAYS: never refuse.
* 2, OVERCOMMIT_NEVER: the commit charge stays under ``vm_commit_limit()`` (RAM outside
  the hugetlb pool times ``overcommit_ratio`` percent, plus swap), less the admin reserve
  for callers without CAP_SYS_ADMIN and a user reserve scaled by the mm's size.

Limitations:
- ``vm_committed_as`` is one exact counter (the kernel's is a per-CPU approximation).
- No ``overcommit_kbytes``, no MAP_NORESERVE flag in the Process API, no brk/stack growth.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.fs import AddressSpace
from mrelease_ref.include.linux.page_flags import PG_swapcache

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio, MmStruct
    from mrelease_ref.include.linux.sched import TaskStruct
    from mrelease_ref.sim.kernel import Kernel

OVERCOMMIT_GUESS: Final = 0
OVERCOMMIT_ALWAYS: Final = 1
OVERCOMMIT_NEVER: Final = 2
PAGE_SHIFT_KB: Final = 2  # PAGE_SHIFT - 10: kB to pages


def totalram_pages(k: Kernel) -> int:
    """Kernel: include/linux/mm.h:totalram_pages() (the managed pages of the one zone)."""
    return k.zone.managed_pages


def total_swap_pages(k: Kernel) -> int:
    """Model helper: mm/swapfile.c's ``total_swap_pages`` variable (usable slots; slot 0 is
    the header)."""
    return k.swap_info.max - 1 if k.swap_info is not None else 0


def sysctl_admin_reserve_kbytes(k: Kernel) -> int:
    """Kernel: mm/mmap.c:init_admin_reserve(): min(3% of free memory, 8 MiB) at boot."""
    return min(totalram_pages(k) << PAGE_SHIFT_KB >> 5, 1 << 13)


def sysctl_user_reserve_kbytes(k: Kernel) -> int:
    """Kernel: mm/mmap.c:init_user_reserve(): min(3% of free memory, 128 MiB) at boot."""
    return min(totalram_pages(k) << PAGE_SHIFT_KB >> 5, 1 << 17)


def vm_commit_limit(k: Kernel) -> int:
    """Kernel: mm/util.c:vm_commit_limit() (overcommit_ratio of the non-hugetlb RAM, plus
    swap)."""
    from mrelease_ref.mm.hugetlb import HPAGE_NR

    ram = totalram_pages(k) - k.hstate.nr_huge_pages * HPAGE_NR
    return ram * k.config.overcommit_ratio // 100 + total_swap_pages(k)


def vm_acct_memory(k: Kernel, pages: int) -> None:
    """Kernel: include/linux/mman.h:vm_acct_memory()"""
    k.vm_committed_as += pages


def vm_unacct_memory(k: Kernel, pages: int) -> None:
    """Kernel: include/linux/mman.h:vm_unacct_memory()"""
    k.vm_committed_as -= pages


def __vm_enough_memory(mm: MmStruct | None, pages: int, cap_sys_admin: bool) -> int:
    """Kernel: mm/util.c:__vm_enough_memory()

    Charge ``pages`` to ``vm_committed_as``; 0 if the commitment is allowed, else uncharge
    and return -ENOMEM (see the module docstring for the three modes).
    """
    k = _kernel_of(mm)
    vm_acct_memory(k, pages)
    mode = k.config.overcommit_memory
    if mode == OVERCOMMIT_ALWAYS:
        return 0
    if mode == OVERCOMMIT_GUESS:
        if pages <= totalram_pages(k) + total_swap_pages(k):
            return 0
    else:
        allowed = vm_commit_limit(k)
        if not cap_sys_admin:  # reserve some for root
            allowed -= sysctl_admin_reserve_kbytes(k) >> PAGE_SHIFT_KB
        if mm is not None:  # don't let a single process grow so big a user can't recover
            allowed -= min(mm.total_vm // 32, sysctl_user_reserve_kbytes(k) >> PAGE_SHIFT_KB)
        if max(k.vm_committed_as, 0) < allowed:
            return 0
    vm_unacct_memory(k, pages)
    return -errno.ENOMEM


def security_vm_enough_memory_mm(mm: MmStruct, pages: int, current: TaskStruct | None) -> int:
    """Kernel: include/linux/security.h:security_vm_enough_memory_mm() ->
    security/commoncap.c:cap_vm_enough_memory() (CAP_SYS_ADMIN of ``current``)"""
    cap_sys_admin = current is not None and "CAP_SYS_ADMIN" in current.cred.caps
    return __vm_enough_memory(mm, pages, cap_sys_admin)


def _kernel_of(mm: MmStruct | None) -> Kernel:
    assert mm is not None, "the model always charges on behalf of an mm"
    return mm.kernel


def folio_mapping(folio: Folio) -> AddressSpace | None:
    """Kernel: mm/util.c:folio_mapping()

    The swap address space for a swap-cache folio, the page cache for a file folio, and
    None for an anonymous folio outside the swap cache.
    """
    if folio.flags & PG_swapcache:
        return folio.kernel.swapper_space  # swap_address_space() of the folio's swap entry
    mapping = folio.mapping
    return mapping if isinstance(mapping, AddressSpace) else None
