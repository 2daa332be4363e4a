"""A random walk over the whole public API, for every variant and configuration (issue 8 §4).

A hypothesis ``RuleBasedStateMachine``. Rules: spawn, fork (with setuid), clone (threads,
CLONE_VM and vfork sharers), every mmap kind (anonymous, file private/shared/read-only,
shmem, THP, MAP_LOCKED, hugetlb, PFN map, memfd), touch/poke/peek, madvise over ranges with
every advice (FREE, DONTNEED, COLD, PAGEOUT included), mprotect, mlock/munlock/mlockall,
munmap of ranges, mincore, smaps, memfd_create/ftruncate/mmap_fd, read()/write()/fsync(),
/proc/<pid>/{cmdline,environ,mem} readers and held /proc/<pid>/mem handles, kill/tgkill/
tkill with any signal, pidfd_open (PIDFD_THREAD, PIDFD_NONBLOCK), pidfd_send_signal with
any flags, process_mrelease() with any flags from any caller, the OOM killer, the freezer
and how a task sleeps, sigaction/sigprocmask, exit, waitpid, step/run, writeback,
reclaim, fadvise. The configuration is drawn too: every variant (the series and the
thread's alternatives), x86_64/arm64/s390, swap on/off, the classic LRU or MGLRU,
readahead-sized or fixed-order file folios, overcommit modes, a hugetlb pool or none.

After every rule the invariant checker runs (``debug_vm``) and every ``OSError`` carries an
errno that the v6.18 function named in :data:`ERRNOS` can return for that call; the other
exceptions a call may raise are TypeError/ValueError (misuse of the Python API, or a
valid call the model does not carry out) and Deadlock (a call that would sleep forever).
Baseline v6.18 never reaps an mm a live task uses, so there ``Kernel.findings`` stays
empty. Teardown: every process thawed, killed and reaped, caches written back and
dropped: every page is back in the free pool and no mm, /proc handle, pid, task or memfd
inode is left.

``test_api_walk`` runs the walk for each variant with a small budget in ``make test``.
``MRELEASE_STATEMACHINE_EXAMPLES`` sets the number of walks per variant,
``MRELEASE_STATEMACHINE_STEPS`` their length (default 40) and ``MRELEASE_STATEMACHINE_SEED``
makes them random from that seed (default: hypothesis' fixed derandomized walks, the same
in every run); ``MRELEASE_STATEMACHINE_SHRINK=0`` reports a failing walk unshrunk.
Failing examples the large runs found are the regression tests in
``tests/test_reliability.py`` (section "found by the walk").
"""

from __future__ import annotations

import errno
import os
import signal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    invariant,
    precondition,
    rule,
)

from mrelease_ref import Deadlock, Kernel, Mapping
from mrelease_ref.include.linux.sched import PF_KTHREAD
from mrelease_ref.mm import madvise as madv
from mrelease_ref.sim.invariants import check_invariants, leaked_pages
from mrelease_ref.sim.process import Process, ProcMem, ProcRead
from mrelease_ref.variants import VARIANTS

EXAMPLES = int(os.environ.get("MRELEASE_STATEMACHINE_EXAMPLES", "3"))
STEPS = int(os.environ.get("MRELEASE_STATEMACHINE_STEPS", "40"))
SEED = os.environ.get("MRELEASE_STATEMACHINE_SEED")  # set: random walks from this seed
SHRINK = os.environ.get("MRELEASE_STATEMACHINE_SHRINK", "1") != "0"  # 0: report unshrunk
EXPECTED = (OSError, ValueError, TypeError, Deadlock)
KINDS = ("anon", "file", "file-shared", "file-ro", "file-ro-fd", "shmem", "thp", "locked",
         "hugetlb", "pfnmap", "memfd-shared", "memfd-private")
ALL_VARIANTS = tuple(VARIANTS)
REAP_KILL_VARIANTS = ("rfc", "v1", "d", "v2", "v3")

E = errno
ERRNOS: dict[str, frozenset[int]] = {
    # call: the errnos the v6.18 function named can return for it (model-side subset)
    # mm/mmap.c:do_mmap(), mm/vma.c:mmap_region(), mm/util.c:__vm_enough_memory(),
    # mm/hugetlb.c:hugetlb_reserve_pages(), mm/util.c:vm_mmap_pgoff() (killable lock)
    "mmap": frozenset({E.ENOMEM, E.EACCES, E.EINVAL, E.EINTR, E.ENODEV, E.EBADF}),
    # mm/vma.c:do_vmi_munmap(), __vm_munmap() (mmap_write_lock_killable())
    "munmap": frozenset({E.EINVAL, E.ENOMEM, E.EINTR}),
    # mm/madvise.c:do_madvise(), madvise_walk_vmas(), madvise_dontneed_free_valid_vma()
    "madvise": frozenset({E.EINVAL, E.ENOMEM, E.EAGAIN, E.EPERM, E.EINTR}),
    # mm/mprotect.c:do_mprotect_pkey(), mprotect_fixup()
    "mprotect": frozenset({E.EINVAL, E.ENOMEM, E.EACCES, E.EINTR}),
    # mm/mlock.c:do_mlock(), apply_vma_lock_flags(), SYSCALL_DEFINE2(munlock)
    "mlock": frozenset({E.EINVAL, E.ENOMEM, E.EPERM, E.EINTR, E.EAGAIN}),
    "munlock": frozenset({E.EINVAL, E.ENOMEM, E.EINTR}),
    # mm/mlock.c:SYSCALL_DEFINE1(mlockall)
    "mlockall": frozenset({E.EINVAL, E.ENOMEM, E.EPERM, E.EINTR}),
    # mm/memfd.c:SYSCALL_DEFINE2(memfd_create)
    "memfd_create": frozenset({E.EINVAL, E.EFAULT, E.ENOMEM, E.EMFILE}),
    # fs/open.c:do_ftruncate(), mm/shmem.c:shmem_setattr()
    "ftruncate": frozenset({E.EBADF, E.EINVAL, E.EPERM, E.EFBIG}),
    # mm/mincore.c:SYSCALL_DEFINE3(mincore)
    "mincore": frozenset({E.EINVAL, E.ENOMEM, E.EFAULT, E.EAGAIN}),
    # the model's page access: SIGSEGV/SIGBUS delivered, then EFAULT (a faulting access)
    "poke": frozenset({E.EFAULT}),
    "peek": frozenset({E.EFAULT}),
    # mm/filemap.c:filemap_read(), generic_perform_write(), fs/read_write.c:ksys_pread64()
    "read": frozenset({E.EBADF, E.EINVAL, E.ENOMEM, E.EFAULT, E.EIO, E.EINTR}),
    "write": frozenset({E.EBADF, E.EINVAL, E.ENOMEM, E.EFAULT, E.EIO, E.EINTR, E.ENOSPC,
                        E.EFBIG}),
    # mm/filemap.c:file_write_and_wait_range(), fs/sync.c:vfs_fsync_range()
    "fsync": frozenset({E.EBADF, E.EINVAL, E.EIO}),
    # mm/fadvise.c:generic_fadvise(), ksys_fadvise64_64()
    "posix_fadvise": frozenset({E.EBADF, E.EINVAL, E.ESPIPE}),
    # fs/open.c:do_sys_open() (files of create_file() exist), fs/file.c:close_fd()
    "open": frozenset({E.EMFILE, E.ENFILE}),
    "close": frozenset({E.EBADF}),
    # fs/proc/base.c:proc_pid_lookup() (ENOENT), proc_mem_open() -> kernel/fork.c:mm_access()
    # (EACCES, ESRCH while exiting; mm_access() gives -EACCES/-ESRCH), mem_rw() (EIO, EFAULT)
    "proc_mem_open": frozenset({E.ENOENT, E.EACCES, E.ESRCH, E.EPERM}),
    "proc_mem_rw": frozenset({E.ENOENT, E.EACCES, E.ESRCH, E.EPERM, E.EIO, E.EFAULT,
                              E.ENOMEM}),
    # fs/proc/base.c:proc_pid_cmdline_read(), environ_read(), mem_read() and their opens
    "read_proc": frozenset({E.ENOENT, E.EACCES, E.ESRCH, E.EPERM, E.EIO}),
    # kernel/pid.c:SYSCALL_DEFINE2(pidfd_open), pidfd_create(); kernel/fork.c:pidfd_prepare()
    # (ENOENT: a thread's pid without PIDFD_THREAD)
    "pidfd_open": frozenset({E.EINVAL, E.ESRCH, E.ENOENT, E.EMFILE, E.ENFILE, E.ENOMEM}),
    # kernel/signal.c:kill_something_info(), check_kill_permission(), group_send_sig_info()
    "kill": frozenset({E.EINVAL, E.EPERM, E.ESRCH}),
    # kernel/signal.c:do_send_specific(), SYSCALL_DEFINE3(tgkill), SYSCALL_DEFINE2(tkill)
    "tgkill": frozenset({E.EINVAL, E.EPERM, E.ESRCH, E.EAGAIN}),
    "tkill": frozenset({E.EINVAL, E.EPERM, E.ESRCH, E.EAGAIN}),
    # kernel/signal.c:SYSCALL_DEFINE4(pidfd_send_signal), do_pidfd_send_signal()
    "pidfd_send_signal": frozenset({E.EINVAL, E.EBADF, E.ESRCH, E.EPERM, E.EFAULT}),
    # mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease) (pidfd_get_task(): EBADF, ESRCH)
    "process_mrelease": frozenset({E.EINVAL, E.EBADF, E.ESRCH, E.EINTR, E.EAGAIN}),
    # kernel/signal.c:do_sigaction()
    "sigaction": frozenset({E.EINVAL}),
    # kernel/exit.c:kernel_wait4(), do_wait()
    "waitpid": frozenset({E.ECHILD, E.EINTR, E.EINVAL}),
    # kernel/fork.c:copy_process() (-ERESTARTNOINTR is seen as EINTR), dup_mm()
    "fork": frozenset({E.EINTR, E.ENOMEM, E.EAGAIN}),
    "clone": frozenset({E.EINTR, E.ENOMEM, E.EAGAIN}),
}
# The series' process_mrelease(PROCESS_MRELEASE_REAP_KILL): kill_pid() can refuse
# (check_kill_permission(): EPERM); v3's kill_all_shared_mm() returns EBUSY.
MRELEASE_EXTRA: dict[str, frozenset[int]] = {
    v: frozenset({E.EPERM} | ({E.EBUSY} if v == "v3" else set())) for v in REAP_KILL_VARIANTS
}
NOWHERE = Mapping(0x7F00_0000_0000, 1, "nowhere")  # mapped by no process


def allowed_errnos(call: str, variant: str) -> frozenset[int]:
    """The errnos ``call`` may fail with under ``variant`` (see :data:`ERRNOS`)."""
    extra = MRELEASE_EXTRA.get(variant, frozenset()) if call == "process_mrelease" else set()
    return ERRNOS[call] | extra


class ApiWalk(RuleBasedStateMachine):
    """The state: one Kernel, the processes made so far, their mappings and descriptors."""

    procs = Bundle("procs")
    maps = Bundle("maps")
    pidfds = Bundle("pidfds")
    files = Bundle("files")

    variants: tuple[str, ...] = ALL_VARIANTS

    def __init__(self) -> None:
        super().__init__()
        self.k: Kernel | None = None
        self.reads: list[ProcRead] = []
        self.mem_handles: list[ProcMem] = []
        self.inodes: list[Any] = []

    @property
    def kern(self) -> Kernel:
        assert self.k is not None
        return self.k

    def _call(self, call: str, fn: Any, *args: object, **kw: object) -> object:
        """Make one API call; an OSError must carry an errno the kernel can return."""
        try:
            return fn(*args, **kw)
        except OSError as e:
            ok = allowed_errnos(call, self.kern.config.variant)
            assert e.errno in ok, (
                f"{call} failed with {errno.errorcode.get(e.errno or 0, e.errno)} ({e}); the "
                f"kernel's answers are {sorted(errno.errorcode[n] for n in ok)}")
            return None
        except EXPECTED:
            return None

    # --- boot and processes ----------------------------------------------------------------

    @initialize(target=procs, data=st.data())
    def boot(self, data: st.DataObject) -> Process:
        d = data.draw
        variant = d(st.sampled_from(self.variants), label="variant")
        arch = d(st.sampled_from(("x86_64", "arm64") if variant == "d"
                                 else ("x86_64", "arm64", "s390")), label="arch")
        swap = d(st.booleans(), label="swap")
        cfg: dict[str, Any] = {
            "large_folios": d(st.booleans(), label="large_folios"),
            "swap": swap, "swap_mib": d(st.sampled_from((0, 16)), label="swap_mib") if swap else 0,
            "overcommit_memory": d(st.sampled_from((0, 1, 2)), label="overcommit"),
            "file_folio_order": d(st.sampled_from((None, None, 0, 6, 9)), label="order"),
            "read_ahead_kb": d(st.sampled_from((8192, 128, 0)), label="read_ahead_kb"),
            "lru_gen": d(st.booleans(), label="lru_gen"),
            "nr_hugepages": d(st.sampled_from((0, 1)), label="nr_hugepages"),
            "mm_id": d(st.booleans(), label="mm_id"),
            "oom_reap_reverse": d(st.booleans(), label="oom_reap_reverse"),
            "nr_cpus": d(st.sampled_from((1, 2)), label="nr_cpus"),
        }
        if variant in ("rfc", "v1"):
            cfg["patches"] = d(st.sampled_from((None, 1, 2)), label="patches")
        options = d(st.booleans(), label="options")
        self.k = Kernel(variant, debug_vm=True, mem_mib=64, arch=arch, fast_paths=not options,
                        swapcache_fix=options, d_details="intended" if options else "as_posted",
                        **cfg)
        self.files_ = [self.k.create_file(f"f{i}", 64) for i in range(2)]
        return self.k.spawn("root0")

    @rule(target=procs, uid=st.sampled_from((0, 10001, 10002)), parent=st.none() | procs,
          new_ns=st.booleans())
    def spawn(self, uid: int, parent: Process | None, new_ns: bool) -> Process:
        if parent is not None:
            got = self._call("clone", parent.spawn_child, "child", uid)
        elif new_ns:  # the first process of a new pid namespace is its init
            got = self._call("clone", self.kern.spawn, "nsinit", uid,
                             pid_ns=self.kern.create_pid_ns())
        else:
            got = self._call("clone", self.kern.spawn, "app", uid)
        return got if isinstance(got, Process) else self.kern.spawn("spare", uid)

    @rule(target=procs, p=procs, how=st.sampled_from(("thread", "vm", "vfork")))
    def clone(self, p: Process, how: str) -> Process:
        got = (self._call("clone", p.clone_thread) if how == "thread"
               else self._call("clone", p.clone_vm, "sharer", vfork=how == "vfork"))
        return got if isinstance(got, Process) else p

    @rule(target=procs, p=procs, uid=st.none() | st.sampled_from((0, 10001, 10003)))
    def fork(self, p: Process, uid: int | None) -> Process:
        got = self._call("fork", p.fork, uid=uid)
        return got if isinstance(got, Process) else p

    # --- memory --------------------------------------------------------------------------

    @rule(target=maps, p=procs, kind=st.sampled_from(KINDS), n=st.integers(1, 40),
          off=st.integers(0, 8))
    def mmap(self, p: Process, kind: str, n: int, off: int) -> tuple[Process, Mapping]:
        f = self.files_[n % 2]
        got: object = None
        if kind.startswith("memfd"):
            fd = self._call("memfd_create", p.memfd_create, "walk")
            if isinstance(fd, int):
                self._call("ftruncate", p.ftruncate, fd, (n + off) << 12)
                got = self._call("mmap", p.mmap_fd, fd, n, kind == "memfd-shared")
                self._call("close", p.close, fd)
        else:
            kw: dict[str, object] = {
                "anon": {}, "file": {"file": f, "offset": off},
                "file-shared": {"file": f, "shared": True},
                "file-ro": {"file": f, "write": False},
                "file-ro-fd": {"file": f, "shared": True, "write": False, "fd_write": False},
                "shmem": {"shared": True}, "thp": {"thp": True}, "locked": {"locked": True},
                "hugetlb": {"hugetlb": True}, "pfnmap": {"file": f, "pfnmap": True},
            }[kind]  # type: ignore[assignment]
            got = self._call("mmap", p.mmap, n, **kw)
        return p, got if isinstance(got, Mapping) else NOWHERE

    @rule(pm=maps, who=st.none() | procs, write=st.booleans(), start=st.integers(0, 40),
          n=st.none() | st.integers(0, 40))
    def touch(self, pm: tuple[Process, Mapping], who: Process | None, write: bool,
              start: int, n: int | None) -> None:
        p, m = pm
        start = min(start, m.nr_pages - 1)
        n = None if n is None else min(n, m.nr_pages - start)
        self._call("poke", (who or p).touch, m, write, start=start, nr_pages=n)

    @rule(pm=maps, who=st.none() | procs, page=st.integers(0, 40), write=st.booleans(),
          partial=st.booleans())
    def poke_peek(self, pm: tuple[Process, Mapping], who: Process | None, page: int,
                  write: bool, partial: bool) -> None:
        p, m = pm
        page = min(page, m.nr_pages - 1)
        if write:
            self._call("poke", (who or p).poke, m, page, partial=partial)
        else:
            self._call("peek", (who or p).peek, m, page)

    @rule(pm=maps, who=st.none() | procs, advice=st.sampled_from(sorted(
        madv.MODELLED_ADVICES | {madv.MADV_WILLNEED, madv.MADV_POPULATE_READ, 7, 99})),
          start=st.integers(0, 40), n=st.none() | st.integers(0, 40))
    def madvise(self, pm: tuple[Process, Mapping], who: Process | None, advice: int,
                start: int, n: int | None) -> None:
        p, m = pm
        start = min(start, m.nr_pages - 1)
        n = None if n is None else min(n, m.nr_pages - start)
        self._call("madvise", (who or p).madvise, m, advice, start=start, nr_pages=n)

    @rule(pm=maps, prot=st.sampled_from((0, 1, 3, 5, 7, 8)), start=st.integers(0, 40),
          n=st.none() | st.integers(0, 40))
    def mprotect(self, pm: tuple[Process, Mapping], prot: int, start: int,
                 n: int | None) -> None:
        p, m = pm
        start = min(start, m.nr_pages - 1)
        n = None if n is None else min(n, m.nr_pages - start)
        self._call("mprotect", p.mprotect, m, prot, start=start, nr_pages=n)

    @rule(pm=maps, lock=st.booleans(), start=st.integers(0, 40),
          n=st.none() | st.integers(0, 40))
    def mlock(self, pm: tuple[Process, Mapping], lock: bool, start: int,
              n: int | None) -> None:
        p, m = pm
        start = min(start, m.nr_pages - 1)
        n = None if n is None else min(n, m.nr_pages - start)
        if lock:
            self._call("mlock", p.mlock, m, start=start, nr_pages=n)
        else:
            self._call("munlock", p.munlock, m, start=start, nr_pages=n)

    @rule(p=procs, flags=st.sampled_from((0, 1, 5, 4, 8)))
    def mlockall(self, p: Process, flags: int) -> None:
        self._call("mlockall", p.mlockall, flags)

    @rule(pm=maps, who=st.none() | procs, start=st.integers(0, 40),
          n=st.none() | st.integers(0, 40))
    def munmap(self, pm: tuple[Process, Mapping], who: Process | None, start: int,
               n: int | None) -> None:
        p, m = pm
        start = min(start, m.nr_pages - 1)
        n = None if n is None else min(n, m.nr_pages - start)
        self._call("munmap", (who or p).munmap, m, start=start, nr_pages=n)

    @rule(pm=maps, start=st.integers(0, 40))
    def mincore_smaps(self, pm: tuple[Process, Mapping], start: int) -> None:
        p, m = pm
        vec = self._call("mincore", p.mincore, m, start=min(start, m.nr_pages - 1))
        if isinstance(vec, list):
            assert set(vec) <= {0, 1}
        self._call("read_proc", p.smaps)

    # --- files ----------------------------------------------------------------------------

    @rule(target=files, p=procs, i=st.integers(0, 2), write=st.booleans())
    def open(self, p: Process, i: int, write: bool) -> tuple[Process, int]:
        got = (self._call("memfd_create", p.memfd_create, "m", 0) if i == 2
               else self._call("open", p.open, self.files_[i], write))
        return p, got if isinstance(got, int) else -1

    @rule(pf=files, op=st.sampled_from(("read", "write", "fsync", "ftruncate", "mmap_fd",
                                        "fadvise", "close")),
          page=st.integers(0, 70), n=st.integers(0, 8), advice=st.integers(0, 6))
    def file_op(self, pf: tuple[Process, int], op: str, page: int, n: int,
                advice: int) -> Mapping | None:
        p, fd = pf
        if op == "read":
            self._call("read", p.read, fd, page << 12, n)
        elif op == "write":
            self._call("write", p.write, fd, page << 12, n)
        elif op == "fsync":
            self._call("fsync", p.fsync, fd)
        elif op == "ftruncate":
            self._call("ftruncate", p.ftruncate, fd, page << 12)
        elif op == "mmap_fd":
            self._call("mmap", p.mmap_fd, fd, max(n, 1), bool(page & 1), offset=0)
        elif op == "fadvise":
            self._call("posix_fadvise", p.posix_fadvise, fd, page << 12, n << 12, advice)
        else:
            self._call("close", p.close, fd)
        return None

    # --- /proc ----------------------------------------------------------------------------

    @rule(reader=procs, victim=procs, name=st.sampled_from(("cmdline", "mem", "environ")),
          block=st.booleans())
    def read_proc(self, reader: Process, victim: Process, name: str, block: bool) -> None:
        got = self._call("read_proc", reader.read_proc, victim.pid, name, block=block)
        if isinstance(got, ProcRead) and not got.done:
            self.reads.append(got)

    @precondition(lambda self: bool(self.reads))
    @rule()
    def release_read(self) -> None:
        self.reads.pop(0).release()

    @rule(reader=procs, pm=maps, write=st.booleans(), n=st.integers(0, 4), hold=st.booleans())
    def proc_mem(self, reader: Process, pm: tuple[Process, Mapping], write: bool, n: int,
                 hold: bool) -> None:
        victim, m = pm
        if hold:
            fh = self._call("proc_mem_open", reader.proc_mem_open, victim.pid)
            if isinstance(fh, ProcMem):
                self.mem_handles.append(fh)
                self._call("proc_mem_rw", fh.read, m.start, n)
        elif write:
            self._call("proc_mem_rw", reader.proc_mem_write, victim.pid, m.start,
                       list(range(1, n + 1)))
        else:
            self._call("proc_mem_rw", reader.proc_mem_read, victim.pid, m.start, n)

    @precondition(lambda self: bool(self.mem_handles))
    @rule(write=st.booleans(), close=st.booleans())
    def proc_mem_handle(self, write: bool, close: bool) -> None:
        fh = self.mem_handles[0]
        if close:
            self.mem_handles.pop(0).close()
        elif write:
            self._call("proc_mem_rw", fh.write, 0x10_0000_0000, [7])
        else:
            self._call("proc_mem_rw", fh.read, 0x10_0000_0000, 2)

    # --- signals and pidfds ---------------------------------------------------------------

    @rule(sender=procs, victim=procs, sig=st.integers(-1, 70) | st.sampled_from(
        (signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV, signal.SIGSTOP, signal.SIGCONT)),
          how=st.sampled_from(("kill", "tgkill", "tkill")))
    def kill(self, sender: Process, victim: Process, sig: int, how: str) -> None:
        if how == "kill":
            self._call("kill", sender.kill, victim.pid, int(sig))
        elif how == "tgkill":
            self._call("tgkill", sender.tgkill, victim.pid, victim.tid, int(sig))
        else:
            self._call("tkill", sender.tkill, victim.tid, int(sig))

    @rule(target=pidfds, caller=procs, p=procs, flags=st.sampled_from((0, 0o4000, 0o200,
                                                                       0o4200, 1)),
          by_tid=st.booleans())
    def pidfd_open(self, caller: Process, p: Process, flags: int,
                   by_tid: bool) -> tuple[Process, int]:
        got = self._call("pidfd_open", caller.pidfd_open, p.tid if by_tid else p.pid, flags)
        return caller, got if isinstance(got, int) else -1

    @rule(cf=pidfds, sig=st.integers(0, 65), flags=st.sampled_from((0, 1, 2, 4, 3, 8)),
          self_fd=st.sampled_from((None, -10000, -10001)))
    def pidfd_send_signal(self, cf: tuple[Process, int], sig: int, flags: int,
                          self_fd: int | None) -> None:
        self._call("pidfd_send_signal", cf[0].pidfd_send_signal,
                   cf[1] if self_fd is None else self_fd, sig, flags)

    @rule(cf=pidfds, caller=st.none() | procs, flags=st.sampled_from((0, 1, 2, -1)),
          self_fd=st.sampled_from((None, None, -10000, -10001)))
    def process_mrelease(self, cf: tuple[Process, int], caller: Process | None,
                         flags: int, self_fd: int | None) -> None:
        self._call("process_mrelease", (caller or cf[0]).process_mrelease,
                   cf[1] if self_fd is None else self_fd, flags)

    @rule(p=procs)
    def oom_kill(self, p: Process) -> None:
        self._call("kill", self.kern.oom_kill, p.pid)

    @rule(p=procs, what=st.sampled_from(("freeze", "thaw", "nanosleep", "futex", "pause",
                                         "epoll_wait", "busy", "sigsuspend")))
    def freezer(self, p: Process, what: str) -> None:
        if what == "freeze":
            self._call("kill", p.freeze)
        elif what == "thaw":
            self._call("kill", p.thaw)
        else:
            self._call("kill", p.sleep, what)

    @rule(p=procs, sig=st.integers(0, 65), handler=st.sampled_from(
        ("SIG_DFL", "SIG_IGN", "exit_group")))
    def sigaction(self, p: Process, sig: int, handler: str) -> None:
        self._call("sigaction", p.sigaction, sig, handler)

    @rule(p=procs, how=st.integers(0, 2), sigs=st.lists(st.integers(1, 64), max_size=3))
    def sigprocmask(self, p: Process, how: int, sigs: list[int]) -> None:
        self._call("sigaction", p.sigprocmask, how, sigs)

    @rule(p=procs, thread=st.booleans())
    def exit(self, p: Process, thread: bool) -> None:
        self._call("kill", p.thread_exit if thread else p.exit, 0)

    @rule(parent=procs, child=procs, block=st.booleans())
    def waitpid(self, parent: Process, child: Process, block: bool) -> None:
        self._call("waitpid", parent.waitpid, child.pid, 0 if block else 1)

    # --- the machine ----------------------------------------------------------------------

    @rule(steps=st.integers(1, 30))
    def run(self, steps: int) -> None:
        self._call("kill", self.kern.run, steps)

    @rule(p=st.none() | procs)
    def step(self, p: Process | None) -> None:
        self._call("kill", self.kern.step, p)

    @rule(what=st.sampled_from(("sync", "drop", "reclaim", "drain")))
    def housekeeping(self, what: str) -> None:
        k = self.kern
        {"sync": k.sync, "drop": k.drop_caches, "drain": k.lru_add_drain_all,
         "reclaim": lambda: k.reclaim(32)}[what]()

    @rule(p=procs, i=st.integers(0, 1), n=st.integers(1, 64))
    def reports(self, p: Process, i: int, n: int) -> None:
        k = self.kern
        k.meminfo()
        k.zoneinfo()
        k.cachestat(self.files_[i], 0, n << 12)
        p.status()
        self._call("open", k.create_file, f"new{n}", n)

    @invariant()
    def checked(self) -> None:
        if self.k is None:
            return
        assert check_invariants(self.k) == []
        if self.k.config.variant == "baseline":
            assert self.k.findings == []

    def teardown(self) -> None:
        k = self.k
        if k is None:
            return
        for r in self.reads:
            r.release()
        for fh in self.mem_handles:
            fh.close()
        root = k.spawn("reaper")
        for t in list(k.tasks):
            if t.flags & PF_KTHREAD or t.pid == 1 or t is root.task:
                continue
            Process(k, t).thaw()
            self._call("kill", root.kill, t.pid, signal.SIGKILL)
        k.run()
        root.exit(0)
        k.run()
        for t in list(k.tasks):  # zombies whose parent never waited: the parent is gone
            parent = t.real_parent
            if t.exit_state and parent is not None and parent.pid != 1:
                self._call("waitpid", Process(k, parent).waitpid, t.pid)
        k.sync()
        k.lru_add_drain_all()
        k.drop_caches()
        assert check_invariants(k) == []
        pool = k.hstate.nr_huge_pages << 9
        assert leaked_pages(k) - pool == 0, list(k.tasks)
        users = [t for t in k.tasks if not t.flags & PF_KTHREAD and t.pid != 1]
        assert users == [], [(t, t.exit_state, t.real_parent, t.work_label) for t in users]
        assert k.mms == [] and k.proc_mem_files == [] and k.exit_mm_tasks == []
        assert not k.oom_reaper_list and not k.timers
        assert [i for i in k.inodes if i.kind != "ext4"] == []  # memfds and shmem went
        assert k.vm_committed_as == 0
        assert (k.hstate.free_huge_pages, k.hstate.resv_huge_pages) == (k.hstate.nr_huge_pages,
                                                                        0)


def _settings(examples: int) -> settings:
    phases = tuple(Phase) if SHRINK else (Phase.explicit, Phase.reuse, Phase.generate)
    return settings(max_examples=examples, stateful_step_count=STEPS, deadline=None,
                    derandomize=SEED is None, suppress_health_check=list(HealthCheck),
                    database=None, phases=phases, report_multiple_bugs=False)


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_api_walk(variant: str) -> None:
    """Issue 8 §4: random walks over the public API under ``variant`` keep every invariant,
    give only the errnos the kernel can give, and tear down to an empty machine."""

    class Walk(ApiWalk):
        variants = (variant,)

    test = get_state_machine_test(Walk, settings=_settings(EXAMPLES))
    if SEED is not None:
        test = seed(int(SEED) * 100 + ALL_VARIANTS.index(variant))(test)
    test()
