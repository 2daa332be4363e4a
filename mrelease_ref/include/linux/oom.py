"""What the OOM killer and reaper export to the fault path.

Kernel: include/linux/oom.h

Limitations:
- Only ``check_stable_address_space()``; the OOM victim bookkeeping lives in
  :mod:`mrelease_ref.mm.oom_kill`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mrelease_ref.include.linux.mm_types import MMF_UNSTABLE

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import MmStruct

VM_FAULT_SIGBUS: Final = 0x000002


def check_stable_address_space(mm: MmStruct) -> int:
    """Kernel: include/linux/oom.h:check_stable_address_space()

    Once the reaper set MMF_UNSTABLE, faults fail (VM_FAULT_SIGBUS) instead of quietly
    seeing zero-filled memory where the reaper freed pages.
    """
    if mm.flags & MMF_UNSTABLE:
        return VM_FAULT_SIGBUS
    return 0
