"""Time in the model: a price per unit of kernel work (not kernel code).

The scheduler charges each step with ``CostModel.price(delta)``, where ``delta`` holds how
much each vm event counter moved during the step, and advances the Kernel's integer clock
by that many nanoseconds. Replacing ``Kernel.cost_model`` (or pricing events yourself from
``Kernel.steps``) is the per-step cost hook later experiments build on.

Two price lists, and every cost table says which one it uses:

* **calibrated** (the default of ``Kernel()``, ``Kernel(cost="calibrated")``): fitted by
  the real-kernel lab to this machine's reap times, stored with kernel release and date in
  ``mrelease_ref/lab/data/calibration.json`` (:func:`cost_model_for`, via
  ``mrelease_ref.lab.calibration.calibrated_cost_model()``; notebook 05 shows the fit);
* **estimated** (``Kernel(cost="estimated")``, and ``CostModel()`` itself):
  :data:`ESTIMATED_PRICES_NS`, round numbers derived by hand from the first survey's reap
  times (docs/sources.md §M6, 6.18 kernel, 2-vCPU VM):

* ``ZAP_PTE`` 13 ns: 1 GiB of private file pages in large folios (nothing freed) reaped in
  3579 µs = 262144 PTEs -> 13.7 ns per PTE.
* ``FOLIO_FREE`` 255 ns + ``PGFREE`` 12 ns/page: 1 GiB of 4 KiB anon pages took 73472 µs
  = 280 ns per page = 13 (PTE) + 255 + 12; 1 GiB of THP took 3387 µs = 6.6 µs per 2 MiB
  folio ~ 255 + 12 * 512.
* ``ZAP_PMD`` 800 ns: a 1 GiB private file mapping of 2 MiB PMD-mapped page-cache folios
  reaped in 0.56-0.83 ms on 2026-11-25 (the real-kernel lab, ``make bench``), about 0.4 ms
  of it the Python victim's own image: ~0.8 µs per PMD (rmap, mark_accessed, gather).
* ``SYSCALL`` 1000 ns: EBADF/EINVAL/ESRCH paths took 0.9-1.1 µs (§M6, cheap paths).
* ``MARK_ACCESSED`` 20 ns, ``PGACTIVATE`` 150 ns, ``TLB_FLUSH`` 500 ns: estimates (the
  calibration replaces all but ``TLB_FLUSH``).

Limitations:
- One clock for all CPUs; steps never overlap in time.
- Prices are per event, independent of cache state, contention or CPU frequency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

ESTIMATED_PRICES_NS: dict[str, int] = {
    "ZAP_PTE": 13,
    "ZAP_PMD": 800,
    "FOLIO_FREE": 255,
    "PGFREE": 12,
    "SYSCALL": 1000,
    "MARK_ACCESSED": 20,
    "PGACTIVATE": 150,
    "TLB_FLUSH": 500,
}
"""The estimated prices (ns per event)."""

DEFAULT_PRICES_NS = ESTIMATED_PRICES_NS
"""Old name of :data:`ESTIMATED_PRICES_NS` (the prices ``CostModel()`` starts from)."""

COSTS: Final = ("calibrated", "estimated")
"""The price lists ``Kernel(cost=...)`` accepts; ``"calibrated"`` is the default."""


@dataclass(frozen=True, slots=True)
class CostModel:
    """Nanoseconds per unit of each vm event, plus a fixed cost per scheduler step."""

    prices_ns: Mapping[str, int] = field(default_factory=lambda: dict(ESTIMATED_PRICES_NS))
    step_ns: int = 100

    def price(self, delta: Mapping[str, int]) -> int:
        """Cost in ns of a step whose event counters moved by ``delta``."""
        p = self.prices_ns
        return self.step_ns + sum(p.get(k, 0) * v for k, v in delta.items() if v > 0)


def cost_model_for(cost: str) -> CostModel:
    """The :class:`CostModel` of price list ``cost``: ``"calibrated"`` (this machine's
    stored calibration) or ``"estimated"`` (:data:`ESTIMATED_PRICES_NS`)."""
    if cost == "estimated":
        return CostModel()
    if cost == "calibrated":
        from mrelease_ref.lab.calibration import calibrated_cost_model

        return calibrated_cost_model()
    raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
