"""Which implementation of each patched kernel function a Kernel runs.

Not kernel code. The series touches five call sites of the baseline model; everything else
is shared. :func:`build_hooks` picks, from a variant (and, for the three-patch versions, how
many of the patches are applied), the function each call site should run:

==============================  =====================================  ===================
call site (baseline)            hook                                   patched by
==============================  =====================================  ===================
mm/memory.c zap_present_ptes()  ``zap_present_folio_ptes``             patch 2 (rfc, v1), d
mm/mmu_gather.c flush           ``tlb_batch_pages_flush``              patch 1 (rfc, v1), d
arch/s390 tlb.h                 ``s390_tlb_remove_folio_pages``        patch 1 (rfc, v1)
SYSCALL process_mrelease        ``process_mrelease``                   patch 3, v2, v3, d,
                                                                       exit_mm_field
mm/oom_kill.c oom_reaper        ``oom_reap_task_mm``                   d
mm/mmap.c __mmput()             ``exit_mmap``                          linus_exit_mmap_wlock,
                                                                       proc_mm_count
kernel/exit.c do_exit()         ``exit_mm``                            exit_mm_field
kernel/fork.c __put_task_struct ``free_task``                          exit_mm_field
fs/proc/base.c cmdline read     ``get_task_cmdline``                   proc_mm_count
fs/proc/task_mmu.c seq read     ``m_start``                            smaps_esrch
SYSCALL pidfd_send_signal       ``sys_pidfd_send_signal`` (generator)  expedite
==============================  =====================================  ===================

The last six call sites exist for the thread's alternatives to REAP_KILL (variants whose
``Variant.kind`` is ``"alternative"``, :data:`mrelease_ref.variants.VARIANTS`).

Limitations:
- A hook replaces a whole function; hunks that only touch comments or kernel-doc are not
  represented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import KernelConfig

PATCHED_BY: dict[str, dict[str, int]] = {
    # variant -> {hook: the patch number of that version that replaces it}
    "rfc": {"tlb_batch_pages_flush": 1, "s390_tlb_remove_folio_pages": 1,
            "zap_present_folio_ptes": 2, "process_mrelease": 3},
    "v1": {"tlb_batch_pages_flush": 1, "s390_tlb_remove_folio_pages": 1,
           "zap_present_folio_ptes": 2, "process_mrelease": 3},
    "d": {"tlb_batch_pages_flush": 1, "zap_present_folio_ptes": 1, "process_mrelease": 1,
          "oom_reap_task_mm": 1},
    "v2": {"process_mrelease": 1},
    "v3": {"process_mrelease": 1},
}

ALTERNATIVES_PATCH: dict[str, dict[str, int]] = {
    # the thread's alternatives to REAP_KILL (proposals; see mrelease_ref.variants)
    "linus_exit_mmap_wlock": {"exit_mmap": 1},
    "proc_mm_count": {"exit_mmap": 1, "get_task_cmdline": 1},
    "smaps_esrch": {"m_start": 1},
    "exit_mm_field": {"exit_mm": 1, "free_task": 1, "process_mrelease": 1},
    "expedite": {"sys_pidfd_send_signal": 1},
}

NR_PATCHES: dict[str, int] = {"baseline": 0, "rfc": 3, "v1": 3, "d": 1, "v2": 1, "v3": 1,
                              "linus_exit_mmap_wlock": 1, "proc_mm_count": 1,
                              "smaps_esrch": 1, "exit_mm_field": 1, "expedite": 1}

NO_NEW_FLAGS: frozenset[str] = frozenset({"exit_mm_field"})
"""Variants that replace ``process_mrelease`` but accept no flag (Suren's fallback keeps the
UAPI unchanged)."""


@dataclass(frozen=True, slots=True)
class SeriesHooks:
    """The implementations a Kernel calls at the series' call sites (see module docstring).

    ``valid_flags`` is the process_mrelease() flag mask the kernel accepts (0 unless a
    REAP_KILL patch is applied); ``applied`` names the module of each replaced hook.
    """

    zap_present_folio_ptes: Callable[..., None]
    tlb_batch_pages_flush: Callable[..., None]
    s390_tlb_remove_folio_pages: Callable[..., bool]
    process_mrelease: Callable[..., Any]
    oom_reap_task_mm: Callable[..., Any]
    exit_mmap: Callable[..., Any]
    exit_mm: Callable[..., Any]
    free_task: Callable[..., None]
    get_task_cmdline: Callable[..., Any]
    m_start: Callable[..., Any]
    sys_pidfd_send_signal: Callable[..., Any]
    valid_flags: int
    applied: tuple[str, ...]

    def __repr__(self) -> str:
        return f"SeriesHooks(valid_flags={self.valid_flags:#x}, applied={list(self.applied)})"


def _baseline() -> dict[str, Any]:
    from mrelease_ref.arch.s390 import tlb as s390_tlb
    from mrelease_ref.fs.proc import base, task_mmu
    from mrelease_ref.kernel import exit, fork
    from mrelease_ref.mm import memory, mmap, mmu_gather, oom_kill

    return {
        "zap_present_folio_ptes": memory.zap_present_folio_ptes,
        "tlb_batch_pages_flush": mmu_gather.tlb_batch_pages_flush,
        "s390_tlb_remove_folio_pages": getattr(s390_tlb, "__tlb_remove_folio_pages"),
        "process_mrelease": oom_kill.process_mrelease,
        "oom_reap_task_mm": oom_kill.oom_reap_task_mm,
        "exit_mmap": mmap.exit_mmap,
        "exit_mm": exit.exit_mm,
        "free_task": fork.free_task,
        "get_task_cmdline": base.get_task_cmdline,
        "m_start": task_mmu.m_start,
        "sys_pidfd_send_signal": _pidfd_send_signal,
    }


def _pidfd_send_signal(current: Any, pidfd: int, sig: int, flags: int) -> Any:
    """v6.18's ``pidfd_send_signal()`` as a generator (the hook's calling convention: the
    ``expedite`` variant's version may sleep)."""
    from mrelease_ref.kernel.signal import sys_pidfd_send_signal

    return sys_pidfd_send_signal(current, pidfd, sig, flags)
    yield  # pragma: no cover  (makes this a generator function)


def _variant(variant: str, hook: str) -> Callable[..., Any]:
    import importlib

    module = {
        "zap_present_folio_ptes": "mm.memory",
        "tlb_batch_pages_flush": "mm.mmu_gather",
        "s390_tlb_remove_folio_pages": "arch.s390.tlb",
        "process_mrelease": "mm.oom_kill",
        "oom_reap_task_mm": "mm.oom_kill",
        "exit_mmap": "mm.mmap",
        "exit_mm": "kernel.exit",
        "free_task": "kernel.fork",
        "get_task_cmdline": "fs.proc.base",
        "m_start": "fs.proc.task_mmu",
        "sys_pidfd_send_signal": "kernel.signal",
    }[hook]
    name = {"s390_tlb_remove_folio_pages": "__tlb_remove_folio_pages"}.get(hook, hook)
    mod = importlib.import_module(f"mrelease_ref.series.{variant}.{module}")
    fn: Callable[..., Any] = getattr(mod, name)
    return fn


def build_hooks(config: KernelConfig) -> SeriesHooks:
    """Resolve the hooks for ``config.variant`` with its first ``config.patches`` patches."""
    from mrelease_ref.include.uapi.linux.mman import PROCESS_MRELEASE_VALID_FLAGS

    table = _baseline()
    applied: list[str] = []
    valid = 0
    patched = PATCHED_BY.get(config.variant) or ALTERNATIVES_PATCH.get(config.variant, {})
    for hook, patch in patched.items():
        if patch <= config.patches:
            table[hook] = _variant(config.variant, hook)
            applied.append(f"{hook}: series/{config.variant}")
            if hook == "process_mrelease" and config.variant not in NO_NEW_FLAGS:
                valid = PROCESS_MRELEASE_VALID_FLAGS
    return SeriesHooks(valid_flags=valid, applied=tuple(applied), **table)
