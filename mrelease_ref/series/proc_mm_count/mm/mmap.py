"""``exit_mmap()`` of the ``proc_mm_count`` variant: the write-locked teardown of
:mod:`mrelease_ref.series.linus_exit_mmap_wlock.mm.mmap` (the same mail proposes both).

Kernel: mm/mmap.c:exit_mmap() (Linus Torvalds's proposal, [I])

Limitations:
- See :mod:`mrelease_ref.series.linus_exit_mmap_wlock.mm.mmap`.
"""

from mrelease_ref.series.linus_exit_mmap_wlock.mm.mmap import exit_mmap

__all__ = ["exit_mmap"]
