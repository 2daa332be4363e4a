"""Alternative to REAP_KILL: smaps' ``m_start()`` returns ESRCH once ``task->mm`` is gone.

A proposal in prose, not a posted patch: Linus Torvalds, 2026-05-22, "Re: [PATCH v3]"
<CAHk-=whqfr-M9ip9OWAUR1X6aOEy2P4gSWYDkbkTCc3E=jCz_A@mail.gmail.com>
(https://lore.kernel.org/r/CAHk-=whqfr-M9ip9OWAUR1X6aOEy2P4gSWYDkbkTCc3E=jCz_A@mail.gmail.com;
docs/sources.md §T3.7, §T4.3 #15): a reader whose target has already detached its mm
should fail instead of pinning the dying address space.

The model's reading [I]: :mod:`.fs.proc.task_mmu` is v6.18's ``m_start()`` with a
``task->mm == NULL`` test right after ``get_proc_task()``. A read that took ``mm_users``
before the victim's ``exit_mm()`` still pins it until ``m_stop()``.
"""
