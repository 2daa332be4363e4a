"""The kernels the model can be: the v6.18 baseline and the versions of the 2026 series.

Not kernel code: a table, as data, of what each variant is and where it comes from, so
notebooks and the README can render it and ``Kernel(variant=...)`` can validate its
argument.

The series is "mm: process_mrelease: expedite clean file folio reclaim and add auto-kill"
(Minchan Kim, 2026; ../shared/reference/thread.md §1). Only the baseline is implemented so
far; the table already names every version so the API is stable.

Limitations:
- A variant is a name plus switches read by the model functions that the version changes;
  there is no patch-application machinery.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Variant:
    """One kernel the model can run."""

    name: str
    title: str
    message_id: str
    date: str
    implemented: bool
    changes: tuple[str, ...]


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "baseline",
            "Linux v6.18, unpatched",
            "",
            "2025-11-30",
            True,
            (),
        ),
        Variant(
            "rfc",
            "[RFC 0/3] mm: process_mrelease: expedited reclaim and auto-kill support",
            "20260413223948.556351-1-minchan@kernel.org",
            "2026-04-13",
            True,
            ("mm/swap_state.c", "mm/mmu_gather.c", "mm/memory.c", "kernel/signal.c",
             "mm/oom_kill.c", "arch/s390/include/asm/tlb.h"),
        ),
        Variant(
            "v1",
            "[PATCH v1 0/3] mm: process_mrelease: expedite clean file folio reclaim and "
            "add auto-kill",
            "20260421230239.172582-1-minchan@kernel.org",
            "2026-04-21",
            True,
            ("mm/swap.c", "mm/swap_state.c", "mm/mmu_gather.c", "mm/memory.c",
             "mm/oom_kill.c", "arch/s390/include/asm/tlb.h", "include/uapi/linux/mman.h"),
        ),
        Variant(
            "d",
            "draft D: skip LRU movement and expedite clean file folio reclaim (REAP_KILL-gated)",
            "afFco71vwmpQy3pk@google.com",
            "2026-04-29",
            True,
            ("include/asm-generic/tlb.h", "mm/swap.c", "mm/memory.c", "mm/mmu_gather.c",
             "mm/oom_kill.c"),
        ),
        Variant(
            "v2",
            "[PATCH v2] mm: process_mrelease: introduce PROCESS_MRELEASE_REAP_KILL flag",
            "20260429211359.3829683-1-minchan@kernel.org",
            "2026-04-29",
            True,
            ("mm/oom_kill.c", "include/uapi/linux/mman.h"),
        ),
        Variant(
            "v3",
            "[PATCH v3] mm: process_mrelease: introduce PROCESS_MRELEASE_REAP_KILL flag",
            "20260511214226.937793-1-minchan@kernel.org",
            "2026-05-11",
            True,
            ("mm/oom_kill.c", "kernel/signal.c", "include/linux/signal.h",
             "include/uapi/linux/mman.h"),
        ),
    )
}


def variant_table() -> list[dict[str, str]]:
    """The variants as rows (for pandas or the README)."""
    return [
        {
            "variant": v.name,
            "title": v.title,
            "date": v.date,
            "Message-ID": v.message_id or "-",
            "status in the model": "implemented" if v.implemented else "planned",
        }
        for v in VARIANTS.values()
    ]
