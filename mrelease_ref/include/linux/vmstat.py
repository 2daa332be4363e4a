"""vmstat counters and vm events.

Kernel: include/linux/vmstat.h, include/linux/vm_event_item.h

Counters live in ``Kernel.vmstat`` (a list indexed by
:class:`~mrelease_ref.include.linux.mmzone.NodeStat`) and events in ``Kernel.vm_events``
(a dict keyed by the kernel's event names, e.g. ``"PGACTIVATE"``). Events double as the
model's cost meter: :mod:`mrelease_ref.sim.cost` prices them to advance time.

Limitations:
- Counters are exact; the kernel's per-CPU deltas and their folding are not modelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mrelease_ref.include.linux.mm_types import Folio
    from mrelease_ref.sim.kernel import Kernel


def lruvec_stat_mod_folio(folio: Folio, idx: int, val: int) -> None:
    """Kernel: include/linux/vmstat.h:lruvec_stat_mod_folio()"""
    folio.kernel.vmstat[idx] += val


def node_stat_mod_folio(folio: Folio, idx: int, val: int) -> None:
    """Kernel: include/linux/vmstat.h:node_stat_mod_folio()"""
    folio.kernel.vmstat[idx] += val


def count_vm_events(kernel: Kernel, item: str, delta: int) -> None:
    """Kernel: include/linux/vmstat.h:count_vm_events()"""
    ev = kernel.vm_events
    ev[item] = ev.get(item, 0) + delta


def count_vm_event(kernel: Kernel, item: str) -> None:
    """Kernel: include/linux/vmstat.h:count_vm_event()"""
    ev = kernel.vm_events
    ev[item] = ev.get(item, 0) + 1
