"""The lab's syscall wrappers against the live kernel (docs/sources.md §M0, §M3, §M5).

Every ``realkernel`` test skips with the reason from ``mrelease_ref.lab.syscalls.available()``
when the lab cannot run (not Linux, not root, no process_mrelease, no freezer). Victims are
small (16 MiB) Python children; every child and freezer group is checked to be gone after
each test.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from mrelease_ref.lab import freezer, syscalls
from mrelease_ref.lab.measure import cachestat_file, fincore_pages
from mrelease_ref.lab.victim import VictimSpec, launch_victim, scratch_file, warm_file

NR_PAGES = 4096  # 16 MiB

realkernel = pytest.mark.realkernel


def _children() -> set[int]:
    out: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        path = Path(f"/proc/self/task/{tid}/children")  # CONFIG_PROC_CHILDREN
        text = path.read_text() if path.exists() else ""
        out.update(int(pid) for pid in text.split())
    return out


def _our_groups() -> list[str]:
    backend, _ = freezer.find_backend()
    if backend is None:
        return []
    prefix = f"{freezer.GROUP_PREFIX}.{os.getpid()}."
    return [p.name for p in backend.root.iterdir() if p.name.startswith(prefix)]


@pytest.fixture
def lab() -> Iterator[None]:
    """Skip unless the lab can run; afterwards, no child process and no freezer group left."""
    ok, reason = syscalls.available()
    if not ok:
        pytest.skip(reason)
    children_before = _children()
    yield
    assert _children() <= children_before, "a victim or holder process was left behind"
    assert _our_groups() == [], "a freezer group was left behind"


@pytest.fixture
def v1_freezer(lab: None) -> freezer.Backend:
    """The cgroup-v1 freezer (the only one that holds a SIGKILLed task)."""
    backend, reason = freezer.find_backend()
    if backend is None or not backend.holds_sigkill:
        pytest.skip(f"needs the cgroup-v1 freezer to hold a SIGKILLed task; have {reason}")
    return backend


def _errno_of(pidfd: int, flags: int = 0) -> int:
    try:
        syscalls.process_mrelease(pidfd, flags)
    except OSError as exc:
        return exc.errno or 0
    return 0


def test_unknown_arch_raises_enosys() -> None:
    """An architecture missing from the syscall table raises ENOSYS; alpha uses 558."""
    with pytest.raises(syscalls.UnsupportedArchError) as info:
        syscalls.syscall_numbers("mips64")
    assert info.value.errno == errno.ENOSYS
    assert "mips64" in str(info.value)
    assert syscalls.syscall_numbers("alpha").process_mrelease == 558
    assert syscalls.syscall_numbers("x86_64") == (434, 448, 451)


@realkernel
def test_flags_checked_before_fd(lab: None) -> None:
    """``flags != 0`` gives EINVAL before the fd is looked at: (fd=-1, flags=1) → EINVAL."""
    with pytest.raises(OSError) as info:
        syscalls.process_mrelease(-1, 1)
    assert info.value.errno == errno.EINVAL
    assert info.value.strerror == os.strerror(errno.EINVAL)


@realkernel
def test_non_pidfd_gives_ebadf(lab: None, tmp_path: Path) -> None:
    """An fd that is not a pidfd gives EBADF: fd=-1 and a regular file's fd."""
    assert _errno_of(-1) == errno.EBADF
    fd = os.open(tmp_path / "plain", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        assert _errno_of(fd) == errno.EBADF
    finally:
        os.close(fd)


@realkernel
def test_live_victim_gives_einval(lab: None) -> None:
    """A task that is not dying (task_will_free_mem() false) gives EINVAL; nothing is reaped."""
    with launch_victim(VictimSpec.of("anon", NR_PAGES)) as victim:
        rss = victim.status().rss_anon_kb
        assert _errno_of(victim.pidfd) == errno.EINVAL
        assert victim.status().rss_anon_kb == rss


@realkernel
def test_frozen_killed_victim_is_reaped(v1_freezer: freezer.Backend) -> None:
    """A frozen, SIGKILLed task is dying with its mm attached: the call returns 0, VmRSS → 0.

    A second call also returns 0 (docs/sources.md §M0.2).
    """
    with (
        launch_victim(VictimSpec.of("anon", NR_PAGES)) as victim,
        freezer.frozen(victim.pid, v1_freezer) as fz,
    ):
        assert (victim.status().rss_anon_kb or 0) >= NR_PAGES * 4
        victim.kill(signal.SIGKILL)
        held = victim.status()
        assert held.shd_pnd & (1 << (signal.SIGKILL - 1)), "SIGKILL should stay pending"
        syscalls.process_mrelease(victim.pidfd, 0)
        after = victim.status()
        assert after.vm_rss_kb == 0 and after.rss_anon_kb == 0
        syscalls.process_mrelease(victim.pidfd, 0)
        fz.thaw()
        assert victim.wait() == -signal.SIGKILL


@realkernel
def test_zombie_gives_esrch(lab: None) -> None:
    """A task past exit_mm() (zombie, not yet waited for) has no mm: ESRCH."""
    with launch_victim(VictimSpec.of("anon", NR_PAGES)) as victim:
        victim.kill(signal.SIGKILL)
        assert victim.exited(timeout_s=10.0)
        assert victim.status().state == "Z"
        assert _errno_of(victim.pidfd) == errno.ESRCH


@realkernel
def test_reaped_victim_gives_esrch(v1_freezer: freezer.Backend) -> None:
    """Once the victim has been reaped (waited for), its pidfd resolves to no task: ESRCH."""
    with launch_victim(VictimSpec.of("anon", NR_PAGES)) as victim:
        with freezer.frozen(victim.pid, v1_freezer) as fz:
            victim.kill(signal.SIGKILL)
            syscalls.process_mrelease(victim.pidfd, 0)
            fz.thaw()
            victim.wait()
        with pytest.raises(ProcessLookupError) as info:
            syscalls.process_mrelease(victim.pidfd, 0)
        assert info.value.errno == errno.ESRCH


@realkernel
def test_cachestat_cold_then_warm(lab: None) -> None:
    """A written, fsynced, DONTNEED'ed file has nr_cache 0; after reading it, nr_cache = N.

    mincore() on a fresh, untouched mapping and fincore(1) agree (docs/sources.md §M5 method).
    """
    with scratch_file(NR_PAGES) as path:
        cold = cachestat_file(path)
        assert (cold.nr_cache, cold.nr_dirty, cold.nr_writeback) == (0, 0, 0)
        fd = os.open(path, os.O_RDONLY)
        try:
            assert syscalls.file_mincore(fd, NR_PAGES * syscalls.PAGE_SIZE) == bytes(NR_PAGES)
            assert fincore_pages(path) in (0, None)
            warm_file(path)
            assert syscalls.cachestat(fd).nr_cache == NR_PAGES
            vec = syscalls.file_mincore(fd, NR_PAGES * syscalls.PAGE_SIZE)
            assert all(b & 1 for b in vec) and len(vec) == NR_PAGES
            assert fincore_pages(path) in (NR_PAGES, None)  # util-linux, where installed
        finally:
            os.close(fd)
