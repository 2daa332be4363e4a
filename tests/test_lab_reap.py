"""The lab's timed reap and freezer against the live kernel (docs/sources.md §M2, §M6, §M7)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess

import pytest

from mrelease_ref.lab import freezer, syscalls
from mrelease_ref.lab.reap import repeat_reap, timed_reap
from mrelease_ref.lab.victim import Kind, MappingSpec, VictimSpec, scratch_file

NR_PAGES = 4096  # 16 MiB


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


def test_mapping_spec_rejects_nonsense() -> None:
    """Specs that cannot be built are refused before a process is started."""
    with pytest.raises(ValueError):
        MappingSpec(Kind.ANON, 0)
    with pytest.raises(ValueError):
        VictimSpec.of("file_private", 1)  # no path
    with pytest.raises(ValueError):
        VictimSpec.of("anon", 8, dirty_pages=1)


@pytest.mark.realkernel
def test_v1_freezer_holds_sigkilled_task(v1_freezer: freezer.Backend) -> None:
    """A v1-frozen task is not woken by SIGKILL: it stays in D with SIGKILL pending."""
    with subprocess.Popen(["sleep", "60"]) as proc:
        try:
            with freezer.frozen(proc.pid, v1_freezer) as fz:
                assert fz.state() == "FROZEN" and fz.pids() == [proc.pid]
                os.kill(proc.pid, signal.SIGKILL)
                with pytest.raises(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.2)
                fz.thaw()
                assert proc.wait(timeout=10) == -signal.SIGKILL
            assert not fz.path.exists()
        finally:
            proc.kill()


@pytest.mark.realkernel
def test_timed_reap_anon_frees_everything(v1_freezer: freezer.Backend) -> None:
    """Anonymous memory of a dying task is unmapped and freed synchronously (RSS → 0)."""
    series = repeat_reap(VictimSpec.of("anon", NR_PAGES), reps=2, backend=v1_freezer)
    assert series.errnos == ["0", "0"]
    assert series.median_ns is not None and series.median_ns > 0
    for r in series.results:
        assert (r.before.rss_anon_kb or 0) >= NR_PAGES * 4
        assert r.after.vm_rss_kb == 0
        assert r.freezer == "v1"


@pytest.mark.realkernel
def test_timed_reap_skips_vm_shared(v1_freezer: freezer.Backend) -> None:
    """MAP_SHARED of an O_RDWR fd (VM_SHARED) is skipped: its RssFile stays; anon goes."""
    with scratch_file(NR_PAGES) as path:
        spec = VictimSpec.of("file_shared", NR_PAGES, path=str(path))
        r = timed_reap(spec, v1_freezer)
    assert r.errno == 0
    assert r.after.rss_file_kb == NR_PAGES * 4
    assert r.after.rss_anon_kb == 0


@pytest.mark.realkernel
def test_timed_reap_reports_errno_not_raise(v1_freezer: freezer.Backend) -> None:
    """process_mrelease_ns() returns errno instead of raising: EINVAL for flags=1."""
    err, ns = syscalls.process_mrelease_ns(-1, 1)
    assert err == errno.EINVAL and ns > 0
