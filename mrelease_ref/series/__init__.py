"""The 2026 series as code: which kernel functions each variant replaces, and by what.

Not a kernel directory: ``series/<variant>/`` mirrors the kernel tree for the functions a
version of "mm: process_mrelease: expedite clean file folio reclaim and add auto-kill"
(Minchan Kim, 2026) patches, e.g. ``series/v1/mm/memory.py`` holds v1's
``zap_present_folio_ptes()``. Baseline code calls the few patched functions through the
Kernel's :class:`SeriesHooks` (``Kernel.series``), resolved once from the variant, so a
notebook can diff ``mm.memory.zap_present_folio_ptes`` against
``series.v1.mm.memory.zap_present_folio_ptes`` and see exactly the hunk.

Limitations:
- Only the hunks that change behaviour are modelled; Kconfig, kernel-doc and comment
  hunks are described in the variant table, not in code.
"""

from mrelease_ref.series.hooks import SeriesHooks, build_hooks

__all__ = ["SeriesHooks", "build_hooks"]
