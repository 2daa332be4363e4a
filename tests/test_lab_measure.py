"""The lab's memory probes and mm holder against the live kernel (docs/sources.md §M4.4)."""

from __future__ import annotations

import errno
import os
import signal

import pytest

from mrelease_ref.lab import freezer, syscalls
from mrelease_ref.lab.measure import (
    ProcHolder,
    free_pages_with_pcp,
    meminfo,
    pcp_count_pages,
    smaps_rollup,
)
from mrelease_ref.lab.victim import VictimSpec, launch_victim

NR_PAGES = 32768  # 128 MiB: large against the noise of a shared VM


@pytest.fixture
def v1_freezer() -> freezer.Backend:
    """Skip unless the lab runs here with the cgroup-v1 freezer."""
    ok, reason = syscalls.available()
    if not ok:
        pytest.skip(reason)
    backend, reason = freezer.find_backend()
    if backend is None or not backend.holds_sigkill:
        pytest.skip(f"needs the cgroup-v1 freezer; have {reason}")
    return backend


@pytest.mark.realkernel
def test_probes_parse() -> None:
    """/proc/vmstat, zoneinfo pagesets, meminfo and smaps_rollup parse into integers."""
    assert free_pages_with_pcp() >= pcp_count_pages() >= 0
    info = meminfo()
    assert info["MemTotal"] > 0 and "AnonPages" in info
    assert smaps_rollup(os.getpid())["Rss"] > 0


@pytest.mark.realkernel
def test_holder_keeps_zombie_memory(v1_freezer: freezer.Backend) -> None:
    """A /proc reader pinning mm_users: the exited victim gives ESRCH, memory stays allocated.

    It is freed only when the holder drops its reference (exit_mmap in the holder).
    """
    with launch_victim(VictimSpec.of("anon", NR_PAGES)) as victim, ProcHolder(victim.pid) as h:
        free0 = free_pages_with_pcp()
        victim.kill(signal.SIGKILL)
        assert victim.exited(timeout_s=10.0)
        free1 = free_pages_with_pcp()
        with pytest.raises(ProcessLookupError):
            syscalls.process_mrelease(victim.pidfd, 0)
        h.release()
        free2 = free_pages_with_pcp()
    assert free1 - free0 < NR_PAGES // 2, "exit freed the pinned memory"
    assert free2 - free1 > NR_PAGES // 2, "releasing the holder did not free the memory"


@pytest.mark.realkernel
def test_holder_does_not_change_errno_of_frozen_victim(v1_freezer: freezer.Backend) -> None:
    """An outside mm_users reference changes nothing: frozen+SIGKILL still reaps (0, RSS 0)."""
    with (
        launch_victim(VictimSpec.of("anon", NR_PAGES)) as victim,
        freezer.frozen(victim.pid, v1_freezer) as fz,
        ProcHolder(victim.pid, "mem") as h,
    ):
        victim.kill(signal.SIGKILL)
        err, _ = syscalls.process_mrelease_ns(victim.pidfd, 0)
        assert err == 0, errno.errorcode.get(err)
        assert victim.status().vm_rss_kb == 0
        h.release()
        fz.thaw()
        victim.wait()
