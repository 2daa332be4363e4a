"""``Kernel``: one simulated machine, holding every piece of state the model has.

Not kernel code. A ``Kernel`` owns the page allocator, LRU lists, per-CPU batches,
vmstat, tasks, pids, files, the swap device, the trace and the clock. Kernel structs point
back to it (their ``kernel`` field), so two Kernels -- baseline and a patched variant --
can live side by side in one notebook without sharing anything.

Configuration (all keyword-only except ``variant``):

* ``variant``: which kernel, see :mod:`mrelease_ref.variants`.
* ``swap``: CONFIG_SWAP (default True). ``swap_mib`` sizes a swap device (default 0: these
  machines have none; swap-out then fails, as without a device).
* ``arch``: ``"x86_64"`` (generic mmu_gather), ``"arm64"`` (generic mmu_gather too, the
  architecture of the Android devices the series is for) or ``"s390"`` (no gather,
  immediate free). What differs between x86_64 and arm64 on the modelled paths at v6.18:
  only how the TLB is flushed (arm64's ``tlb_flush()`` issues range TLBIs itself,
  ``arch/arm64/include/asm/tlb.h``; x86 overrides ``tlb_flush()`` to
  ``flush_tlb_mm_range()``). Both select MMU_GATHER_RCU_TABLE_FREE and use the generic
  ``tlb_remove_table()``; neither has an s390-style ``__tlb_remove_folio_pages()`` hook, so
  the free path (the one the series patches) is the same generic code. The model has no
  TLB timing; the one modelled difference is that arm64 reads executable file mappings in
  64 KiB folios (``exec_folio_order()``, mm/filemap.py).
* ``page_size`` (default 4096): the base page, 4096, or 16384 / 65536 with
  ``arch="arm64"`` (ARM64_16K_PAGES, ARM64_64K_PAGES; Android 15+ devices may use 16 KiB).
  ``Kernel.pg`` holds everything that scales with it (PMD size, THP order, PTEs per
  table, gather batch size, fault-around pages, ``pcp->batch``; see
  :class:`~mrelease_ref.include.linux.mm_types.PageGeometry`). API sizes stay in pages (of
  this size); /proc values stay in kB; ``mem_mib``/``swap_mib`` stay MiB.
* ``fs_block_size`` (default 4096): the ext4 block size, which caps page-cache folios at
  2048 blocks (``EXT4_MAX_PAGECACHE_ORDER``: order 9 with 4 KiB blocks, on 4 and 16 KiB
  pages alike). At most ``page_size``.
* ``file_large_folios`` (default True): the file system of the model's regular files
  sets large-folio support (ext4 without encryption or verity). False: every page-cache
  folio is order 0, as on Android's ``/data`` (ext4 with file-based encryption, or f2fs:
  see :meth:`Kernel.android`), while anonymous THP stays as ``large_folios`` says.
* ``lru_gen`` (default False): CONFIG_LRU_GEN with the multi-gen LRU enabled, as Android
  kernels run it (``/sys/kernel/mm/lru_gen/enabled``). ``folio_mark_accessed()`` then
  counts accesses in the folio's flags (``lru_gen_inc_refs()``) instead of activating;
  folios live on generations (mm/vmscan.py, "The multi-gen LRU"); kswapd ages and evicts
  generations; refaults are judged by generation (mm/workingset.py). False is the classic
  two-list LRU these machines run (CONFIG_LRU_GEN is not set).
* ``large_folios`` (default True): ext4 mappings support large page-cache folios
  (``mapping_max_folio_order()`` 9) and anon THP is allowed where madvise(MADV_HUGEPAGE)
  asks (THP ``[madvise]``). False: every folio is a single page.
* ``file_folio_order`` (default None): None lets v6.18's readahead and fault paths choose
  each page-cache folio's order (:mod:`mrelease_ref.mm.readahead`: read-around, the order
  ramp of async readahead, MADV_HUGEPAGE's PMD-order reads, fault-around). The live kernel
  is the judge: every layout in ``lab/data/folios.json`` (2026-12-03, 6.18.44, ext4,
  ``read_ahead_kb`` 8192) is reproduced exactly (parity ``folios/*`` rows). An int 0..9 is
  the earlier fixed-order model, kept so earlier experiments stay expressible: every cache
  miss reads one folio of that order (shrunk to be aligned and inside the file), with no
  readahead window and no fault-around (``file_folio_order=6`` is docs/sources.md §M1.1's
  ~80-page folios of an earlier 6.18 build).
* ``read_ahead_kb`` (default 8192, the measured ``/sys/block/vda/queue/read_ahead_kb``):
  the backing device's readahead window, ``bdi->ra_pages``.
* ``mm_id``: CONFIG_MM_ID exact per-mm tracking of large folios (default True; THP
  selects it). False makes ``folio_maybe_mapped_shared()`` conservative.
* ``oom_reap_reverse``: the reaper walks VMAs last-to-first (default True, the
  ``mas_for_each_rev`` walk of current kernels; docs/sources.md §K1.4).
* ``nr_cpus`` (2), ``mem_mib`` (24105, MemTotal of these VMs), ``pcp_high`` (48307 pages,
  the per-CPU ``high_max`` measured, docs/sources.md §M0.9; with larger pages the same
  bytes in pages, an estimate), ``pcp_batch`` (63, ``zone_batchsize()``; 15 with 16 KiB
  pages).
* ``seed``: seeds ``Kernel.rng`` (the model itself is deterministic; scenarios draw from
  the RNG).
* ``fast_paths`` (default True): let the zap loop take an exact, inlined fast path for
  runs of 4 KiB anonymous pages (``mm.memory._zap_small_anon_run``); False runs only the
  kernel-shaped reference functions. Tests prove both give identical state.
* ``patches``: for the three-patch versions (``"rfc"``, ``"v1"``), apply only the first
  1, 2 or 3 patches (default: all). ``Kernel(variant="v1", patches=2)`` is v1 with patch 1
  (evict clean file folios through mmu_gather) and patch 2 (skip LRU movement), without
  REAP_KILL.
* ``swapcache_fix`` (default False: the code as posted): v1 and draft D call
  ``free_swap_cache()`` only for anonymous folios, so a shmem folio left in the swap cache
  is no longer dropped (acknowledged by the author, docs/sources.md §T4.1 #6). True applies the
  fix proposed on 2026-05-08 (swap-cache folios first, then eviction).
* ``d_details`` (default ``"as_posted"``): draft D passes a zero-initialised
  ``zap_details`` whose ``even_cows`` is false, so the reaper stops zapping PTE-mapped
  anonymous folios; PMD-mapped THPs are still zapped (docs/sources.md §T3.5, §T6 #16).
  ``"intended"`` passes only the ignore-access bit. Faithful default: the draft's code.
* ``trace``: record a function-level trace. ``debug_vm``: run the invariant checker after
  every API call and every scheduler step (tests turn it on).
* ``cost`` (default ``"calibrated"``): the prices of model time, fitted to this machine's
  live reap times (``mrelease_ref/lab/data/calibration.json``); ``"estimated"`` takes the
  hand-made round numbers of ``mrelease_ref.sim.cost``. ``cost_model=`` passes any
  ``CostModel`` instead (``Kernel.cost`` then says ``"custom"``).
* ``overcommit_memory`` (default 0, OVERCOMMIT_GUESS, as on these machines),
  ``overcommit_ratio`` (50): ``vm.overcommit_*`` for ``__vm_enough_memory()`` at mmap()
  (mode 0 refuses one allocation larger than RAM + swap; 1 never refuses; 2 keeps the
  commit charge under the limit). See :mod:`mrelease_ref.mm.util`.
* ``nr_hugepages`` (default 0, as on these machines): the hugetlb pool, allocated at boot;
  ``mmap(hugetlb=True)`` reserves from it and fails with ENOMEM when it cannot
  (:mod:`mrelease_ref.mm.hugetlb`).

Limitations:
- One clock, one run queue; CPUs only choose per-CPU data (LRU batches, page lists).
- Sleeping in user space is the default state of a process; "running user code" exists
  only as the API calls made on its behalf.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import random
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from mrelease_ref.include.linux.fs import AddressSpace, File, Inode
from mrelease_ref.include.linux.mm_types import (
    GEOMETRIES,
    PAGE_SIZES,
    Folio,
    FolioTail,
    MmStruct,
    PageGeometry,
    folio_types,
)
from mrelease_ref.include.linux.mmzone import (
    NR_FREE_PAGES,
    CpuFbatches,
    Lruvec,
    NodeStat,
    PerCpuPages,
    Zone,
)
from mrelease_ref.include.linux.sched import (
    PF_KTHREAD,
    PIDTYPE_PID,
    PIDTYPE_TGID,
    SIGNAL_UNKILLABLE,
    Cred,
    FilesStruct,
    PidNamespace,
    SighandStruct,
    SignalStruct,
    TaskStruct,
)
from mrelease_ref.kernel.pid import (
    alloc_pid,
    attach_pid,
    is_child_reaper,
    ns_of_pid,
    task_active_pid_ns,
)
from mrelease_ref.kernel.sched import KernelGen
from mrelease_ref.mm.swapfile import SwapInfoStruct
from mrelease_ref.series.hooks import build_hooks
from mrelease_ref.sim.cost import COSTS, CostModel, cost_model_for
from mrelease_ref.sim.trace import TraceEvent, format_trace
from mrelease_ref.sim.validate import api_entry, check_can_call, int_arg, nonneg_int_arg, str_arg
from mrelease_ref.variants import VARIANTS

if TYPE_CHECKING:
    from mrelease_ref.include.asm_generic.tlb import MmuGather
    from mrelease_ref.mm.filemap import Cachestat
    from mrelease_ref.sim.process import Process

ARCHES = ("x86_64", "arm64", "s390")
PCP_HIGH_4K = 48307
"""The per-CPU ``high_max`` measured on these machines (4 KiB pages), docs/sources.md §M0.9."""
ANDROID: Final[dict[str, Any]] = {
    "arch": "arm64",
    "page_size": 16384,
    "lru_gen": True,
    "file_large_folios": False,
    "fs_block_size": 4096,
    "nr_cpus": 8,
    "mem_mib": 8192,
    "swap_mib": 4096,
}
"""The settings of :meth:`Kernel.android` (each one's source is in its docstring)."""
ALL_CAPS = frozenset({"CAP_IPC_LOCK", "CAP_KILL", "CAP_SYS_ADMIN", "CAP_SYS_NICE",
                      "CAP_SYS_PTRACE", "CAP_SYS_RESOURCE"})


class Deadlock(RuntimeError):
    """A synchronous call would sleep forever: nothing else can run to wake it."""


@dataclass(frozen=True, slots=True)
class KernelConfig:
    """The build- and boot-time choices of one Kernel (see the module docstring)."""

    variant: str
    swap: bool
    arch: str
    large_folios: bool
    file_folio_order: int | None
    mm_id: bool
    oom_reap_reverse: bool
    nr_cpus: int
    mem_mib: int
    swap_mib: int
    pcp_high: int
    pcp_batch: int
    seed: int
    debug_vm: bool
    trace: bool
    fast_paths: bool
    patches: int
    swapcache_fix: bool
    d_details: str
    read_ahead_kb: int = 8192
    lru_gen: bool = False
    overcommit_memory: int = 0
    overcommit_ratio: int = 50
    nr_hugepages: int = 0
    page_size: int = 4096
    fs_block_size: int = 4096
    file_large_folios: bool = True


@dataclass(slots=True)
class WorkResult:
    """What :meth:`Kernel.start` returns: set when the started kernel work finishes."""

    label: str
    done: bool = False
    value: Any = None


def _recording(gen: KernelGen[Any], result: WorkResult) -> KernelGen[None]:
    result.value = yield from gen
    result.done = True


def _oom_kill_process(victim: TaskStruct) -> None:
    # A module-level function: inside a class body the name __oom_kill_process would be
    # mangled to _Kernel__oom_kill_process.
    from mrelease_ref.mm.oom_kill import oom_kill_process

    oom_kill_process(victim)


def _writeback_all(k: Kernel) -> None:
    from mrelease_ref.mm.page_writeback import __filemap_fdatawrite_range

    for inode in list(k.inodes):
        if inode.kind == "ext4":
            __filemap_fdatawrite_range(inode.i_mapping, 0, inode.i_size)


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One scheduler step (kept when tracing): who ran, what it yielded, what it cost."""

    ts_ns: int
    pid: int
    comm: str
    label: str
    cost_ns: int


def _check_type(name: str, value: object, types: type | tuple[type, ...], hint: str) -> None:
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise TypeError(f"{name} must be {hint}, got bool {value!r}")
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {hint}, got {type(value).__name__} {value!r}")


def _caps_arg(caps: object) -> frozenset[str]:
    if isinstance(caps, str) or not isinstance(caps, (set, frozenset, list, tuple)):
        raise TypeError(f"caps must be a set of capability names like {{'CAP_KILL'}}, got {caps!r}")
    if not all(isinstance(c, str) and c.startswith("CAP_") for c in caps):
        raise ValueError(f"caps must hold names such as 'CAP_KILL', got {sorted(map(repr, caps))}")
    return frozenset(caps)


def _check_patches(variant: str, patches: object) -> int:
    """How many patches of the variant to apply (a prefix of the series)."""
    from mrelease_ref.series.hooks import NR_PATCHES

    total = NR_PATCHES[variant]
    if patches is None:
        return total
    if not isinstance(patches, int) or isinstance(patches, bool):
        raise TypeError(f"patches must be an int or None, got {patches!r}")
    if total < 3:
        raise ValueError(
            f"patches= selects a prefix of a three-patch version (rfc, v1); {variant!r} is "
            "a single patch: leave patches unset"
        )
    if not 1 <= patches <= total:
        raise ValueError(f"patches must be 1, 2 or 3 for {variant!r}, got {patches}")
    return patches


def _check_page_size(kw: dict[str, Any]) -> PageGeometry:
    """The geometry of ``page_size``; only arm64 has granules other than 4 KiB."""
    size = kw["page_size"]
    _check_type("page_size", size, int, "an int (bytes)")
    if size not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {PAGE_SIZES} (bytes), got {size}")
    if size != 4096 and kw["arch"] != "arm64":
        raise ValueError(f"page_size={size} needs arch='arm64' (x86_64 and s390 have 4 KiB "
                         "pages only; arm64 has 4, 16 and 64 KiB granules)")
    block = kw["fs_block_size"]
    _check_type("fs_block_size", block, int, "an int (bytes)")
    if block not in (1024, 2048, 4096, 8192, 16384, 32768, 65536) or block > size:
        raise ValueError(f"fs_block_size must be a power of two from 1024 up to page_size "
                         f"({size}; larger blocks than pages are not modelled), got {block}")
    return GEOMETRIES[size]


def _build_config(variant: object, kw: dict[str, Any]) -> KernelConfig:
    if not isinstance(variant, str):
        raise TypeError(f"variant must be a str such as 'baseline', got {variant!r}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    if not VARIANTS[variant].implemented:
        implemented = [v.name for v in VARIANTS.values() if v.implemented]
        raise ValueError(f"variant {variant!r} is not implemented yet; available: {implemented}")
    kw["patches"] = _check_patches(variant, kw["patches"])
    if kw["d_details"] not in ("as_posted", "intended"):
        raise ValueError("d_details must be 'as_posted' or 'intended'")
    if variant == "d" and kw["arch"] == "s390":
        raise ValueError(
            "draft D does not build on s390: it removes free_pages_and_swap_cache(), which "
            "arch/s390/include/asm/tlb.h still calls (D has no s390 hunk; docs/sources.md §T3.5)"
        )
    for name in ("swap", "large_folios", "mm_id", "oom_reap_reverse", "debug_vm", "trace",
                 "fast_paths", "swapcache_fix", "lru_gen", "file_large_folios"):
        _check_type(name, kw[name], bool, "True or False")
    pg = _check_page_size(kw)
    if kw["file_folio_order"] is not None:
        _check_type("file_folio_order", kw["file_folio_order"], int, "an int or None")
        if not 0 <= kw["file_folio_order"] <= pg.MAX_PAGECACHE_ORDER:
            raise ValueError("file_folio_order must be None (readahead chooses) or between 0 "
                             f"and {pg.MAX_PAGECACHE_ORDER} (MAX_PAGECACHE_ORDER)")
    if kw["pcp_high"] is None:  # the measured high_max, in pages of this size
        kw["pcp_high"] = PCP_HIGH_4K * 4096 // pg.PAGE_SIZE
    if kw["pcp_batch"] is None:
        kw["pcp_batch"] = pg.PCP_BATCH
    for name in ("nr_cpus", "mem_mib", "swap_mib", "pcp_high", "pcp_batch", "seed",
                 "read_ahead_kb"):
        _check_type(name, kw[name], int, "an int")
    if kw["arch"] not in ARCHES:
        raise ValueError(f"arch must be one of {ARCHES}, got {kw['arch']!r}")
    if kw["read_ahead_kb"] < 0 or kw["read_ahead_kb"] % pg.kb_per_page:
        raise ValueError(f"read_ahead_kb must be a multiple of {pg.kb_per_page} (pages of "
                         f"{pg.PAGE_SIZE} bytes), >= 0")
    if kw["nr_cpus"] < 1 or kw["mem_mib"] < 16 or kw["swap_mib"] < 0:
        raise ValueError("need nr_cpus >= 1, mem_mib >= 16 and swap_mib >= 0")
    if kw["swap_mib"] and not kw["swap"]:
        raise ValueError("swap_mib > 0 needs swap=True (CONFIG_SWAP)")
    if not 0 < kw["pcp_batch"] < kw["pcp_high"]:
        raise ValueError("need 0 < pcp_batch < pcp_high")
    _check_vm_sysctls(kw)
    return KernelConfig(variant=variant, **kw)


def _check_vm_sysctls(kw: dict[str, Any]) -> None:
    from mrelease_ref.mm.hugetlb import HPAGE_NR

    for name in ("overcommit_memory", "overcommit_ratio", "nr_hugepages"):
        _check_type(name, kw[name], int, "an int")
    # the model keeps per-CPU lists and one swap_map entry per slot: absurd sizes would
    # take the host's memory before the first call (CONFIG_NR_CPUS is at most 8192)
    if kw["nr_cpus"] > 8192 or kw["swap_mib"] > 1 << 16 or kw["mem_mib"] > 1 << 24:
        raise ValueError("need nr_cpus <= 8192, swap_mib <= 65536 and mem_mib <= 16 TiB")
    if kw["overcommit_memory"] not in (0, 1, 2):
        raise ValueError("overcommit_memory must be 0 (guess), 1 (always) or 2 (never)")
    if kw["overcommit_ratio"] < 0:
        raise ValueError("overcommit_ratio must be >= 0 (a percentage of RAM)")
    if not 0 <= kw["nr_hugepages"] * HPAGE_NR <= kw["mem_mib"] * 256 // 2:
        raise ValueError("nr_hugepages must be >= 0 and fit in half of mem_mib (2 MiB each)")


class Kernel:
    """One simulated Linux machine running ``variant``. See the module docstring."""

    def __init__(
        self,
        variant: str = "baseline",
        *,
        swap: bool = True,
        arch: str = "x86_64",
        large_folios: bool = True,
        file_folio_order: int | None = None,
        mm_id: bool = True,
        oom_reap_reverse: bool = True,
        nr_cpus: int = 2,
        mem_mib: int = 24105,
        swap_mib: int = 0,
        pcp_high: int | None = None,
        pcp_batch: int | None = None,
        seed: int = 0,
        debug_vm: bool = False,
        trace: bool = False,
        fast_paths: bool = True,
        patches: int | None = None,
        swapcache_fix: bool = False,
        d_details: str = "as_posted",
        cost_model: CostModel | None = None,
        cost: str = "calibrated",
        read_ahead_kb: int = 8192,
        lru_gen: bool = False,
        overcommit_memory: int = 0,
        overcommit_ratio: int = 50,
        nr_hugepages: int = 0,
        page_size: int = 4096,
        fs_block_size: int = 4096,
        file_large_folios: bool = True,
    ) -> None:
        self._api_depth = 0  # nesting of public calls (sim.validate.api_entry)
        self._syscall_tasks: list[TaskStruct] = []  # callers inside run_syscall()
        self.findings: list[str] = []  # expected series findings the checker recorded
        self.proc_mem_files: list[MmStruct] = []  # open /proc/<pid>/{mem,environ}: mmgrab()
        self.exit_mm_tasks: list[TaskStruct] = []  # exit_mm_field: task->exit_mm's mmgrab()
        if cost_model is not None and not isinstance(cost_model, CostModel):
            raise TypeError("cost_model must be a mrelease_ref.sim.cost.CostModel or None")
        self.config = _build_config(variant, dict(
            swap=swap, arch=arch, large_folios=large_folios, file_folio_order=file_folio_order,
            mm_id=mm_id, oom_reap_reverse=oom_reap_reverse, nr_cpus=nr_cpus, mem_mib=mem_mib,
            swap_mib=swap_mib, pcp_high=pcp_high, pcp_batch=pcp_batch, seed=seed,
            debug_vm=debug_vm, trace=trace, fast_paths=fast_paths, patches=patches,
            swapcache_fix=swapcache_fix, d_details=d_details, read_ahead_kb=read_ahead_kb,
            lru_gen=lru_gen, overcommit_memory=overcommit_memory,
            overcommit_ratio=overcommit_ratio, nr_hugepages=nr_hugepages,
            page_size=page_size, fs_block_size=fs_block_size,
            file_large_folios=file_large_folios,
        ))
        self.pg = GEOMETRIES[self.config.page_size]
        """The page geometry (``PAGE_SHIFT``, ``PMD_SHIFT``, ... of ``config.page_size``)."""
        self.folio_types = folio_types(self)
        """This Kernel's folio classes (``Folio.kernel`` is their class attribute)."""
        self.small_folio_tails: dict[Folio, FolioTail] = {}
        """The :class:`FolioTail` of each small folio that has one (a large folio holds its
        own): see mm_types.FolioTail."""
        self.series = build_hooks(self.config)
        self.rng = random.Random(seed)
        if cost not in COSTS:
            raise ValueError(f"cost must be one of {COSTS} (or pass cost_model=), got {cost!r}")
        self.cost_model = cost_model or cost_model_for(cost)
        self.cost = "custom" if cost_model is not None else cost
        """Which prices ``cost_model`` holds: "calibrated", "estimated" or "custom"."""
        self.clock_ns = 0
        self._boot_memory()
        self._boot_tasks()
        self._boot_hugetlb()

    @classmethod
    def android(cls, variant: str = "baseline", **overrides: Any) -> Kernel:
        """A Kernel configured as the Android devices the series is for (:data:`ANDROID`);
        ``overrides`` change any setting (``Kernel.android(file_large_folios=True)``).

        Each setting and its source:

        * ``arch="arm64"``: the architecture of Android phones, and the only one with
          16 KiB pages; the generic mmu_gather path.
        * ``page_size=16384``: Android 15 and later support 16 KiB-page devices, a kernel
          built with CONFIG_ARM64_16K_PAGES (https://source.android.com/docs/core/
          architecture/16k). Give ``page_size=4096`` for the 4 KiB devices that are still
          the majority.
        * ``lru_gen=True``: MGLRU is likely enabled on recent GKI kernels (docs/sources.md
          §L8, an estimate [E]); secondary sources report CONFIG_LRU_GEN=y and
          CONFIG_LRU_GEN_ENABLED=y in the arm64 ``gki_defconfig`` (not checked against a
          primary copy here).
        * ``large_folios=True`` (the default, kept): anonymous THP as ``[madvise]``
          (MADV_HUGEPAGE only), which is all the model has.
        * ``file_large_folios=False``: an app's files live on ``/data``, which is ext4
          with file-based encryption or f2fs; at v6.18 ext4 turns large folios off when
          the file system has the encrypt feature (fs/ext4/inode.c:
          ext4_should_enable_large_folio()) and f2fs never turns them on (no
          mapping_set_large_folios() in fs/f2fs), so every page-cache folio of an app's
          APK, odex and libraries is order 0. (erofs system partitions do use large
          folios, fs/erofs/inode.c: ``file_large_folios=True`` models those.)
        * ``fs_block_size=4096``: ext4 keeps 4 KiB blocks on 16 KiB devices (a block may
          not exceed the page). It only matters with ``file_large_folios=True``.
        * ``nr_cpus=8``, ``mem_mib=8192``: an 8-core phone with 8 GiB (docs/sources.md
          §L3.2's 8 GB device); ``swap_mib=4096``: zram at 50 % of RAM (Pixel's
          ``fstab.zram.50p``, §L3.2). zram is a swap device here: a slot is a page, with
          no compression and no RAM cost (not modelled).
        * Everything else as on the default Kernel: ``read_ahead_kb`` 8192 (no source for
          Android's value), the cost model calibrated on this x86_64 VM (per event, not
          per byte), ``pcp_high`` the measured 4 KiB value in 16 KiB pages (an estimate).
        """
        kw = dict(ANDROID)
        kw.update(overrides)
        return cls(variant, **kw)

    # --- boot ---------------------------------------------------------------------------

    def _boot_memory(self) -> None:
        cfg = self.config
        managed = cfg.mem_mib * self.pg.pages_per_mib
        self.vmstat: list[int] = [0] * int(NodeStat.NR_STAT_ITEMS)
        self.vmstat[NR_FREE_PAGES] = managed
        self.vm_events: dict[str, int] = {}
        self.zone = Zone(
            managed_pages=managed,
            per_cpu_pageset=[
                PerCpuPages(high=cfg.pcp_high, batch=cfg.pcp_batch) for _ in range(cfg.nr_cpus)
            ],
        )
        self.lruvec = Lruvec()
        if cfg.lru_gen:
            from mrelease_ref.mm.vmscan import lru_gen_init_lruvec

            lru_gen_init_lruvec(self.lruvec)
        self.cpu_fbatches = [CpuFbatches() for _ in range(cfg.nr_cpus)]
        self.next_pfn = 0x1000
        # Model-only memory saving: one int object per distinct folio->flags value that
        # folio_batch_move_lru() sets (an int above 256 is 32 bytes; see bench/reap.py).
        self.folio_flags_values: dict[int, int] = {}
        self.last_mm_id = 0
        self.mms: list[MmStruct] = []
        self.huge_zero_folio: Folio | None = None
        self.inodes: list[Inode] = []
        self.last_ino = 0
        self.swapper_space = AddressSpace(self, None, "swap")
        self.swap_info: SwapInfoStruct | None = None
        if cfg.swap and cfg.swap_mib:
            slots = cfg.swap_mib * self.pg.pages_per_mib  # one slot per page
            self.swap_info = SwapInfoStruct(type=0, max=slots, swap_map=[0] * slots)
        self.live_gathers: list[MmuGather] = []
        self.io_pending: list[Folio] = []
        self.data_loss: list[str] = []
        self.hold_coredumps = False
        self.hold_io = False  # a hung device: block I/O does not complete while True
        self.content_seq = 0  # the last page-content token handed out (next_token())
        self.vm_committed_as = 0  # mm/util.c: pages charged by __vm_enough_memory()

    def _boot_hugetlb(self) -> None:
        from mrelease_ref.mm.hugetlb import Hstate, hugetlb_init

        if self.config.nr_hugepages and self.pg.PAGE_SIZE != 4096:
            raise ValueError("hugetlb pages are modelled with 4 KiB pages only (2 MiB huge "
                             "pages); give nr_hugepages=0 with page_size="
                             f"{self.pg.PAGE_SIZE}")

        self.hstate = Hstate()
        hugetlb_init(self)

    def _boot_tasks(self) -> None:
        self.tracing = self.config.trace
        self.trace: list[TraceEvent] = []
        self.steps: list[StepRecord] = []
        self.current: TaskStruct | None = None
        self.runqueue: list[TaskStruct] = []
        self.timers: list[tuple[int, int, Callable[[], None]]] = []
        self._timer_seq = itertools.count()
        self.pid_hash: dict[int, Any] = {}
        self.init_pid_ns = PidNamespace(level=0, parent=None)
        self.tasks: list[TaskStruct] = []
        self.oom_reaper_list: list[TaskStruct] = []
        self.init_task = self.new_task("init", Cred(0, ALL_CAPS), parent=None, kthread=False)
        self.init_task.autoreap = True
        self.kthreadd = self.new_task("kthreadd", Cred(0, ALL_CAPS), parent=None, kthread=True)
        self._start_kthread("oom_reaper", self._oom_reaper_main)
        self._start_kthread("kworker/u4:io", self._io_worker_main)

    def _start_kthread(self, comm: str, main: Callable[[TaskStruct], KernelGen[None]]) -> None:
        t = self.new_task(comm, Cred(0, ALL_CAPS), parent=self.kthreadd, kthread=True)
        t.work = main(t)
        t.work_label = comm
        self.runqueue.append(t)

    @staticmethod
    def _oom_reaper_main(t: TaskStruct) -> KernelGen[None]:
        from mrelease_ref.mm.oom_kill import oom_reaper

        yield from oom_reaper(t)

    @staticmethod
    def _io_worker_main(t: TaskStruct) -> KernelGen[None]:
        from mrelease_ref.kernel.sched import wait_event
        from mrelease_ref.mm.page_writeback import folio_end_writeback

        k = t.kernel
        while True:
            yield wait_event("io completion", lambda: bool(k.io_pending) and not k.hold_io)
            done, k.io_pending = k.io_pending, []
            for folio in done:
                folio_end_writeback(folio)

    def new_task(
        self,
        comm: str,
        cred: Cred,
        *,
        parent: TaskStruct | None,
        kthread: bool,
        cpu: int | None = None,
        pid_ns: PidNamespace | None = None,
    ) -> TaskStruct:
        """Create a single-threaded process (``copy_process()`` without CLONE_THREAD)."""
        pid = alloc_pid(self, pid_ns or self.init_pid_ns)
        files = None if kthread else FilesStruct({fd: File("tty") for fd in (0, 1, 2)})
        t = TaskStruct(
            kernel=self, pid=pid.nr, tgid=pid.nr, comm=comm, cred=cred, signal=SignalStruct(),
            sighand=SighandStruct(), files=files, thread_pid=pid,
            flags=PF_KTHREAD if kthread else 0,
            cpu=cpu if cpu is not None else pid.nr % self.config.nr_cpus,
        )
        t.group_leader = t
        t.signal.threads.append(t)
        t.signal.nr_threads = t.signal.live = t.signal.quick_threads = 1
        if is_child_reaper(pid):  # a namespace's init ignores signals from inside it
            ns_of_pid(pid).child_reaper = t
            t.signal.flags |= SIGNAL_UNKILLABLE
        attach_pid(t, PIDTYPE_PID, pid)
        attach_pid(t, PIDTYPE_TGID, pid)
        t.real_parent = parent
        if parent is not None:
            parent.children.append(t)
        self.tasks.append(t)
        return t

    def new_inode(self, name: str, nr_pages: int, kind: str) -> Inode:
        """Allocate an inode with its page cache (``new_inode()`` + mapping init)."""
        self.last_ino += 1
        inode = Inode(self, self.last_ino, name, nr_pages, kind)
        inode.i_mapping = AddressSpace(self, inode, kind)
        inode.i_count = 1
        self.inodes.append(inode)
        return inode

    # --- helpers the kernel model calls -------------------------------------------------

    def this_cpu(self) -> int:
        """``smp_processor_id()``: the CPU of the running task."""
        cur = self.current
        return cur.cpu if cur is not None else 0

    def this_cpu_fbatches(self) -> CpuFbatches:
        """``this_cpu_ptr(&cpu_fbatches)``"""
        return self.cpu_fbatches[self.this_cpu()]

    def for_each_process(self) -> list[TaskStruct]:
        """``for_each_process()``: thread-group leaders, oldest first (a snapshot)."""
        return list(self.tasks)

    def wake_signal(self, t: TaskStruct) -> None:
        """Make ``t`` deliver its pending signals the next time it runs."""
        if t.dead or t.exit_state:
            return
        if t.work is None and not t.stopped:
            from mrelease_ref.kernel.signal import get_signal

            t.work = get_signal(t)
            t.work_label = "get_signal"
        if t.work is not None and t not in self.runqueue:
            self.runqueue.append(t)

    @api_entry(check=False)
    def next_token(self) -> int:
        """A fresh page-content token for a write (see mrelease_ref.include.linux.highmem)."""
        self.content_seq += 1
        return self.content_seq

    def add_timer(self, expires_ns: int, fn: Callable[[], None]) -> None:
        """``add_timer()``: run ``fn`` once the clock reaches ``expires_ns``."""
        heapq.heappush(self.timers, (expires_ns, next(self._timer_seq), fn))

    def trace_event(self, func: str, detail: str) -> None:
        """Append a trace line for ``func`` (callers check ``self.tracing`` first)."""
        cur = self.current
        self.trace.append(
            TraceEvent(self.clock_ns, cur.comm if cur else "swapper", cur.pid if cur else 0,
                       self.this_cpu(), func, detail)
        )

    @api_entry()
    def trace_text(self, funcs: tuple[str, ...] | None = None) -> str:
        """The trace as text, optionally filtered by function name."""
        if funcs is not None and (
            isinstance(funcs, str)
            or not isinstance(funcs, (tuple, list))
            or not all(isinstance(f, str) for f in funcs)
        ):
            raise TypeError(f"funcs must be a tuple of function names or None, got {funcs!r}")
        return format_trace(self.trace, funcs)

    # --- scheduler (see mrelease_ref.sim.sched) ------------------------------------------

    @contextmanager
    def running(self, task: TaskStruct) -> Iterator[None]:
        """Run model code as ``task`` (sets ``current``)."""
        prev = self.current
        self.current = task
        try:
            yield
        finally:
            self.current = prev

    def syscall(self, task: TaskStruct, gen: KernelGen[int]) -> int:
        """Run a system call as ``task`` to completion; other tasks run only while it sleeps."""
        from mrelease_ref.sim.sched import run_syscall

        return run_syscall(self, task, gen)

    @api_entry()
    def start(self, task: TaskStruct | Process, gen: KernelGen[Any], label: str) -> WorkResult:
        """Give ``task`` kernel work to do when scheduled (used for races and exits).

        Returns a :class:`WorkResult` that receives the generator's return value (for a
        system call: 0 or ``-errno``) when it finishes.
        """
        task = self._task_arg("task", task)
        if not isinstance(gen, Generator):
            raise TypeError("gen must be a generator (a model function that may sleep)")
        str_arg("label", label)
        if task.work is not None:
            raise ValueError(f"{task!r} is already running {task.work_label!r}")
        if task.dead or task.exit_state:
            raise ValueError(f"{task!r} has exited; it cannot run kernel work")
        result = WorkResult(label)
        task.work = _recording(gen, result)
        task.work_label = label
        if task not in self.runqueue:
            self.runqueue.append(task)
        return result

    @api_entry(check=False)
    def step(self, task: TaskStruct | Process | None = None) -> bool:
        """Run one step of ``task`` (or of the next runnable task). False if none ran.

        ``task`` is a task or a :class:`~mrelease_ref.sim.process.Process` handle.
        """
        from mrelease_ref.sim.sched import pick_next, run_step

        t = self._task_arg("task", task) if task is not None else pick_next(self)
        if t is None:
            return False
        return run_step(self, t)

    @api_entry()
    def run_until(
        self,
        cond: Callable[[], bool],
        task: TaskStruct | Process | None = None,
        max_steps: int = 10_000,
    ) -> int:
        """Step ``task`` (or any runnable task) until ``cond()`` holds.

        Raises ValueError if nothing can run before it does, or after ``max_steps`` steps.
        Returns the number of steps taken.
        """
        if not callable(cond):
            raise TypeError("cond must be a callable returning a bool: lambda: p.state == 'dead'")
        t = self._task_arg("task", task) if task is not None else None
        int_arg("max_steps", max_steps)
        steps = 0
        while not cond():
            if steps >= max_steps or not self.step(t):
                raise ValueError(f"condition still false after {steps} steps; nothing left to run")
            steps += 1
        return steps

    @api_entry()
    def run(self, max_steps: int | None = None) -> int:
        """Run every runnable task until nothing is runnable (timers included).

        Returns the number of steps taken.
        """
        from mrelease_ref.sim.sched import run_until_idle

        if max_steps is not None and (
            not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 0
        ):
            raise ValueError("max_steps must be a non-negative int or None")
        return run_until_idle(self, max_steps)

    def _task_arg(self, name: str, task: object) -> TaskStruct:
        """A TaskStruct of this Kernel, from a task or a Process handle."""
        t = getattr(task, "task", task)
        if not isinstance(t, TaskStruct):
            raise TypeError(f"{name} must be a Process (or its .task), got {task!r}")
        if t.kernel is not self:
            raise ValueError(f"{name} {task!r} belongs to another Kernel")
        return t

    # --- public API -------------------------------------------------------------------------

    @api_entry()
    def create_file(self, name: str, nr_pages: int, *, buffer_heads: bool = False) -> Inode:
        """A disk-backed (ext4) file of ``nr_pages`` pages; nothing of it is cached yet.

        ``buffer_heads=True`` attaches private data to folios read in (PG_private).
        """
        if not isinstance(name, str) or not name:
            raise TypeError("name must be a non-empty str")
        _check_type("nr_pages", nr_pages, int, "a positive int")
        if nr_pages <= 0:
            raise ValueError("nr_pages must be positive")
        if any(i.name == name and i.kind == "ext4" for i in self.inodes):
            raise ValueError(f"a file named {name!r} already exists")
        inode = self.new_inode(name, nr_pages, "ext4")
        inode.private_data_on_read = buffer_heads
        return inode

    @api_entry()
    def spawn(
        self,
        name: str,
        uid: int = 0,
        *,
        caps: frozenset[str] | set[str] | None = None,
        cpu: int | None = None,
        parent: Process | None = None,
        pid_ns: PidNamespace | None = None,
    ) -> Process:
        """Start a process (as after fork + execve) with an empty address space.

        Root gets every capability unless ``caps`` says otherwise. Without ``parent`` the
        process is a child of init, which reaps it as soon as it exits; with a ``parent``
        it stays a zombie until ``parent.waitpid()``. ``pid_ns`` (from
        :meth:`create_pid_ns`) puts it in a child pid namespace; by default it joins its
        parent's namespace. The first process in a new namespace is its init: it ignores
        signals sent from inside the namespace (SIGNAL_UNKILLABLE).
        """
        from mrelease_ref.kernel.fork import mm_alloc
        from mrelease_ref.sim.clone import copy_process_check
        from mrelease_ref.sim.process import Process

        if not isinstance(name, str) or not name:
            raise TypeError("name must be a non-empty str")
        _check_type("uid", uid, int, "an int")
        if uid < 0:
            raise ValueError("uid must be >= 0")
        if cpu is not None and not (
            isinstance(cpu, int) and not isinstance(cpu, bool) and 0 <= cpu < self.config.nr_cpus
        ):
            raise ValueError(f"cpu must be in 0..{self.config.nr_cpus - 1}")
        capset = ALL_CAPS if uid == 0 else frozenset()
        if caps is not None:
            capset = _caps_arg(caps)
        parent_task = self.init_task
        if parent is not None:
            parent_task = self._task_arg("parent", parent)
            check_can_call(parent)
            copy_process_check(parent_task, "spawn")
        if pid_ns is None:  # copy_process(): the parent's pid_ns_for_children
            pid_ns = task_active_pid_ns(parent_task)
        self._pid_ns_arg(pid_ns, task_active_pid_ns(parent_task))
        t = self.new_task(
            name, Cred(uid, capset), parent=parent_task, kthread=False, cpu=cpu, pid_ns=pid_ns
        )
        t.autoreap = parent is None
        t.mm = mm_alloc(self)
        self._after_api()
        return Process(self, t)

    @api_entry()
    def create_pid_ns(self, parent: PidNamespace | None = None) -> PidNamespace:
        """A new pid namespace (``CLONE_NEWPID``), a child of ``parent`` (default: the
        initial one). Processes spawned into it get a number at every level."""
        p = parent or self.init_pid_ns
        self._pid_ns_arg(p, self.init_pid_ns)
        return PidNamespace(level=p.level + 1, parent=p)

    def _pid_ns_arg(self, ns: object, ancestor: PidNamespace) -> None:
        """``ns`` is ``ancestor`` or below it (a process can only create or enter pid
        namespaces below its own), and its init has not exited (PIDNS_ADDING is cleared
        then: ``alloc_pid()`` fails with ENOMEM)."""
        if not isinstance(ns, PidNamespace):
            raise TypeError(f"pid_ns must come from Kernel.create_pid_ns(), got {ns!r}")
        p: PidNamespace | None = ns
        while p is not None and p is not ancestor:
            p = p.parent
        if p is None:
            raise ValueError(
                f"{ns!r} is not below the parent's pid namespace {ancestor!r} of this Kernel: "
                "create it with create_pid_ns() under that namespace"
            )
        reaper = ns.child_reaper
        if reaper is not None and (reaper.exit_state or reaper.dead):
            raise OSError(errno.ENOMEM, "fork: the pid namespace's init has exited")

    @api_entry()
    def reclaim(self, nr_pages: int) -> int:
        """Reclaim about ``nr_pages`` pages from the LRU lists, as kswapd would under
        memory pressure (``shrink_node()``); returns the pages reclaimed."""
        from mrelease_ref.mm.vmscan import shrink_node

        _check_type("nr_pages", nr_pages, int, "a positive int")
        if nr_pages <= 0:
            raise ValueError("nr_pages must be positive")
        with self.running(self.kthreadd):
            done = shrink_node(self, nr_pages)
        self._after_api()
        return done

    @api_entry()
    def process(self, pid: int) -> Process:
        """The Process handle of a live (or zombie) process by pid."""
        from mrelease_ref.sim.process import Process

        int_arg("pid", pid)
        for t in self.tasks:
            if t.pid == pid:
                return Process(self, t)
        raise ValueError(f"no process with pid {pid}")

    @api_entry()
    def meminfo(self) -> dict[str, int]:
        """``/proc/meminfo`` in kB (the subset the model keeps)."""
        from mrelease_ref.sim.report import meminfo

        return meminfo(self)

    @api_entry()
    def zoneinfo(self) -> dict[str, int]:
        """Free pages as ``/proc/zoneinfo`` shows them: buddy ``nr_free_pages`` and the
        per-CPU list counts (MemFree leaves the latter out)."""
        from mrelease_ref.sim.report import zoneinfo

        return zoneinfo(self)

    @api_entry()
    def cachestat(self, file: Inode, off: int = 0, length: int = 0) -> Cachestat:
        """``cachestat(2)`` over the whole file (or ``off``/``length`` bytes of it)."""
        from mrelease_ref.mm.filemap import filemap_cachestat

        if not isinstance(file, Inode) or file.kernel is not self:
            raise TypeError("cachestat() takes a file returned by this Kernel's create_file()")
        nonneg_int_arg("off", off)
        nonneg_int_arg("length", length)
        first = off >> self.pg.PAGE_SHIFT
        last = file.i_size - 1 if length == 0 else (off + length - 1) >> self.pg.PAGE_SHIFT
        return filemap_cachestat(file.i_mapping, first, last)

    @api_entry()
    def lru_add_drain_all(self) -> None:
        """Drain every CPU's LRU and mlock batches (``lru_add_drain_all()``)."""
        from mrelease_ref.mm.swap import lru_add_drain_all

        with self.running(self.kthreadd):
            lru_add_drain_all(self)
        self._after_api()

    @api_entry()
    def drop_caches(self) -> None:
        """``echo 1 > /proc/sys/vm/drop_caches``: invalidate clean unmapped page cache."""
        from mrelease_ref.mm.swap import lru_add_drain_all
        from mrelease_ref.mm.truncate import invalidate_mapping_pages

        with self.running(self.kthreadd):
            lru_add_drain_all(self)
            for inode in list(self.inodes):
                if inode.kind == "ext4":
                    invalidate_mapping_pages(inode.i_mapping, 0, inode.i_size)
        self._after_api()

    @api_entry()
    def sync(self) -> None:
        """Write back every dirty file page and wait for the I/O (``sync(2)``)."""
        with self.running(self.kthreadd):
            _writeback_all(self)
        self.run()

    @api_entry()
    def oom_kill(self, pid: int) -> None:
        """Let the kernel OOM killer take process ``pid`` (its victim choice is given).

        Init and kernel threads are refused (ValueError): ``oom_unkillable_task()`` keeps
        the OOM killer from ever choosing them.
        """
        from mrelease_ref.include.linux.sched import is_global_init

        victim = self.process(pid).task
        if is_global_init(victim) or victim.flags & PF_KTHREAD:
            raise ValueError(f"the OOM killer never chooses {victim!r} (oom_unkillable_task())")
        with self.running(self.kthreadd):
            _oom_kill_process(victim)
        self._after_api()

    def check(self) -> None:
        """Run the invariant checker now; raises InvariantViolation on a broken state."""
        from mrelease_ref.sim.invariants import assert_invariants

        assert_invariants(self)

    def _after_api(self) -> None:
        # inside a public call (api_entry) the outermost call checks, once, when it returns
        if self.config.debug_vm and self._api_depth == 0:
            self.check()

    def __repr__(self) -> str:
        c = self.config
        return f"Kernel(variant={c.variant!r}, arch={c.arch!r}, swap={c.swap}, seed={c.seed})"
