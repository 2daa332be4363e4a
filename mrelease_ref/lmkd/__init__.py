"""An Android-like device with an LMKD-like killer, run on the reference model.

Not kernel code. The question this subpackage answers: does the series let Android's low
memory killer make fewer kills? ``process_mrelease()`` on v6.18 unmaps a victim's clean
file pages but leaves them cached, so free memory stays under LMKD's watermark and LMKD
kills again (the series' cover letters, docs/sources.md §L0). Every kill, reap, fault and
reclaim in the simulation runs through the kernel model itself (:class:`~mrelease_ref.Kernel`
and :class:`~mrelease_ref.sim.process.Process`); this package only adds the device (memory
sizes, watermarks, a kswapd that runs at a rate), the user-space policy (AOSP lmkd's PSI
"new strategy", reduced) and the workload.

Modules:

* :mod:`.device` -- the device: RAM, watermarks, an unkillable base, the zygote, apps in
  oom_score_adj bands; units (1 model page = ``scale`` device pages) and what the
  aggregation does to page-cache folio sizes; the LRU (classic or multi-gen).
* :mod:`.zygote` -- the zygote (preloaded files, a heap) and ``fork()`` of an app from it.
* :mod:`.policy` -- LMKD's decision: kill reason and victim.
* :mod:`.sim` -- the run: launch workload, kswapd, PSI, LMKD's kill procedure with its
  reaper threads, relaunch of a killed app; per-run metrics.
* :mod:`.stats` -- seeds, sweeps and t-intervals.
* :mod:`.sweeps` -- notebook 06's stored sweeps (definitions, writer, loader).

Limitations:
- Every number of the device and workload is an estimate [E] or sourced value listed in
  :mod:`.device`; the kernel model is v6.18 plus the variant, with its own limitations
  (README "Limitations").
- See each module's Limitations.
"""

from mrelease_ref.lmkd.device import AppSpec, Device, DeviceConfig, build_device
from mrelease_ref.lmkd.policy import LmkdConfig
from mrelease_ref.lmkd.sim import VARIANTS, KillRecord, RunResult, Scenario, run

__all__ = (
    "VARIANTS",
    "AppSpec",
    "Device",
    "DeviceConfig",
    "KillRecord",
    "LmkdConfig",
    "RunResult",
    "Scenario",
    "build_device",
    "run",
)
