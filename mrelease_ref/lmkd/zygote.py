"""How an app process comes to share the zygote's memory: one function.

Not kernel code. On Android every app is forked from the zygote, which preloaded the boot
image, framework jars and shared libraries; the child inherits those mappings and shares
their page-cache pages with every other app (docs/sources.md §L3.3: 85-99 % of an app's
file RSS). What the series changes depends on exactly this: a folio that another address
space maps is neither evicted (patch 1) nor skipped for aging (patch 2).

The model has no fork with copy-on-write yet (README Limitations: "No fork with
copy-on-write"), so :func:`zygote_fork` builds the same sharing from what exists: a fresh
process (``Kernel.spawn``, as after fork + execve) that maps the zygote's preloaded file
private and read-only at the same offsets. The page-cache folios are the zygote's, so
every app's mapping of them raises their mapcount exactly as an inherited mapping would
once the child faults them.

When ``Process.fork()`` lands, replace the body with ``dev.zygote.fork(name)`` (the
child inherits the pool mapping at the same address) and return that mapping: this is
the only place the simulation creates an app process.

Limitations:
- No zygote anonymous memory is shared copy-on-write (it is part of the unkillable base),
  so killing an app never finds COW-shared anon pages; with fork() it would, and the reap
  would only drop its references to them.
- The app is a child of init (autoreaped), not of the zygote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mrelease_ref.lmkd.device import Device
    from mrelease_ref.sim.process import Mapping, Process


def zygote_fork(dev: Device, name: str, uid: int) -> tuple[Process, Mapping]:
    """An app process "forked" from ``dev.zygote`` and its mapping of the preloaded files
    (not faulted in: the app touches the part it uses)."""
    p = dev.kernel.spawn(name, uid)
    pool = p.mmap(dev.pool_file.i_size, file=dev.pool_file, write=False)
    return p, pool
