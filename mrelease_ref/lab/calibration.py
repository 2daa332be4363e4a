"""The live kernel's reap prices, stored as data, and the model cost prices made from them.

``mrelease_ref/lab/data/calibration.json`` is written by ``python -m
mrelease_ref.lab.calibrate`` (run by hand on a lab machine, never in CI). It holds the
kernel release, the date, the machine facts, the method, and for every (kind, state) the
reap cost in µs per MiB (median and min/max over the repetitions), with the fixed cost of a
one-page victim subtracted. :func:`load_calibration` reads it into a typed
:class:`Calibration`; the race cost model and the LMKD simulation read it from there.

Kinds (``Calibration.kinds``): ``anon_4k`` (MADV_NOHUGEPAGE), ``anon_thp``
(MADV_HUGEPAGE), ``file_pmd`` (private clean file, 2 MiB page-cache folios, PMD-mapped: the
default on ext4 with read_ahead_kb 8192), ``file_pte`` (the same folios, PTE-mapped with
MADV_NOHUGEPAGE) and ``file_4k`` (4 KiB page-cache folios, read under MADV_RANDOM). States:
``young`` (every PTE/PMD young, as after the victim touched its pages), ``cleared``
(``/proc/<pid>/clear_refs`` "1" first: young bits and PG_referenced cleared, so the zap calls
no ``folio_mark_accessed()``), and for ``file_4k`` also ``cold`` (young PTEs, folios not
PG_referenced: ``folio_mark_accessed()`` only sets PG_referenced). ``young`` file folios
were read with ``read()`` first, so they are PG_referenced and the zap *activates* them
(``folio_activate()``, the LRU batch the thread's profile shows).

:func:`calibrated_cost_model` turns the prices into a
:class:`mrelease_ref.sim.cost.CostModel` (``prices_ns`` per vm event):

* ``ZAP_PTE`` = file_pte cleared, per PTE (nothing freed, no mark_accessed; batched rmap);
* ``ZAP_PMD`` = file_pmd cleared, per PMD;
* ``FOLIO_FREE`` and ``PGFREE`` solve anon_4k (per page: ZAP_PTE + FOLIO_FREE + PGFREE) and
  anon_thp (per 2 MiB: ZAP_PMD + FOLIO_FREE + 512 PGFREE, the deposited table included);
* ``MARK_ACCESSED`` = file_4k cold − cleared, per page (one call per 4 KiB folio);
* ``PGACTIVATE`` = file_4k young − cold, per page (activation on top of the call);
* ``SYSCALL`` = the median cheap call (``process_mrelease(-1, 0)``, EBADF);
* events not calibrated (``TLB_FLUSH``, ...) keep :data:`mrelease_ref.sim.cost.DEFAULT_PRICES_NS`.

Limitations:
    - One machine, one kernel build, one day; a shared 2-vCPU VM (docs/sources.md §M9).
    - Differences of small numbers: a price that comes out negative (noise) is clamped to 0.
    - The young/cleared difference is what ``folio_mark_accessed()`` (plus the activation
      it triggers) costs *in the reap*; the thread's 55.75 % is a perf profile of
      ``exit_mmap`` on Android (docs/sources.md §T5), a different path and workload.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrelease_ref.sim.cost import DEFAULT_PRICES_NS, CostModel

__all__ = (
    "CALIBRATION_PATH",
    "KINDS",
    "Calibration",
    "KindCost",
    "Stat",
    "calibrated_cost_model",
    "load_calibration",
    "prices_from",
)

CALIBRATION_PATH = Path(__file__).resolve().parent / "data" / "calibration.json"
KINDS = ("anon_4k", "anon_thp", "file_pmd", "file_pte", "file_4k")
PAGES_PER_MIB = 256
HPAGE_PMD_NR = 512
THREAD_MARK_ACCESSED_SHARE = 0.5575
"""folio_mark_accessed's share of the unmap time in the thread's exit_mmap profile
(docs/sources.md §T5: "55.75%", of which __folio_batch_add_and_move 48.79%)."""


@dataclass(frozen=True, slots=True)
class Stat:
    """Median and range over the repetitions."""

    median: float
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class KindCost:
    """Reap cost of one (kind, state), fixed cost subtracted."""

    kind: str
    state: str
    us_per_mib: Stat
    reap_ms: Stat
    reps: int
    large_folio_fraction: float
    pmd_mapped_fraction: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """The stored calibration (see the module docstring)."""

    kernel: str
    kernel_build: str
    date: str
    machine: Mapping[str, Any]
    method: str
    size_mib: int
    reps: int
    fixed_cost_us: Stat
    syscall_ns: Stat
    results: tuple[KindCost, ...]
    notes: tuple[str, ...] = field(default=())

    def cost(self, kind: str, state: str = "young") -> KindCost:
        """The result for ``kind`` in ``state``."""
        for r in self.results:
            if (r.kind, r.state) == (kind, state):
                return r
        raise KeyError(f"no calibration for {kind}/{state}")

    def us_per_mib(self, kind: str, state: str = "young") -> float:
        """Median reap cost of ``kind`` in µs per MiB."""
        return self.cost(kind, state).us_per_mib.median

    def mark_accessed_us_per_mib(self, kind: str) -> float:
        """young − cleared: what ``folio_mark_accessed()`` (and activation) cost per MiB."""
        return self.us_per_mib(kind, "young") - self.us_per_mib(kind, "cleared")

    def mark_accessed_share(self, kind: str) -> float:
        """(young − cleared) / young: the share of the reap spent on marking accessed,
        comparable in kind (not in path) to the thread's 55.75 %."""
        young = self.us_per_mib(kind, "young")
        return self.mark_accessed_us_per_mib(kind) / young if young else 0.0

    def prices_ns(self) -> dict[str, int]:
        """Model prices (ns per vm event) derived from this calibration."""
        return prices_from(self)


def _stat(d: Mapping[str, Any]) -> Stat:
    return Stat(float(d["median"]), float(d["min"]), float(d["max"]))


def load_calibration(path: Path = CALIBRATION_PATH) -> Calibration:
    """Read the stored calibration (``python -m mrelease_ref.lab.calibrate`` writes it)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    results = tuple(
        KindCost(
            kind=r["kind"],
            state=r["state"],
            us_per_mib=_stat(r["us_per_mib"]),
            reap_ms=_stat(r["reap_ms"]),
            reps=int(r["reps"]),
            large_folio_fraction=float(r["large_folio_fraction"]),
            pmd_mapped_fraction=float(r["pmd_mapped_fraction"]),
        )
        for r in data["results"]
    )
    return Calibration(
        kernel=data["kernel"],
        kernel_build=data["kernel_build"],
        date=data["date"],
        machine=data["machine"],
        method=data["method"],
        size_mib=int(data["size_mib"]),
        reps=int(data["reps"]),
        fixed_cost_us=_stat(data["fixed_cost_us"]),
        syscall_ns=_stat(data["syscall_ns"]),
        results=results,
        notes=tuple(data.get("notes", ())),
    )


def prices_from(cal: Calibration) -> dict[str, int]:
    """ns per vm event, as :class:`~mrelease_ref.sim.cost.CostModel` takes them (see the
    module docstring for which measurement gives which price)."""

    def per_page(kind: str, state: str) -> float:
        return cal.us_per_mib(kind, state) * 1000 / PAGES_PER_MIB

    zap_pte = per_page("file_pte", "cleared")
    zap_pmd = per_page("file_pmd", "cleared") * HPAGE_PMD_NR
    anon_page = per_page("anon_4k", "young") - zap_pte  # FOLIO_FREE + PGFREE
    thp_folio = per_page("anon_thp", "young") * HPAGE_PMD_NR - zap_pmd  # FF + 512 PGFREE
    pgfree = max(0.0, (thp_folio - anon_page) / (HPAGE_PMD_NR - 1))
    folio_free = max(0.0, anon_page - pgfree)
    mark = max(0.0, per_page("file_4k", "cold") - per_page("file_4k", "cleared"))
    activate = max(0.0, per_page("file_4k", "young") - per_page("file_4k", "cold"))
    calibrated = {
        "ZAP_PTE": zap_pte,
        "ZAP_PMD": zap_pmd,
        "FOLIO_FREE": folio_free,
        "PGFREE": pgfree,
        "MARK_ACCESSED": mark,
        "PGACTIVATE": activate,
        "SYSCALL": cal.syscall_ns.median,
    }
    return {**DEFAULT_PRICES_NS, **{k: max(0, round(v)) for k, v in calibrated.items()}}


def calibrated_cost_model(cal: Calibration | None = None, step_ns: int = 100) -> CostModel:
    """A :class:`~mrelease_ref.sim.cost.CostModel` priced by the live kernel's calibration
    (the stored one unless ``cal`` is given): ``Kernel(cost_model=calibrated_cost_model())``.
    """
    return CostModel(prices_ns=prices_from(cal or load_calibration()), step_ns=step_ns)
