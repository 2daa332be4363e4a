"""Bad input at every public entry point (issue 8 §5).

The project's rule: a system call gives the errno the kernel gives (``OSError``); misuse of
the Python API gives ``TypeError``/``ValueError`` with a message saying what to do; never a
traceback from deep inside; a failed call leaves no half-built state.

``BAD`` registers at least one bad call per public method of ``Kernel`` and ``Process``
(and the spec classes). ``test_every_public_method_has_a_bad_input_case`` enumerates the
methods by introspection and fails for one that has no case: a new entry point must add
its own here (and be an ``api_entry``).
"""

from __future__ import annotations

import errno
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from mrelease_ref import Kernel, Mapping
from mrelease_ref.scenarios.parity import Scenario, Step
from mrelease_ref.scenarios.victims import MappingSpec, VictimSpec
from mrelease_ref.sim.invariants import check_invariants
from mrelease_ref.sim.process import Process
from mrelease_ref.sim.validate import is_api_entry

KERNEL_HELPERS = {
    # called by the kernel model itself, not by users of the API
    "this_cpu", "this_cpu_fbatches", "for_each_process", "wake_signal", "add_timer",
    "trace_event", "running", "syscall", "new_task", "new_inode",
    "check",  # the checker itself (an api_entry would re-enter it)
}


@dataclass
class Env:
    """A small machine: ``app`` with an anonymous mapping ``m`` and an open file ``fd``,
    ``lmkd`` (root), a file ``f``, another Kernel's process ``alien``."""

    k: Kernel
    app: Process
    lmkd: Process
    m: Mapping
    f: Any
    fd: int
    alien: Process


def _env() -> Env:
    k = Kernel(large_folios=False, debug_vm=True)
    f = k.create_file("f", 8)
    app, lmkd = k.spawn("app", uid=10001), k.spawn("lmkd")
    m = app.mmap(8)
    app.touch(m, write=True)
    fd = app.open(f)
    alien = Kernel(large_folios=False).spawn("alien")
    return Env(k, app, lmkd, m, f, fd, alien)


Case = tuple[str, Callable[[Env], object], type[BaseException], str]

BAD: dict[str, list[Case]] = {
    # --- Kernel ---------------------------------------------------------------------------
    "Kernel.start": [
        ("not a task", lambda e: e.k.start("app", iter(()), "x"), TypeError, "Process"),
        ("not a generator", lambda e: e.k.start(e.app, [], "x"), TypeError, "generator"),
        ("another kernel's task", lambda e: e.k.start(e.alien, iter(()), "x"),
         ValueError, "another Kernel"),
        ("work yielding junk", lambda e: (e.k.start(e.lmkd, (x for x in [1]), "junk"),
                                          e.k.step(e.lmkd)), TypeError, "markers"),

    ],
    "Kernel.step": [
        ("a pid", lambda e: e.k.step(5), TypeError, "Process"),
    ],
    "Kernel.run_until": [
        ("cond not callable", lambda e: e.k.run_until(True), TypeError, "callable"),
        ("max_steps str", lambda e: e.k.run_until(lambda: False, max_steps="9"),
         TypeError, "max_steps"),
    ],
    "Kernel.run": [
        ("negative", lambda e: e.k.run(-1), ValueError, "non-negative"),
        ("bool", lambda e: e.k.run(True), ValueError, "non-negative"),
    ],
    "Kernel.create_file": [
        ("empty name", lambda e: e.k.create_file("", 4), TypeError, "non-empty"),
        ("zero pages", lambda e: e.k.create_file("g", 0), ValueError, "positive"),
        ("duplicate", lambda e: e.k.create_file("f", 4), ValueError, "already exists"),
    ],
    "Kernel.spawn": [
        ("uid str", lambda e: e.k.spawn("x", "0"), TypeError, "uid"),
        ("negative uid", lambda e: e.k.spawn("x", -1), ValueError, "uid"),
        ("bad cpu", lambda e: e.k.spawn("x", cpu=9), ValueError, "cpu"),
        ("caps str", lambda e: e.k.spawn("x", caps="CAP_KILL"), TypeError, "caps"),
        ("caps unknown", lambda e: e.k.spawn("x", caps={"KILL"}), ValueError, "CAP_KILL"),
        ("parent int", lambda e: e.k.spawn("x", parent=5), TypeError, "Process"),
        ("pid_ns str", lambda e: e.k.spawn("x", pid_ns="ns"), TypeError, "create_pid_ns"),
        ("other kernel's ns",
         lambda e: e.k.spawn("x", pid_ns=e.alien.kernel.create_pid_ns()),
         ValueError, "not below"),
    ],
    "Kernel.create_pid_ns": [
        ("parent str", lambda e: e.k.create_pid_ns("root"), TypeError, "create_pid_ns"),
    ],
    "Kernel.reclaim": [
        ("zero", lambda e: e.k.reclaim(0), ValueError, "positive"),
        ("str", lambda e: e.k.reclaim("8"), TypeError, "nr_pages"),
    ],
    "Kernel.process": [
        ("str", lambda e: e.k.process("5"), TypeError, "pid"),
        ("unknown", lambda e: e.k.process(4242), ValueError, "no process"),
    ],
    "Kernel.meminfo": [("extra argument", lambda e: e.k.meminfo(1), TypeError, "")],
    "Kernel.zoneinfo": [("extra argument", lambda e: e.k.zoneinfo(1), TypeError, "")],
    "Kernel.cachestat": [
        ("not a file", lambda e: e.k.cachestat("f"), TypeError, "create_file"),
        ("negative off", lambda e: e.k.cachestat(e.f, -1), ValueError, "off"),
        ("length str", lambda e: e.k.cachestat(e.f, 0, "1"), TypeError, "length"),
    ],
    "Kernel.lru_add_drain_all": [
        ("extra argument", lambda e: e.k.lru_add_drain_all(1), TypeError, ""),
    ],
    "Kernel.drop_caches": [("extra argument", lambda e: e.k.drop_caches(1), TypeError, "")],
    "Kernel.sync": [("extra argument", lambda e: e.k.sync(1), TypeError, "")],
    "Kernel.oom_kill": [
        ("str", lambda e: e.k.oom_kill("5"), TypeError, "pid"),
        ("init", lambda e: e.k.oom_kill(1), ValueError, "oom_unkillable_task"),
        ("kthread", lambda e: e.k.oom_kill(2), ValueError, "oom_unkillable_task"),
    ],
    "Kernel.next_token": [("extra argument", lambda e: e.k.next_token(1), TypeError, "")],
    "Kernel.trace_text": [
        ("funcs not a tuple of names", lambda e: e.k.trace_text(5), TypeError, "funcs"),
    ],
    # --- Process --------------------------------------------------------------------------
    "Process.mmap": [
        ("zero pages", lambda e: e.app.mmap(0), ValueError, "positive"),
        ("file str", lambda e: e.app.mmap(4, file="f"), TypeError, "create_file"),
        ("shared int", lambda e: e.app.mmap(4, shared=1), TypeError, "shared"),
        ("negative offset", lambda e: e.app.mmap(4, file=e.f, offset=-1), ValueError, "offset"),
        ("past the file", lambda e: e.app.mmap(4, file=e.f, offset=6), ValueError, "exceeds"),
        ("offset on anon", lambda e: e.app.mmap(4, offset=1), ValueError, "file mappings"),
        ("shared hugetlb", lambda e: e.app.mmap(512, shared=True, hugetlb=True),
         ValueError, "MAP_HUGETLB"),
        ("no hugetlb pool", lambda e: e.app.mmap(512, hugetlb=True), OSError,
         "Cannot allocate"),
        ("absurd size", lambda e: e.app.mmap(8 << 28), OSError, "Cannot allocate"),
        ("another kernel's file",
         lambda e: e.app.mmap(4, file=e.alien.kernel.create_file("g", 4)),
         TypeError, "create_file"),
    ],
    "Process.touch": [
        ("tuple", lambda e: e.app.touch((e.m.start, 4)), TypeError, "Mapping"),
        ("past the end", lambda e: e.app.touch(e.m, start=4, nr_pages=8), ValueError, "outside"),
        ("negative start", lambda e: e.app.touch(e.m, start=-1), ValueError, "start"),
        ("write int", lambda e: e.app.touch(e.m, 1), TypeError, "write"),
    ],
    "Process.madvise": [
        ("advice str", lambda e: e.app.madvise(e.m, "cold"), TypeError, "advice"),
        ("unknown advice", lambda e: e.app.madvise(e.m, 99), OSError, "Invalid argument"),
        ("unmapped", lambda e: e.app.madvise(Mapping(1 << 40, 4, "x"), 0), OSError,
         "Cannot allocate memory"),
        ("unaligned address", lambda e: e.app.madvise(e.m.start + 1, 4, length=4096),
         OSError, "Invalid argument"),
        ("past the Mapping", lambda e: e.app.madvise(e.m, 4, start=4, nr_pages=8),
         ValueError, "outside"),
        ("length with a Mapping", lambda e: e.app.madvise(e.m, 4, length=4096),
         TypeError, "nr_pages"),
        ("an address without length", lambda e: e.app.madvise(e.m.start, 4), TypeError,
         "length"),
    ],
    "Process.munmap": [
        ("tuple", lambda e: e.app.munmap((e.m.start, 8)), TypeError, "Mapping"),
        ("past the Mapping", lambda e: e.app.munmap(e.m, start=4, nr_pages=8), ValueError,
         "outside"),
        ("negative start", lambda e: e.app.munmap(e.m, start=-1), ValueError, "start"),
    ],
    "Process.mprotect": [
        ("prot str", lambda e: e.app.mprotect(e.m, "r"), TypeError, "prot"),
        ("unknown prot bit", lambda e: e.app.mprotect(e.m, 0x100), OSError, "Invalid"),
        ("unmapped", lambda e: e.app.mprotect(Mapping(1 << 40, 4, "x"), 1), OSError,
         "Cannot allocate memory"),
        ("unaligned", lambda e: e.app.mprotect(e.m.start + 1, 1, length=4096), OSError,
         "Invalid"),
    ],
    "Process.mlock": [
        ("unmapped", lambda e: e.app.mlock(Mapping(1 << 40, 4, "x")), OSError,
         "Cannot allocate memory"),
        ("start str", lambda e: e.app.mlock(e.m, start="0"), TypeError, "start"),
    ],
    "Process.munlock": [
        ("unmapped", lambda e: e.app.munlock(Mapping(1 << 40, 4, "x")), OSError,
         "Cannot allocate memory"),
        ("an address without length", lambda e: e.app.munlock(e.m.start), TypeError, "length"),
    ],
    "Process.mlockall": [
        ("no flags", lambda e: e.app.mlockall(0), OSError, "Invalid"),
        ("MCL_ONFAULT alone", lambda e: e.app.mlockall(4), OSError, "Invalid"),
        ("flags str", lambda e: e.app.mlockall("MCL_CURRENT"), TypeError, "flags"),
    ],
    "Process.memfd_create": [
        ("name int", lambda e: e.app.memfd_create(5), TypeError, "name"),
        ("unknown flag", lambda e: e.app.memfd_create("m", 0x100), OSError, "Invalid"),
        ("name too long", lambda e: e.app.memfd_create("m" * 250), OSError, "Invalid"),
    ],
    "Process.ftruncate": [
        ("bad fd", lambda e: e.app.ftruncate(99, 4096), OSError, "Bad file"),
        ("a tty", lambda e: e.app.ftruncate(0, 4096), OSError, "Invalid"),
        ("length str", lambda e: e.app.ftruncate(e.fd, "1"), TypeError, "length"),
    ],
    "Process.mmap_fd": [
        ("bad fd", lambda e: e.app.mmap_fd(99, 4, False), OSError, "Bad file"),
        ("zero pages", lambda e: e.app.mmap_fd(e.fd, 0, False), ValueError, "positive"),
        ("shared int", lambda e: e.app.mmap_fd(e.fd, 4, 1), TypeError, "shared"),
        ("a tty", lambda e: e.app.mmap_fd(0, 4, False), OSError, "No such device"),
    ],
    "Process.mincore": [
        ("unaligned", lambda e: e.app.mincore(e.m.start + 1, length=4096), OSError, "Invalid"),
        ("unmapped", lambda e: e.app.mincore(Mapping(1 << 40, 4, "x")), OSError,
         "Cannot allocate memory"),
        ("tuple", lambda e: e.app.mincore((e.m.start, 4)), TypeError, "Mapping"),
    ],
    "Process.smaps": [("extra argument", lambda e: e.app.smaps(1), TypeError, "")],
    "Process.peek": [
        ("page outside", lambda e: e.app.peek(e.m, 8), ValueError, "outside"),
        ("page str", lambda e: e.app.peek(e.m, "0"), TypeError, "page"),
        ("tuple", lambda e: e.app.peek((e.m.start, 8)), TypeError, "Mapping"),
    ],
    "Process.poke": [
        ("value str", lambda e: e.app.poke(e.m, 0, "x"), TypeError, "value"),
        ("page -1", lambda e: e.app.poke(e.m, -1), ValueError, "outside"),
        ("partial int", lambda e: e.app.poke(e.m, 0, partial=1), TypeError, "partial"),
    ],
    "Process.read": [
        ("bad fd", lambda e: e.app.read(99, 0, 1), OSError, "Bad file"),
        ("unaligned offset", lambda e: e.app.read(e.fd, 1, 1), ValueError, "multiple of 4096"),
        ("negative count", lambda e: e.app.read(e.fd, 0, -1), ValueError, "nr_pages"),
    ],
    "Process.write": [
        ("both", lambda e: e.app.write(e.fd, 0, 1, [1]), TypeError, "exactly one"),
        ("bad fd", lambda e: e.app.write(99, 0, 1), OSError, "Bad file"),
        ("a tty", lambda e: e.app.write(0, 0, 1), OSError, "Bad file"),
        ("data str", lambda e: e.app.write(e.fd, 0, data=["a"]), TypeError, "data"),
    ],
    "Process.proc_mem_open": [
        ("pid str", lambda e: e.lmkd.proc_mem_open("5"), TypeError, "pid"),
        ("no such pid", lambda e: e.lmkd.proc_mem_open(4242), OSError, "No such file"),
        ("another uid", lambda e: e.app.proc_mem_open(e.lmkd.pid), OSError,
         "Permission denied"),
    ],
    "Process.proc_mem_read": [
        ("unaligned", lambda e: e.lmkd.proc_mem_read(e.app.pid, e.m.start + 1, 1), ValueError,
         "page-aligned"),
        ("negative count", lambda e: e.lmkd.proc_mem_read(e.app.pid, e.m.start, -1),
         ValueError, "nr_pages"),
        ("unmapped", lambda e: e.lmkd.proc_mem_read(e.app.pid, 1 << 40, 1), OSError,
         "Input/output"),
    ],
    "Process.proc_mem_write": [
        ("data str", lambda e: e.lmkd.proc_mem_write(e.app.pid, e.m.start, ["x"]), TypeError,
         "data"),
        ("another uid", lambda e: e.app.proc_mem_write(e.lmkd.pid, e.m.start, [1]), OSError,
         "Permission denied"),
    ],
    "Process.fork": [
        ("name int", lambda e: e.app.fork(5), TypeError, "name"),
        ("uid str", lambda e: e.app.fork(uid="0"), TypeError, "uid"),
        ("setuid without root", lambda e: e.app.fork(uid=0), ValueError, "root"),
    ],
    "Process.fsync": [
        ("fd str", lambda e: e.app.fsync("3"), TypeError, "fd"),
        ("bad fd", lambda e: e.app.fsync(99), OSError, "Bad file"),
        ("a tty", lambda e: e.app.fsync(0), OSError, "Invalid"),
        ("background int", lambda e: e.app.fsync(e.fd, background=1), TypeError, "background"),
    ],
    "Process.sleep": [
        ("unknown", lambda e: e.app.sleep("nap"), ValueError, "how must be"),
        ("a list", lambda e: e.app.sleep(["pause"]), ValueError, "how must be"),
    ],
    "Process.tgkill": [
        ("sig str", lambda e: e.lmkd.tgkill(e.app.pid, e.app.tid, "9"), TypeError, "sig"),
        ("tid 0", lambda e: e.lmkd.tgkill(e.app.pid, 0, 9), OSError, "Invalid"),
        ("wrong group", lambda e: e.lmkd.tgkill(e.lmkd.pid, e.app.tid, 9), OSError,
         "No such process"),
        ("sig 65", lambda e: e.lmkd.tgkill(e.app.pid, e.app.tid, 65), OSError, "Invalid"),
    ],
    "Process.tkill": [
        ("tid str", lambda e: e.lmkd.tkill("5", 9), TypeError, "tid"),
        ("tid -1", lambda e: e.lmkd.tkill(-1, 9), OSError, "Invalid"),
        ("no such tid", lambda e: e.lmkd.tkill(4242, 9), OSError, "No such process"),
        ("another uid", lambda e: e.app.tkill(e.lmkd.tid, 9), OSError, "not permitted"),
    ],
    "Process.status": [("extra argument", lambda e: e.app.status(1), TypeError, "")],
    "Process.open": [
        ("name", lambda e: e.app.open("f"), TypeError, "create_file"),
        ("write int", lambda e: e.app.open(e.f, 1), TypeError, "write"),
    ],
    "Process.close": [
        ("str", lambda e: e.app.close("3"), TypeError, "fd"),
        ("not open", lambda e: e.app.close(99), OSError, "Bad file descriptor"),
    ],
    "Process.posix_fadvise": [
        ("offset str", lambda e: e.app.posix_fadvise(e.fd, "0", 0, 4), TypeError, "offset"),
        ("negative", lambda e: e.app.posix_fadvise(e.fd, -1, 0, 4), OSError, "Invalid"),
        ("bad fd", lambda e: e.app.posix_fadvise(99, 0, 0, 4), OSError, "Bad file"),
    ],
    "Process.pidfd_open": [
        ("str", lambda e: e.lmkd.pidfd_open("5"), TypeError, "pid"),
        ("bad flags", lambda e: e.lmkd.pidfd_open(e.app.pid, 0x1234), OSError, "Invalid"),
        ("no such pid", lambda e: e.lmkd.pidfd_open(4242), OSError, "No such process"),
    ],
    "Process.kill": [
        ("sig str", lambda e: e.lmkd.kill(e.app.pid, "9"), TypeError, "sig"),
        ("sig 65", lambda e: e.lmkd.kill(e.app.pid, 65), OSError, "Invalid"),
        ("no such pid", lambda e: e.lmkd.kill(4242, 9), OSError, "No such process"),
    ],
    "Process.pidfd_send_signal": [
        ("fd str", lambda e: e.lmkd.pidfd_send_signal("3", 9), TypeError, "pidfd"),
        ("not a pidfd", lambda e: e.lmkd.pidfd_send_signal(0, 9), OSError, "Bad file"),
    ],
    "Process.process_mrelease": [
        ("fd str", lambda e: e.lmkd.process_mrelease("3"), TypeError, "pidfd"),
        ("bad flags", lambda e: e.lmkd.process_mrelease(0, 0x80), OSError, "Invalid"),
        ("not a pidfd", lambda e: e.lmkd.process_mrelease(0), OSError, "Bad file"),
    ],
    "Process.sigaction": [
        ("sig 0", lambda e: e.app.sigaction(0, "SIG_IGN"), OSError, "invalid signal"),
        ("sig 65", lambda e: e.app.sigaction(65, "SIG_IGN"), OSError, "invalid signal"),
        ("SIGKILL", lambda e: e.app.sigaction(9, "SIG_IGN"), OSError, "cannot be caught"),
        ("handler int", lambda e: e.app.sigaction(10, 5), TypeError, "handler"),
    ],
    "Process.sigprocmask": [
        ("signal 0", lambda e: e.app.sigprocmask(0, [0]), ValueError, "out of range"),
        ("signal 65", lambda e: e.app.sigprocmask(0, [65]), ValueError, "out of range"),
        ("how 7", lambda e: e.app.sigprocmask(7, [10]), ValueError, "SIG_BLOCK"),
        ("a str", lambda e: e.app.sigprocmask(0, "10"), TypeError, "iterable"),
    ],
    "Process.exit": [("code str", lambda e: e.app.exit("0"), TypeError, "code")],
    "Process.thread_exit": [("code str", lambda e: e.app.thread_exit("0"), TypeError, "code")],
    "Process.waitpid": [
        ("not a child", lambda e: e.lmkd.waitpid(e.app.pid), OSError, "No child"),
        ("str", lambda e: e.lmkd.waitpid("5"), TypeError, "pid"),
        ("bad options", lambda e: e.lmkd.waitpid(e.app.pid, 8), OSError, "WNOHANG"),
    ],
    "Process.clone_thread": [
        ("extra argument", lambda e: e.app.clone_thread("t"), TypeError, ""),
    ],
    "Process.clone_vm": [
        ("name int", lambda e: e.app.clone_vm(5), TypeError, "name"),
        ("vfork int", lambda e: e.app.clone_vm("c", vfork=1), TypeError, "vfork"),
    ],
    "Process.spawn_child": [
        ("uid str", lambda e: e.app.spawn_child("c", "0"), TypeError, "uid"),
    ],
    "Process.read_proc": [
        ("unknown file", lambda e: e.lmkd.read_proc(e.app.pid, "maps"), ValueError, "cmdline"),
        ("pid str", lambda e: e.lmkd.read_proc("5"), TypeError, "pid"),
        ("no such pid", lambda e: e.lmkd.read_proc(4242), OSError, "No such file"),
        ("block int", lambda e: e.lmkd.read_proc(e.app.pid, block=1), TypeError, "block"),
    ],
    "Process.freeze": [("extra argument", lambda e: e.app.freeze(1), TypeError, "")],
    "Process.thaw": [("extra argument", lambda e: e.app.thaw(1), TypeError, "")],
    # --- specs ----------------------------------------------------------------------------
    "MappingSpec": [
        ("unknown kind", lambda e: MappingSpec("heap", 4), ValueError, "kind"),
        ("pages str", lambda e: MappingSpec("anon", "4"), TypeError, "nr_pages"),
        ("dirty > pages", lambda e: MappingSpec("file-cow", 4, dirty=8), ValueError, "dirty"),
    ],
    "VictimSpec": [
        ("mappings list", lambda e: VictimSpec([MappingSpec("anon", 4)]), TypeError, "tuple"),
        ("uid -1", lambda e: VictimSpec((), uid=-1), ValueError, "uid"),
        ("name empty", lambda e: VictimSpec((), name=""), TypeError, "name"),
    ],
    "Step": [
        ("unknown op", lambda e: Step("explode"), ValueError, "Step.op"),
        ("flags str", lambda e: Step("mrelease", flags="1"), TypeError, "flags"),
        ("uid -1", lambda e: Step("mrelease", uid=-1), ValueError, "uid"),
    ],
    "Scenario": [
        ("steps list", lambda e: Scenario("n", "t", "s", VictimSpec(()), [Step("freeze")], ()),
         TypeError, "tuple of Step"),
        ("victim dict", lambda e: Scenario("n", "t", "s", {}, (), ()), TypeError, "VictimSpec"),
    ],
}


def _public_methods(cls: type) -> list[str]:
    return sorted(
        n for n, v in vars(cls).items()
        if not n.startswith("_") and callable(v) and not isinstance(v, (property, type))
    )


def _state(k: Kernel) -> object:
    """What a failed call must not change: tasks, VMAs, descriptors, files, commitments."""
    return (
        [(t.pid, t.exit_state, len(t.signal.threads)) for t in k.tasks],
        [(mm.mm_id, [(v.vm_start, v.vm_end) for v in mm.mm_mt]) for mm in k.mms],
        [sorted(t.files.fdt) for t in k.tasks if t.files is not None],
        [i.name for i in k.inodes], k.vm_committed_as,
        (k.hstate.free_huge_pages, k.hstate.resv_huge_pages),
    )


def test_every_public_method_has_a_bad_input_case() -> None:
    """Every public method of Kernel and Process (other than the model's own helpers) is
    an api_entry and has at least one registered bad-input case here."""
    methods = [f"Kernel.{n}" for n in _public_methods(Kernel) if n not in KERNEL_HELPERS]
    methods += [f"Process.{n}" for n in _public_methods(Process)]
    missing = [m for m in methods if not BAD.get(m)]
    assert not missing, f"add bad-input cases to tests/test_bad_input.py BAD for: {missing}"
    not_entries = [m for m in methods
                   if not is_api_entry(getattr(Kernel if m[0] == "K" else Process,
                                               m.split(".")[1]))]
    assert not not_entries, f"decorate with sim.validate.api_entry: {not_entries}"


@pytest.mark.parametrize(
    ("method", "why", "call", "exc", "match"),
    [(m, *case) for m, cases in BAD.items() for case in cases],
    ids=[f"{m}-{c[0]}" for m, cases in BAD.items() for c in cases],
)
def test_bad_input_is_refused_cleanly(
    method: str, why: str, call: Callable[[Env], object], exc: type[BaseException], match: str
) -> None:
    """Each bad call raises the documented exception with a message that names the
    problem, and changes nothing (the invariant checker also stays clean)."""
    e = _env()
    before = _state(e.k)
    with pytest.raises(exc, match=match or None):
        call(e)
    assert _state(e.k) == before
    assert check_invariants(e.k) == []


def _kernel_keywords() -> list[tuple[str, object]]:
    """A wrong-typed value for every Kernel() keyword, derived from its default."""
    out: list[tuple[str, object]] = []
    for name, p in inspect.signature(Kernel).parameters.items():
        bad: object = "x" if not isinstance(p.default, str) else 5
        if isinstance(p.default, bool):
            bad = 1
        out.append((name, bad))
    return out


@pytest.mark.parametrize(("keyword", "bad"), _kernel_keywords())
def test_every_kernel_keyword_is_checked(keyword: str, bad: object) -> None:
    """Every configuration keyword (and the variant) refuses a wrong-typed value with a
    TypeError or ValueError naming it, before anything is built."""
    with pytest.raises((TypeError, ValueError), match=keyword if keyword != "variant" else None):
        Kernel(**{keyword: bad})


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"variant": "v9"}, "unknown variant"),
        ({"overcommit_memory": 3}, "overcommit_memory"),
        ({"overcommit_ratio": -1}, "overcommit_ratio"),
        ({"nr_hugepages": -1}, "nr_hugepages"),
        ({"nr_hugepages": 1 << 20}, "nr_hugepages"),
        ({"variant": "v2", "patches": 1}, "single patch"),
        ({"mem_mib": 8}, "mem_mib"),
        ({"nr_cpus": 1 << 20}, "nr_cpus"),
        ({"swap_mib": 1 << 30}, "swap_mib"),
    ],
)
def test_kernel_values_out_of_range(kw: dict[str, Any], match: str) -> None:
    """Values of the right type but outside what the option means are a ValueError."""
    with pytest.raises(ValueError, match=match):
        Kernel(**kw)


def test_calls_on_a_dead_process_are_value_errors() -> None:
    """A handle whose process has exited makes no calls (ValueError), while syscalls about
    it give the kernel's errno (kill -> ESRCH)."""
    e = _env()
    e.app.exit(0)
    e.k.run()
    with pytest.raises(ValueError, match="exited"):
        e.app.mmap(4)
    with pytest.raises(OSError) as info:
        e.lmkd.kill(e.app.pid, 9)
    assert info.value.errno == errno.ESRCH


def test_broken_kernel_work_is_dropped() -> None:
    """Work that yields something other than a scheduler marker is refused when it runs,
    and the task is left idle, able to make calls again."""
    e = _env()
    e.k.start(e.lmkd, (x for x in [1]), "junk")
    with pytest.raises(TypeError, match="markers"):
        e.k.step(e.lmkd)
    assert e.lmkd.task.work is None and e.lmkd.task not in e.k.runqueue
    assert e.lmkd.pidfd_open(e.app.pid) >= 0
