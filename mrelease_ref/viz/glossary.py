"""Vocabulary: kernel term -> Python name -> kernel file (not kernel code).

Rendered by the overview notebook; every Python name here is checked by the tests to
exist, so the table cannot drift from the package.

Limitations:
- Covers the terms of the process_mrelease() path, not every modelled function.
"""

from __future__ import annotations

GLOSSARY: tuple[tuple[str, str, str], ...] = (
    ("process_mrelease()", "mm.oom_kill.process_mrelease", "mm/oom_kill.c"),
    ("task_will_free_mem()", "mm.oom_kill.task_will_free_mem", "mm/oom_kill.c"),
    ("find_lock_task_mm()", "mm.oom_kill.find_lock_task_mm", "mm/oom_kill.c"),
    ("__oom_reap_task_mm()", "mm.oom_kill.__oom_reap_task_mm", "mm/oom_kill.c"),
    ("oom_reaper kthread", "mm.oom_kill.oom_reaper", "mm/oom_kill.c"),
    ("struct task_struct", "include.linux.sched.TaskStruct", "include/linux/sched.h"),
    ("SIGNAL_GROUP_EXIT, PF_EXITING", "include.linux.sched.SignalFlags, TaskFlags",
     "include/linux/sched/signal.h, include/linux/sched.h"),
    ("kill() -> complete_signal()", "kernel.signal.sys_kill, complete_signal", "kernel/signal.c"),
    ("do_exit() -> exit_mm()", "kernel.exit.do_exit, exit_mm", "kernel/exit.c"),
    ("pidfd_open(), pidfd_get_task()", "kernel.pid.sys_pidfd_open, pidfd_get_task",
     "kernel/pid.c"),
    ("struct mm_struct", "include.linux.mm_types.MmStruct", "include/linux/mm_types.h"),
    ("mm_users / mm_count", "include.linux.mm_types.MmStruct.mm_users, MmStruct.mm_count",
     "include/linux/mm_types.h"),
    ("mmget/mmput, mmgrab/mmdrop", "kernel.fork.mmget, mmput, mmgrab, mmdrop",
     "kernel/fork.c, include/linux/sched/mm.h"),
    ("MMF_UNSTABLE, MMF_OOM_SKIP", "include.linux.mm_types.MmFlags", "include/linux/mm_types.h"),
    ("struct vm_area_struct", "include.linux.mm_types.VmAreaStruct", "include/linux/mm_types.h"),
    ("struct folio, PG_* flags", "include.linux.mm_types.Folio, include.linux.page_flags",
     "include/linux/mm_types.h, include/linux/page-flags.h"),
    ("pte_t / swp_entry_t / pmd_t", "include.linux.mm_types.Pte, SwpEntry, Pmd",
     "include/linux/pgtable.h, include/linux/swap.h"),
    ("unmap_page_range() -> zap_pte_range()", "mm.memory.unmap_page_range, zap_pte_range",
     "mm/memory.c"),
    ("zap_present_folio_ptes()", "mm.memory.zap_present_folio_ptes", "mm/memory.c"),
    ("zap_huge_pmd()", "mm.huge_memory.zap_huge_pmd", "mm/huge_memory.c"),
    ("struct mmu_gather, encoded pages", "include.asm_generic.tlb.MmuGather",
     "include/asm-generic/tlb.h"),
    ("tlb_finish_mmu() -> tlb_flush_mmu()", "mm.mmu_gather.tlb_finish_mmu, tlb_flush_mmu",
     "mm/mmu_gather.c"),
    ("free_pages_and_swap_cache()", "mm.swap_state.free_pages_and_swap_cache",
     "mm/swap_state.c"),
    ("folios_put_refs(), release_pages()", "mm.swap.folios_put_refs, release_pages",
     "mm/swap.c"),
    ("folio_mark_accessed(), cpu_fbatches", "mm.swap.folio_mark_accessed, include.linux."
     "mmzone.CpuFbatches", "mm/swap.c"),
    ("struct address_space (page cache)", "include.linux.fs.AddressSpace", "include/linux/fs.h"),
    ("mapping_evict_folio()", "mm.truncate.mapping_evict_folio", "mm/truncate.c"),
    ("exit_mmap()", "mm.mmap.exit_mmap", "mm/mmap.c"),
    ("per-CPU page lists, free pages", "include.linux.mmzone.PerCpuPages, mm.page_alloc",
     "include/linux/mmzone.h, mm/page_alloc.c"),
    ("s390 __tlb_remove_folio_pages()", "arch.s390.tlb.__tlb_remove_folio_pages",
     "arch/s390/include/asm/tlb.h"),
)
