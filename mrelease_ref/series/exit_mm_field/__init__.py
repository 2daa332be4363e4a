"""Alternative to REAP_KILL: keep the mm in ``task->exit_mm`` after ``exit_mm()``, and let
``process_mrelease()`` fall back to it.

Two sources:

* Christian Brauner, "[PATCH] ptrace: keep task's mm around in separate exit_mm field
  post-exit", 2026-05-16, <20260516-work-exit_mm-v1-1-76bcc7c2439d@kernel.org>
  (https://lore.kernel.org/r/20260516-work-exit_mm-v1-1-76bcc7c2439d@kernel.org; a posted
  patch, rebasing Jann Horn's 2020 one; docs/sources.md §T1.4): ``exit_mm()`` takes an
  ``mmgrab()`` reference and stores the mm in ``task->exit_mm`` before clearing
  ``task->mm``; ``free_task()`` drops it (``mmdrop_async()``). Modelled in
  :mod:`.kernel.exit` and :mod:`.kernel.fork` as described (the patch text itself is not
  in the model's sources).
* Suren Baghdasaryan, 2026-05-15, "Re: [PATCH v3]"
  <CAJuCfpE_Kew9+umy2=7hzPdAe6yT23y=sk0BB=4BQpMZCJUvpA@mail.gmail.com> (prose only,
  docs/sources.md §T3.7, §T4.3 #14): ``process_mrelease()`` uses ``task->exit_mm`` when
  ``task->mm`` is NULL; no UAPI change. :mod:`.mm.oom_kill` is the model's reading [I]:
  the fallback mm goes through the same "will it be freed" test as ``task->mm`` does (the
  target is dying, MMF_OOM_SKIP is not set, every other process sharing the mm is dying),
  so a live CLONE_VM sharer's memory is never reaped.
"""
