"""A port of the kernel selftest tools/testing/selftests/mm/mrelease_test.c to the model.

The C test (docs/sources.md §K8; built and run unmodified on the 6.18 machines, §M7:
60/60 PASS) does, in order:

1. ``process_mrelease(-1, 0)`` must fail with EBADF (ENOSYS → SKIP, else FAIL).
2. With ``size = 1`` MB: fork a child that mmaps ``size`` MB of private anonymous memory,
   writes one ``unsigned long`` into every page, reports "ready" through a pipe and then
   sleeps, polling ``getppid()`` for up to 10 s, waiting to be killed.
3. The parent opens a pidfd and runs the negative tests on the live child:
   ``flags = (unsigned)-1`` → EINVAL, then ``flags = 0`` (no SIGKILL pending) → EINVAL.
4. ``kill(pid, SIGKILL)``, then ``process_mrelease(pidfd, 0)`` must succeed. ESRCH means
   the child exited before the call could reap it: ``retry = size <= MAX_SIZE_MB``; any
   other errno → FAIL. Then ``waitpid()`` (always) and ``close(pidfd)``.
5. Not successful and ``retry`` → ``size *= 2`` and go to 2 (so 1, 2, 4 ... 1024 MB and one
   last attempt at 2048 MB, because the test is ``<=`` before doubling); not successful
   and not ``retry`` → FAIL "All process_mrelease attempts failed!". Success → PASS
   "Success reaping a child with %zuMB of memory allocations".

:func:`mrelease_test` follows the C control flow line by line. The model's differences:

* The pipe handshake is the program order of the test: the child has faulted its memory
  before the parent goes on. The child's ``getppid()`` polling is its default state in the
  model (sleeping in user space); the model child never times out, since it is killed.
* ``MB(x) / psize()`` is a parameter (``mb_bytes``, ``page_size``). The selftest flow at true
  scale (1 MB = 256 pages of 4 KiB) runs only the 1 MB attempt. The forced-ESRCH runs walk
  all twelve sizes up to 2048 "MB", 4095 "MB" in total; they use ``mb_bytes = page_size``
  (1 "MB" = 1 page, a 1/256 scale), which changes nothing the test checks (neither the
  control flow nor the errno depends on the size, docs/sources.md §M0.4) and keeps the
  file well under a second.
* ``child_steps(size)`` is the delay between ``kill()`` and ``process_mrelease()``: how many
  scheduler steps the killed child runs first (the race of docs/sources.md §M4). The default,
  0, is the "victim on another, idle vCPU, d=0" case: the call always gets in first.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from mrelease_ref import Kernel, Process

# tools/testing/selftests/kselftest.h
KSFT_PASS, KSFT_FAIL, KSFT_XFAIL, KSFT_XPASS, KSFT_SKIP = 0, 1, 2, 3, 4
MAX_SIZE_MB = 1024
PAGE_SIZE = 4096  # psize() = sysconf(_SC_PAGESIZE) on x86_64


def MB(x: int, mb_bytes: int) -> int:
    """``#define MB(x) (x << 20)``, with the size of one "MB" as a parameter."""
    return x * mb_bytes


@dataclass
class SelftestResult:
    """What the selftest printed and returned, plus what each attempt saw."""

    exit_code: int
    message: str
    attempts: list[tuple[int, int]] = field(default_factory=list)  # (size MB, 0 or errno)
    zombies_left: int = 0


class _Exit(Exception):
    """``ksft_exit_*()``: the test process exits with this code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _syscall_mrelease(p: Process, pidfd: int, flags: int) -> tuple[int, int]:
    """``syscall(__NR_process_mrelease, pidfd, flags)``: (return value, errno)."""
    try:
        p.process_mrelease(pidfd, flags)
    except OSError as e:
        assert e.errno is not None
        return -1, e.errno
    return 0, 0


def alloc_noexit(child: Process, nr_pages: int) -> None:
    """The child's ``alloc_noexit()`` up to the "ready" byte: mmap and fault every page."""
    buf = child.mmap(nr_pages=nr_pages, write=True)  # MAP_PRIVATE | MAP_ANON, RW
    # for (i = 0; i < nr_pages; i++) *((unsigned long *)(buf + i * psize())) = i;
    assert child.touch(buf, write=True) == nr_pages


def run_negative_tests(parent: Process, pidfd: int) -> None:
    """``run_negative_tests()``: the calls that must fail while the child is alive."""
    ret, err = _syscall_mrelease(parent, pidfd, 0xFFFFFFFF)  # (unsigned int)-1
    if ret == 0 or err != errno.EINVAL:
        raise _Exit(KSFT_FAIL, f"process_mrelease with wrong flags: {os.strerror(err)}")
    ret, err = _syscall_mrelease(parent, pidfd, 0)
    if ret == 0 or err != errno.EINVAL:
        raise _Exit(KSFT_FAIL, f"process_mrelease on a live process: {os.strerror(err)}")


def mrelease_test(
    k: Kernel,
    *,
    mb_bytes: int = 1 << 20,
    page_size: int = PAGE_SIZE,
    child_steps: Callable[[int], int] = lambda size: 0,
) -> SelftestResult:
    """``main()`` of mrelease_test.c, run by a new process ``mrelease_test`` on ``k``."""
    test = k.spawn("mrelease_test", uid=0)
    attempts: list[tuple[int, int]] = []
    children: list[Process] = []
    try:
        # /* Test a wrong pidfd */
        ret, err = _syscall_mrelease(test, -1, 0)
        if ret == 0 or err != errno.EBADF:
            if err == errno.ENOSYS:
                raise _Exit(KSFT_SKIP, "process_mrelease not implemented")
            raise _Exit(KSFT_FAIL, f"process_mrelease with wrong pidfd: {os.strerror(err)}")

        size = 1  # /* Start the test with 1MB child memory allocation */
        while True:  # retry:
            child = test.spawn_child("mrelease_test")  # fork()
            children.append(child)
            alloc_noexit(child, MB(size, mb_bytes) // page_size)  # child_main(); "ready"
            pidfd = test.pidfd_open(child.pid, 0)
            run_negative_tests(test, pidfd)
            test.kill(child.pid, signal.SIGKILL)
            for _ in range(child_steps(size)):  # the killed child runs before our call
                if not k.step(child.task):
                    break
            ret, err = _syscall_mrelease(test, pidfd, 0)
            success = ret == 0
            attempts.append((size, err))
            retry = False
            if not success:
                if err == errno.ESRCH:
                    retry = size <= MAX_SIZE_MB
                else:
                    test.waitpid(child.pid)
                    raise _Exit(KSFT_FAIL, f"process_mrelease: {os.strerror(err)}")
            test.waitpid(child.pid)  # /* Cleanup to prevent zombies */
            test.close(pidfd)
            if not success:
                if retry:
                    size *= 2
                    continue
                raise _Exit(KSFT_FAIL, "All process_mrelease attempts failed!")
            raise _Exit(
                KSFT_PASS, f"Success reaping a child with {size}MB of memory allocations"
            )
    except _Exit as done:
        zombies = sum(c.state == "zombie" for c in children)
        return SelftestResult(done.code, done.message, attempts, zombies)


def new_kernel() -> Kernel:
    """The 6.18 test VM (docs/sources.md §M1.1), invariants checked at every step."""
    return Kernel(variant="baseline", swap=True, arch="x86_64", large_folios=False, seed=0,
                  debug_vm=True, trace=True)


# --- the selftest as it runs -----------------------------------------------------------------


def test_selftest_passes_at_1mb_as_on_the_real_machines() -> None:
    """The selftest flow, unforced: PASS on the first attempt, at 1 MB.

    Kernel rule: kill() sets SIGNAL_GROUP_EXIT in the sender's context, so a call made right
    after it, before the child has run exit_mm(), finds a dying task with its mm and reaps
    it (docs/sources.md §K1.1, §K1.3). Source: §M7 "60/60 runs PASS (exit 0). It first
    succeeded at 1 MB in 52 runs"; sample output "Success reaping a child with 1MB of memory
    allocations"; strace "process_mrelease(3, 0xffffffff) = -1 EINVAL, process_mrelease(3,
    0) = -1 EINVAL (live), kill(SIGKILL), process_mrelease(3, 0) = 0".
    """
    k = new_kernel()
    res = mrelease_test(k)
    assert (res.exit_code, res.message) == (
        KSFT_PASS, "Success reaping a child with 1MB of memory allocations"
    )
    assert res.attempts == [(1, 0)]
    assert res.zombies_left == 0


def test_selftest_reaps_the_whole_child_before_waitpid() -> None:
    """The successful call reaps all of the child's MB(size)/psize() pages before the
    test's waitpid(), i.e. the memory is freed by process_mrelease, not by the exit.

    Kernel rule: the reap runs synchronously in the caller and frees every anonymous page
    (docs/sources.md §K1.1, §K1.4). Source: docs/sources.md §M0.2; the selftest itself checks only
    the return value (docs/sources.md §K8: "no check of how much memory was freed").
    """
    k = new_kernel()
    trace_start = len(k.trace)
    res = mrelease_test(k)
    assert res.exit_code == KSFT_PASS
    lines = [str(e) for e in k.trace[trace_start:]]
    zap = next(i for i, ln in enumerate(lines) if "__oom_reap_task_mm: zap" in ln)
    mmput = next(i for i, ln in enumerate(lines) if "__mmput:" in ln)
    assert zap < mmput  # the caller reaped before the child's own exit_mmap ran
    assert lines[zap].split()[0].startswith("mrelease_test-")


def test_selftest_negative_tests_see_einval_on_the_live_child() -> None:
    """run_negative_tests(): both calls fail with EINVAL on the live child, and neither
    touches its memory.

    Kernel rule: flags != 0 → EINVAL before anything else; a live task without a pending
    SIGKILL is not dying → EINVAL (docs/sources.md §K1.1, §K8). Source: docs/sources.md §M7 strace
    "process_mrelease(3, 0xffffffff) = -1 EINVAL", "process_mrelease(3, 0) = -1 EINVAL".
    """
    k = new_kernel()
    parent = k.spawn("mrelease_test", uid=0)
    child = parent.spawn_child("mrelease_test")
    nr_pages = MB(1, 1 << 20) // PAGE_SIZE
    alloc_noexit(child, nr_pages)
    pidfd = parent.pidfd_open(child.pid, 0)
    run_negative_tests(parent, pidfd)  # raises _Exit(KSFT_FAIL) on any other outcome
    assert child.status()["RssAnon"] == nr_pages * PAGE_SIZE // 1024


# --- the ESRCH path: retry with doubled size ---------------------------------------------------

SCALED = dict(mb_bytes=PAGE_SIZE, page_size=PAGE_SIZE)  # 1 "MB" = 1 page: a 1/256 scale
FOREVER = 10_000  # more steps than any child needs to exit completely


def steps_to_exit_mm(nr_pages: int) -> int:
    """How many scheduler steps a SIGKILLed child with ``nr_pages`` runs until its
    ``exit_mm()`` has cleared ``task->mm`` (measured on a separate probe machine)."""
    k = new_kernel()
    parent = k.spawn("probe", uid=0)
    child = parent.spawn_child("child")
    alloc_noexit(child, nr_pages)
    parent.kill(child.pid, signal.SIGKILL)
    n = 0
    while child.task.mm is not None:
        assert k.step(child.task)
        n += 1
    return n


@pytest.mark.parametrize("losses", [1, 2], ids=["pass-at-2MB", "pass-at-4MB"])
def test_selftest_esrch_then_pass_after_doubling(losses: int) -> None:
    """The child wins the race ``losses`` times (ESRCH); the test doubles the size each time
    and then passes, at 2 MB or 4 MB (true scale: 1 MB = 256 pages).

    Kernel rule: once the child has run exit_mm(), find_lock_task_mm() finds no mm and the
    call gives ESRCH; the retry loop exists because of that race (docs/sources.md §K2.3, §K8).
    Source: docs/sources.md §M7 "It first succeeded at 1 MB in 52 runs, needed one doubling to
    2 MB in 6 and reached 4 MB in 2"; "Its ESRCH retry loop exists because of the race in
    §K4".
    """
    lost = [1 << i for i in range(losses)]
    k = new_kernel()
    res = mrelease_test(k, child_steps=lambda size: FOREVER if size in lost else 0)
    passed_at = 1 << losses
    assert res.attempts == [(size, errno.ESRCH) for size in lost] + [(passed_at, 0)]
    assert (res.exit_code, res.message) == (
        KSFT_PASS, f"Success reaping a child with {passed_at}MB of memory allocations"
    )
    assert res.zombies_left == 0


@pytest.mark.parametrize("scale", [SCALED, dict(mb_bytes=2 * PAGE_SIZE, page_size=PAGE_SIZE)],
                         ids=["1MB=1page", "1MB=2pages"])
def test_selftest_always_losing_stops_after_1024mb_plus_one_attempt(
    scale: dict[str, int],
) -> None:
    """Forcing ESRCH on every attempt (the child exits completely before each call): the
    test doubles 1, 2, 4 ... 1024 MB, makes one last attempt at 2048 MB (``retry = size <=
    MAX_SIZE_MB`` is tested before doubling), then fails with "All process_mrelease
    attempts failed!", leaving no zombie behind.

    Kernel rule: a child that has exited has no mm → ESRCH (docs/sources.md §K1.1, §K2.3). Source:
    the selftest's control flow (docs/sources.md §K8: "1, 2, 4 … 1024 MB, then one last attempt at
    2048 MB because the check is `<=` before doubling; else FAIL 'All process_mrelease
    attempts failed!'"). Sizes scaled as documented in the module.
    """
    k = new_kernel()
    res = mrelease_test(k, child_steps=lambda size: FOREVER, **scale)
    expected_sizes = [1 << i for i in range((MAX_SIZE_MB * 2).bit_length())]
    assert expected_sizes[0] == 1 and expected_sizes[-1] == 2 * MAX_SIZE_MB
    assert res.attempts == [(size, errno.ESRCH) for size in expected_sizes]
    assert (res.exit_code, res.message) == (KSFT_FAIL, "All process_mrelease attempts failed!")
    assert res.zombies_left == 0  # waitpid() ran after every attempt


def test_selftest_doubling_does_not_move_the_cut_off() -> None:
    """The selftest doubles the child "which causes it to spend more time on cleanup and
    increases our chances": with a fixed delay between kill() and the call, it does not.
    A delay that reaches exit_mm() loses at every size; one step less wins at 1 MB.

    Kernel rule: exit_mm() clears task->mm before exit_mmap() frees anything, so a bigger
    child only makes exit_mmap() longer, after the point that decides the race (docs/sources.md
    §K2.3). Source: docs/sources.md §M0.4 ("decided by whether the call gets in before the
    victim runs exit_mm(), not by how much memory the victim has"); §K4 "N does not move the
    cut-off, because exit_mm clears task->mm before exit_mmap frees anything".
    """
    scale = SCALED
    delay = steps_to_exit_mm(MB(1, scale["mb_bytes"]) // scale["page_size"])
    assert delay == steps_to_exit_mm(MB(MAX_SIZE_MB, scale["mb_bytes"]) // scale["page_size"])
    losing = mrelease_test(new_kernel(), child_steps=lambda size: delay, **scale)
    assert {err for _, err in losing.attempts} == {errno.ESRCH}
    assert losing.attempts[-1][0] == 2 * MAX_SIZE_MB and losing.exit_code == KSFT_FAIL
    winning = mrelease_test(new_kernel(), child_steps=lambda size: delay - 1, **scale)
    assert winning.attempts == [(1, 0)] and winning.exit_code == KSFT_PASS
