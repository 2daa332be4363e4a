"""Alternative to REAP_KILL: ``exit_mmap()`` under the mmap write lock from start to end.

A proposal in prose, not a posted patch: Linus Torvalds, 2026-05-16, "Re: [PATCH v3] mm:
process_mrelease: introduce PROCESS_MRELEASE_REAP_KILL flag",
<CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com>
(https://lore.kernel.org/r/CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com;
docs/sources.md §T3.7, §T4.3 #15): let ``exit_mmap()`` take ``mmap_write_lock()`` for the
whole teardown, so that an ``mm_count`` reference plus the read lock is enough for anyone
who looks at the mm.

How the model reads the prose (its own code, marked [I] where it had to choose):
:mod:`.mm.mmap` is v6.18's ``exit_mmap()`` with the read-locked phase turned into a
write-locked one; MMF_OOM_SKIP is set before the lock is dropped, so a reaper queued on the
lock finds the work done. /proc readers are unchanged here (they still take ``mm_users``):
the second half of the proposal is the ``proc_mm_count`` variant.
"""
