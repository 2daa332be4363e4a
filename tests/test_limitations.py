"""Each stated limitation of the model, shown to still hold.

Every Limitations bullet in the README and the notebooks names a test (``tests/...py::test``)
that would fail once the limit is lifted, so a limitation cannot go stale silently:
whoever lifts it sees the test fail and removes the bullet with it
(``tests/test_readme.py::test_every_limitation_names_an_existing_test`` checks the names).
Rules and sources are the limitations themselves; kernel behaviour the model leaves out is
cited per test.
"""

from __future__ import annotations

import inspect
import json
import pkgutil
import signal

import pytest

import mrelease_ref
from mrelease_ref import Kernel
from mrelease_ref.include.linux.mm_types import PteTable
from mrelease_ref.lab.calibration import load_calibration
from mrelease_ref.scenarios import patch3
from mrelease_ref.scenarios.parity import STORED_RUN
from mrelease_ref.sim.cost import CostModel
from mrelease_ref.sim.process import Process


def _all_names() -> set[str]:
    """Every top-level name defined in any module of the package."""
    names: set[str] = set()
    for info in pkgutil.walk_packages(mrelease_ref.__path__, "mrelease_ref."):
        if info.name.endswith(("__main__", "_victim_main", "_holder_main")):
            continue
        mod = __import__(info.name, fromlist=["_"])
        names |= set(vars(mod))
    return names


def test_one_clock_steps_are_atomic() -> None:
    """One integer clock for the machine, advanced only by the scheduler; a task runs from
    one ``yield`` to the next without interruption (no timing, no real concurrency)."""
    k = Kernel(seed=0)
    assert isinstance(k.clock_ns, int)
    assert not any("thread" in n.lower() for n in vars(k) if n.startswith("_thread"))
    src = inspect.getsource(mrelease_ref.sim.sched)
    assert "import threading" not in src and "asyncio" not in src


def test_no_memcg_numa_options() -> None:
    """One node, no memcg: ``Kernel()`` takes no option for either, and nothing in the
    package models a memcg (the multi-gen LRU is an option, ``lru_gen``)."""
    params = inspect.signature(Kernel).parameters
    for opt in ("memcg", "numa", "nr_nodes"):
        assert opt not in params
    assert "lru_gen" in params
    assert "mem_cgroup" not in _all_names()
    assert mrelease_ref.KERNEL_VERSION == "v6.18"


def test_fork_of_a_pinned_large_anon_folio_is_not_modelled() -> None:
    """fork() of an exclusive anonymous THP that may be pinned (mm/memory.c:
    copy_present_ptes() then copies it page by page) is refused by the model; no public
    call pins pages, so only a test that sets the pin by hand reaches it."""
    k = Kernel(seed=0)
    p = k.spawn("app", uid=10001)
    m = p.mmap(512, thp=True)
    p.touch(m, write=True)
    folio = next(iter(p.task.mm.pgd.values())).folio
    assert folio is not None and folio.order == 9
    folio._pincount += 1
    folio._refcount += 1
    with pytest.raises(NotImplementedError, match="pinned large anonymous folio"):
        p.fork("child")


def test_hugetlb_is_anonymous_private_only() -> None:
    """Hugetlb: the pool is empty by default (mmap(MAP_HUGETLB) fails with ENOMEM, as on
    these machines) and a hugetlb mapping is anonymous and private only."""
    import errno

    p = Kernel(seed=0).spawn("app", uid=10001)
    with pytest.raises(OSError) as e:
        p.mmap(512, hugetlb=True)
    assert e.value.errno == errno.ENOMEM
    k = Kernel(seed=0, nr_hugepages=1)
    q = k.spawn("app", uid=10001)
    f = k.create_file("data", nr_pages=512)
    with pytest.raises((ValueError, OSError)):
        q.mmap(512, file=f, hugetlb=True)


def test_no_lru_cost_balancing() -> None:
    """Reclaim leaves out the anon/file cost balancing and the restore's
    ``lru_note_cost_refault()`` (v6.18 mm/vmscan.c, mm/workingset.c)."""
    assert not {"lru_note_cost", "lru_note_cost_refault"} & _all_names()


def test_cost_model_prices_events() -> None:
    """Model time is a price per vm event plus a fixed cost per scheduler step
    (``CostModel``), not a simulation of caches, locks or CPU frequency: with every price
    zero, a whole kill and reap takes no model time at all."""
    k = Kernel(seed=0, cost_model=CostModel(prices_ns={}, step_ns=0))
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    app.touch(app.mmap(256), write=True)
    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.process_mrelease(fd, 0)
    k.run()
    assert k.clock_ns == 0


def test_posted_code_not_retrieved_is_marked_inferred() -> None:
    """The RFC's oom_kill.c, signal.c and free-loop hunks were not retrieved
    (docs/sources.md §T0, §T7): the RFC's variant entry and its series package say [I]."""
    from mrelease_ref import variants
    from mrelease_ref.series import rfc

    assert "[I]" in (rfc.__doc__ or "")
    assert "[I]" in variants.VARIANTS["rfc"].free_path or "[I]" in (variants.__doc__ or "")


def test_no_truncate_or_shmem_writeout() -> None:
    """No truncate(2) of a disk-backed file (``ftruncate()`` sizes memfds only) and no
    ``shmem_writeout()``: notebook 01's predicate conditions (d) and (h), and a shmem folio
    reaching the swap cache, are built by hand or not at all."""
    assert not hasattr(Process, "truncate")
    k = Kernel(seed=0)
    p = k.spawn("app", uid=10001)
    fd = p.open(k.create_file("data", nr_pages=4))
    with pytest.raises(ValueError, match="memfd"):
        p.ftruncate(fd, 0)
    assert "shmem_writeout" not in _all_names()


def test_no_setns_unshare_and_a_vfork_parent_runs() -> None:
    """The model has no ``setns()``/``unshare()``; a vfork parent is not blocked until its
    child exits."""
    assert not hasattr(Process, "setns") and not hasattr(Process, "unshare")
    k = Kernel(seed=0)
    parent = k.spawn("parent", uid=10001)
    m = parent.mmap(4)
    parent.clone_vm("child", vfork=True)
    assert parent.touch(m, write=True) == 4


def test_patch3_experiments_use_single_page_folios() -> None:
    """Notebook 03 runs with single-page folios, so patch 1's reference rule for large
    folios (docs/sources.md §T6 #5) does not hide eviction."""
    assert not patch3.new_kernel("v1").config.large_folios


def test_stored_lab_runs_name_one_machine() -> None:
    """Each stored lab file comes from one machine, one kernel build and one day, and says
    which (files may come from different builds of the same 6.18 kernel)."""
    cal = load_calibration()
    assert cal.kernel.startswith("6.18") and cal.date
    for path in sorted(STORED_RUN.parent.glob("parity*.json")):
        meta = json.loads(path.read_text())["meta"]
        assert isinstance(meta["kernel"], str) and meta["kernel"].startswith("6.18"), path
        assert meta["date"], path


def test_lab_victims_are_python_processes() -> None:
    """The lab's victims are Python interpreters (their own image is measured and
    subtracted, not avoided)."""
    from mrelease_ref.lab import victim

    assert "sys.executable" in inspect.getsource(victim)


def test_parity_table_compares_the_baseline() -> None:
    """The stored parity table is the baseline model against the unpatched kernel; a
    patched variant is a model prediction (``parity --variant``)."""
    data = json.loads(STORED_RUN.read_text())
    assert data["rows"] and data["meta"].get("variant", "baseline") == "baseline"


def test_a_task_in_kernel_work_freezes_in_place() -> None:
    """kernel/freezer.c:freeze_task() freezes in place only a task in a TASK_FREEZABLE sleep;
    the model freezes any task blocked inside kernel work at once (here a /proc/<pid>/cmdline
    read stuck copying out), as if that wait were freezable."""
    k = Kernel(seed=0)
    app = k.spawn("app", uid=10001)
    m = app.mmap(4)
    app.touch(m, write=True)
    reader = k.spawn("reader", uid=0)
    held = reader.read_proc(app.pid, "cmdline", block=True)
    assert not held.done and reader.state == "running"
    reader.freeze()
    assert reader.state == "frozen"
    reader.thaw()
    held.release()
    k.run()
    assert held.done


def test_lmkd_device_has_no_swap_and_a_race_probability() -> None:
    """Notebook 06's device is a parameter set: its kernel has no swap device (no zram:
    compressed memory is plain anon and reclaim never swaps), and the kill race is a
    probability (``Scenario.p_esrch``), not timing."""
    from dataclasses import fields

    from mrelease_ref.lmkd.device import DeviceConfig, make_kernel
    from mrelease_ref.lmkd.sim import Scenario

    k = make_kernel(DeviceConfig(), "baseline", None, 0)
    assert k.config.swap_mib == 0
    assert {"p_esrch", "p_pin", "pin_ms"} <= {f.name for f in fields(Scenario)}


def test_lmkd_has_one_zygote_whose_apps_write_the_same_heap_pages() -> None:
    """Notebook 06: apps are ``fork()``ed from one zygote (no zygote32, app zygotes or USAP
    pool: the device has one zygote process), and every app copies the same first
    ``cow_frac`` of the zygote's heap (``touch()`` from page 0)."""
    from dataclasses import fields

    from mrelease_ref.lmkd.device import Device, populate_app

    names = {f.name for f in fields(Device)}
    assert "zygote" in names and not any("zygote" in n for n in names - {"zygote"})
    src = inspect.getsource(populate_app)
    assert "touch(app.heap, write=True, nr_pages=n_cow)" in src


def test_lmkd_relaunch_measures_one_app() -> None:
    """Notebook 06: the relaunch is one app's (``RunResult.relaunch`` is one record), and
    its read time is MiB read at an assumed rate (``Scenario.read_mb_s``)."""
    from mrelease_ref.lmkd.sim import Relaunch, RunResult, Scenario

    assert RunResult.__annotations__["relaunch"] in ("Relaunch | None", Relaunch | None)
    assert Scenario().read_mb_s > 0


def test_page_contents_are_page_tokens() -> None:
    """Notebook 07: contents are one integer token per page, not bytes
    (``include/linux/highmem.py``); a write of any size replaces the page's token."""
    k = Kernel(seed=0, large_folios=False)
    p = k.spawn("app", uid=10001)
    m = p.mmap(2)
    p.touch(m, write=True)
    tokens = [p.peek(m, i) for i in range(2)]
    assert all(isinstance(t, int) and t != 0 for t in tokens)


def test_reads_complete_at_once() -> None:
    """Reads complete when they are issued: right after a fault, every folio in the page
    cache is uptodate and unlocked, so fault-around never finds one still under read I/O
    (v6.18 ``next_uptodate_folio()`` skips such folios on the live kernel)."""
    from mrelease_ref.include.linux.page_flags import PG_locked, PG_uptodate

    k = Kernel(seed=0)
    f = k.create_file("data", nr_pages=4096)
    p = k.spawn("app", uid=10001)
    m = p.mmap(4096, file=f, shared=False)
    p.touch(m, nr_pages=1)
    folios = list(f.i_mapping.i_pages.values())
    assert len(folios) > 1
    assert all(x.flags & PG_uptodate and not x.flags & PG_locked for x in folios)


def test_fixed_order_model_faults_around_one_page() -> None:
    """The fixed-order model (``file_folio_order=N``) maps only the faulting page of a
    cached file; with readahead-chosen folios the fault maps the ``fault_around_bytes``
    window (64 KiB, mm/memory.c:do_fault_around())."""

    def rss_after_one_fault(**kw: int | None) -> int:
        k = Kernel(seed=0, **kw)
        f = k.create_file("lib.so", nr_pages=16)
        warm = k.spawn("warm", uid=10001)
        warm.touch(warm.mmap(16, file=f, shared=False))  # every page now cached
        p = k.spawn("app", uid=10001)
        p.touch(p.mmap(16, file=f, shared=False), nr_pages=1)
        return p.status()["RssFile"]

    assert rss_after_one_fault(file_folio_order=0) == 4
    assert rss_after_one_fault(file_folio_order=None) == 64


def test_race_worlds_are_small() -> None:
    """Notebook 04 and README: the exhaustive race worlds default to one VMA of 2 PMDs (a few
    pages each) and at most four actors (victim, caller and two of the holders)."""
    from mrelease_ref.scenarios.races import HOLDERS, RaceSpec

    spec = RaceSpec()
    assert (spec.nr_pmds, spec.pages_per_pmd) == (2, 2)
    assert len(HOLDERS) == 4


def test_race_sampling_picks_uniformly() -> None:
    """Notebook 04: seeded sampling of schedules picks uniformly among the runnable actors
    (``random.Random.choice``), not as the kernel's scheduler would."""
    from mrelease_ref.sim import explore

    assert "r.choice(en)" in inspect.getsource(explore.sample)


def test_alternatives_are_readings_of_prose() -> None:
    """Notebook 04: of the thread's alternatives to REAP_KILL only ``exit_mm_field``
    (Brauner's ``task->exit_mm`` patch) was posted as code; the others are the model's
    readings of prose [I]."""
    from mrelease_ref.variants import ALTERNATIVES, VARIANTS

    assert [a for a in ALTERNATIVES if VARIANTS[a].posted] == ["exit_mm_field"]


def test_mglru_is_source_only_with_exact_filters() -> None:
    """README: the multi-gen LRU is off by default (these machines run the classic LRU, so
    no parity scenario can check it) and its Bloom filters are exact sets."""
    from dataclasses import fields

    from mrelease_ref.include.linux.mmzone import LruGenMmState

    assert Kernel().config.lru_gen is False
    assert {f.name: f.type for f in fields(LruGenMmState)}["filters"] == \
        "dict[int, set[tuple[int, int]]]"


def test_16k_pages_keep_4k_prices_and_no_mthp() -> None:
    """README: with ``page_size=16384`` the geometry scales (tests/test_page_size.py), but
    the cost model keeps its per-event prices, calibrated on 4 KiB x86_64 pages (a 16 KiB
    page is priced as one 4 KiB page), and anonymous memory is still order 0 or PMD order:
    no multi-size THP (``hugepages-<size>kB/enabled``) and no arm64 contiguous-PTE bit."""
    k4 = Kernel()
    k16 = Kernel(arch="arm64", page_size=16384)
    assert k16.cost_model.prices_ns == k4.cost_model.prices_ns
    app = k16.spawn("app")
    m = app.mmap(64)
    app.touch(m, write=True)
    assert app.task.mm is not None
    table = next(iter(app.task.mm.pgd.values()))
    assert isinstance(table, PteTable)
    assert {pte.folio.order for pte in table if pte is not None} == {0}  # type: ignore[union-attr]
    assert not {"mthp", "anon_orders", "contpte"} & set(inspect.signature(Kernel).parameters)
