"""Draft D (2026-04-29): patches 1+2 combined, both gated by PROCESS_MRELEASE_REAP_KILL.

"[PATCH] mm: process_mrelease: skip LRU movement and expedite clean file folio reclaim",
posted inline in <afFco71vwmpQy3pk@google.com> (author date 2026-04-28 16:39:06 -0700),
on top of draft C (= REAP_KILL v2). The author called it an intention-only draft.

Instead of the per-mm MMF_UNSTABLE flag, an explicit bool travels from process_mrelease()
(``reap_kill``) through ``__oom_reap_task_mm(mm, try_evict_file_folios)`` into a new
``mmu_gather`` bit and a new ``zap_details.ignore_access``; the kernel OOM reaper passes
false. Two things the draft does not do are modelled as posted: it has no s390 hunk (so it
does not build there: ``Kernel(variant="d", arch="s390")`` is refused), and its
zero-initialised ``zap_details`` has ``even_cows`` false (``Kernel(d_details=...)``).
"""
