"""Alternative to REAP_KILL: /proc readers hold only ``mm_count`` (plus the write-locked
``exit_mmap()`` that makes that safe).

A proposal in prose, not a posted patch: Linus Torvalds, 2026-05-15/16, "Re: [PATCH v3]"
<CAHk-=wiHfzbufXD2nuc9BhOVp-pYEmnVUYeThKmfZRXLU0kJ7w@mail.gmail.com> (fix the /proc
readers instead) and <CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com>
(readers use ``mm_count`` plus the read lock, no ``mm_users``; ``exit_mmap()`` under the
write lock) -- https://lore.kernel.org/r/CAHk-=wg08=sZb=hVa22KjN2pD3aNk-diGmKQnizCgmoMMfrvwQ@mail.gmail.com,
docs/sources.md §T3.7, §T4.3 #15.

The model's reading [I]: :mod:`.fs.proc.base` is ``get_task_cmdline()`` pinning the mm
with ``mmgrab()`` and reading under ``mmap_read_lock()`` only while the mm still has users;
:mod:`.mm.mmap` is the ``linus_exit_mmap_wlock`` teardown (the two halves of one mail). A
reader can then never run ``exit_mmap()`` and never keep the victim's memory alive.
"""
