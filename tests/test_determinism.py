"""Determinism: the same seed and scenario give the same machine, byte for byte; and reprs
never leak ``id()`` addresses (docs/conventions.md §C2).

Not kernel behaviour: these are properties of the model that make traces comparable
(golden traces, notebooks) and reprs stable across runs.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mrelease_ref import Kernel
from mrelease_ref.include.linux.mm_types import HPAGE_PMD_NR, Pte, PteTable
from mrelease_ref.kernel.sched import Wait
from mrelease_ref.mm import oom_kill

REPO = Path(__file__).resolve().parent.parent
MADV_PAGEOUT = 21


def scenario(seed: int) -> Kernel:
    """A busy machine: faults (pages chosen by the seeded RNG), threads, a CLONE_VM sharer,
    a /proc reader pinning mm_users, a kill raced with process_mrelease(), a core dump, the
    kernel OOM reaper's 2 s timer, and writeback completed by the I/O worker."""
    k = Kernel(seed=seed, trace=True, debug_vm=True, swap_mib=16)
    f = k.create_file("app.apk", nr_pages=1024)
    db = k.create_file("app.db", nr_pages=64)
    lmkd = k.spawn("lmkd", uid=0)
    app = k.spawn("app", uid=10001)
    anon = app.mmap(512)
    code = app.mmap(1024, file=f, shared=False)
    shared = app.mmap(64, file=db, shared=True)
    thp = app.mmap(HPAGE_PMD_NR, thp=True)
    for page in sorted(k.rng.sample(range(anon.nr_pages), 200)):
        app.touch(anon, write=True, start=page, nr_pages=1)
    app.touch(code, start=k.rng.randrange(512), nr_pages=256)
    app.touch(shared, write=True)
    app.touch(thp, write=True)
    app.madvise(anon, MADV_PAGEOUT)
    app.touch(anon, start=0, nr_pages=64)
    app.clone_thread()
    sharer = app.clone_vm("sharer")
    reader = k.spawn("reader")
    read = reader.read_proc(app.pid, "cmdline", block=True)

    fd = lmkd.pidfd_open(app.pid)
    lmkd.kill(app.pid, signal.SIGKILL)
    lmkd.kill(sharer.pid, signal.SIGKILL)
    k.step()  # let the victim get a step ahead of the reap
    lmkd.process_mrelease(fd, 0)
    k.run()
    read.release()

    dumper = k.spawn("dumper", uid=10002)
    dumper.touch(dumper.mmap(16), write=True)
    lmkd.kill(dumper.pid, signal.SIGSEGV)

    frozen = k.spawn("frozen", uid=10003)
    frozen.touch(frozen.mmap(32), write=True)
    frozen.freeze()
    with k.running(k.kthreadd):
        oom_kill.__oom_kill_process(frozen.task)

    writer = k.spawn("writer")
    wfd = writer.open(db)
    writer.posix_fadvise(wfd, 0, 0, os.POSIX_FADV_DONTNEED)
    k.run()
    return k


def fingerprint(k: Kernel) -> dict[str, Any]:
    return {
        "trace": k.trace_text(),
        "steps": [(s.ts_ns, s.pid, s.comm, s.label, s.cost_ns) for s in k.steps],
        "meminfo": k.meminfo(),
        "zoneinfo": k.zoneinfo(),
        "vm_events": dict(sorted(k.vm_events.items())),
        "vmstat": list(k.vmstat),
        "clock_ns": k.clock_ns,
        "pfns": sorted(f.pfn for i in k.inodes for f in i.i_mapping.i_pages.values()),
        "tasks": [(t.pid, t.comm, t.exit_state, t.flags) for t in k.tasks],
    }


def test_same_seed_same_machine() -> None:
    """Two Kernels built from the same seed and driven by the same calls end in identical
    traces, scheduler steps, meminfo, vm events, vmstat and clocks."""
    a, b = fingerprint(scenario(7)), fingerprint(scenario(7))
    assert a["trace"] and a["clock_ns"] >= oom_kill.OOM_REAPER_DELAY_NS
    for key in a:
        assert a[key] == b[key], key


def test_the_seed_is_what_varies() -> None:
    """The model takes its randomness only from ``Kernel.rng``: a different seed gives a
    different scenario (other pages touched), so the test above is not vacuous."""
    a, b = fingerprint(scenario(7)), fingerprint(scenario(8))
    assert a["trace"] != b["trace"] or a["vm_events"] != b["vm_events"]


_CHILD = """
import hashlib, json, sys
sys.path.insert(0, {tests!r})
from test_determinism import fingerprint, scenario
fp = fingerprint(scenario(7))
print(hashlib.sha256(json.dumps(fp, sort_keys=True, default=str).encode()).hexdigest())
"""


def test_same_seed_same_machine_across_interpreters() -> None:
    """Nothing depends on ``hash()`` randomisation or object addresses: interpreters with
    different PYTHONHASHSEED values produce the same fingerprint."""
    digests = set()
    for hashseed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        out = subprocess.run(
            [sys.executable, "-c", _CHILD.format(tests=str(REPO / "tests"))],
            cwd=REPO, env=env, capture_output=True, text=True, check=True,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1
    local = json.dumps(fingerprint(scenario(7)), sort_keys=True, default=str)
    assert local  # the in-process fingerprint serialises the same way


# --- reprs --------------------------------------------------------------------------------------


def _model_objects(root: object) -> list[object]:
    """Every object of a class defined in mrelease_ref reachable from ``root``."""
    seen: dict[int, object] = {}
    found: list[object] = []
    stack = [root]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, str | bytes | int | float | bool | type(None)):
            continue
        seen[id(o)] = o
        if isinstance(o, dict):
            stack += list(o.keys()) + list(o.values())
            continue
        if isinstance(o, list | tuple | set | frozenset):
            stack += list(o)
            continue
        if not type(o).__module__.startswith("mrelease_ref"):
            continue
        found.append(o)
        if dataclasses.is_dataclass(o):
            stack += [getattr(o, f.name) for f in dataclasses.fields(o)]
        for cls in type(o).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if hasattr(o, slot):
                    stack.append(getattr(o, slot))
        if hasattr(o, "__dict__"):
            stack += list(vars(o).values())
    return found


_HEX = re.compile(r"0x([0-9a-fA-F]{8,})")


def _address_leaks(objects: Sequence[object]) -> list[str]:
    ids = {id(o) for o in objects} | {id(o) for o in gc.get_objects()}
    leaks = []
    for o in objects:
        text = repr(o)
        if " at 0x" in text or any(int(h, 16) in ids for h in _HEX.findall(text)):
            leaks.append(f"{type(o).__qualname__}: {text[:160]}")
    return leaks


@pytest.fixture(scope="module")
def busy() -> Kernel:
    k = scenario(3)
    k.hold_coredumps = True  # keep a core dump (signal->core_state) in flight
    dumper = k.spawn("dumper2", uid=10004)
    dumper.touch(dumper.mmap(8), write=True)
    dumper.kill(dumper.pid, signal.SIGSEGV)
    keeper = k.spawn("keeper", uid=10005)  # stays alive with pages out on swap
    m = keeper.mmap(16)
    keeper.touch(m, write=True)
    k.lru_add_drain_all()
    keeper.madvise(m, MADV_PAGEOUT)
    k.run()
    return k


def test_reprs_of_model_structs_show_no_addresses(busy: Kernel) -> None:
    """docs/conventions.md §C2: a repr shows pid/pfn, never ``0x…`` addresses: no repr of a model
    struct reachable from the Kernel contains the id() of a live object. (Virtual
    addresses such as ``Vma(0x1000000000-...)`` are fine: they are not ids.) The scheduler's
    Wait markers are covered by the test below."""
    objects = [o for o in _model_objects(busy) if not isinstance(o, Wait)]
    kinds = {type(o).__qualname__ for o in objects}
    assert {"Kernel", "TaskStruct", "MmStruct", "VmAreaStruct", "Folio", "PteTable",
            "AddressSpace", "Inode", "File", "Pid", "SignalStruct", "CoreState",
            "SwpEntry", "SwapInfoStruct", "TraceEvent", "StepRecord"} <= kinds
    # a present PTE is a value in its table's slot: read the Pte snapshots (ptep_get())
    ptes = [e for o in objects if isinstance(o, PteTable) for e in o if isinstance(e, Pte)]
    assert ptes
    assert _address_leaks(objects + ptes) == []


def test_repr_of_a_sleeping_tasks_wait_shows_no_address(busy: Kernel) -> None:
    """docs/conventions.md §C2: reprs never show ``0x…`` addresses -- including the wait a
    sleeping task holds (TaskStruct.waiting), e.g. the oom_reaper kthread's ``oom_reaper_wait``."""
    waits = [o for o in _model_objects(busy) if isinstance(o, Wait)]
    assert waits
    assert _address_leaks(waits) == []
