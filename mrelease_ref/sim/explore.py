"""Exhaustive and sampled exploration of schedules (not kernel code).

A *world* is a small scenario on one :class:`~mrelease_ref.sim.kernel.Kernel` whose tasks
are named *actors* ("victim", "caller", "reader", ...). At every point the world says which
actors can take a step (:meth:`World.enabled`); a *schedule* is the list of actor names
chosen, one per step, until none can. Each step is one scheduler step of that actor's
kernel work (a generator resumption, :func:`mrelease_ref.sim.sched.run_step`) or one
atomic user-space action the world defines (a fault, the start of a read). Schedules are
plain tuples of strings: :func:`replay` re-runs one on a fresh world.

:func:`explore` visits every schedule of a world, depth first, by re-execution: Python
generators cannot be copied, so the world is rebuilt and the schedule prefix replayed to
take a second branch. Two reductions keep it small:

* **memoisation on a canonical state digest** (:func:`state_digest`): the kernel's state
  (tasks, their signals and flags, every mm with its counters, lock and page tables, free
  page counts, vmstat, LRU sizes, run queue), each actor's kernel stack (every generator
  frame of the ``yield from`` chain: function, instruction offset and its local variables
  in canonical form), and the world's own observations (who freed how much, what the
  syscall returned, ...). States with equal digests have equal futures, so the schedules
  below a state are counted once and multiplied;
* the count of schedules per outcome is computed bottom-up on that state graph (a DAG:
  every step moves a generator forward), so "how many schedules reach this outcome" is
  exact without listing them.

With ``Kernel(debug_vm=True)`` the invariant checker runs after every step of every
explored schedule; a violation stops the exploration with :class:`ScheduleFailure`, which
carries a schedule shrunk by :func:`minimise` (no single step can be left out) that
:func:`replay` reproduces.

:func:`sample` draws seeded random schedules instead (for worlds too large to enumerate).

Limitations:
- Sound only as far as the digest is complete: objects the canonical form does not know
  are reduced to their type name (with a warning count in :attr:`Exploration.coarse`);
  ``tests/test_explore.py`` checks memoised and plain enumeration agree on small worlds.
- Exploration is by re-execution: a world must be cheap to build and fully deterministic.
- Timers and timed sleeps are not schedule choices: worlds use none while exploring.
"""

from __future__ import annotations

import enum
import random
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from types import FunctionType, GeneratorType
from typing import TYPE_CHECKING, Any, Protocol

from mrelease_ref.include.linux.mm_types import PTE_BITS_MASK, PTE_IDX_SHIFT, PteTable
from mrelease_ref.sim.invariants import InvariantViolation

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import Kernel

Schedule = tuple[str, ...]


class World(Protocol):
    """A scenario the explorer can drive (see the module docstring)."""

    kernel: Kernel

    def enabled(self) -> list[str]:
        """Actors that can take a step now, in a fixed order."""

    def step(self, actor: str) -> None:
        """Run one step of ``actor`` (which must be enabled)."""

    def observations(self) -> Hashable:
        """Facts about the path so far that outcomes depend on (folded into the digest)."""

    def outcome(self) -> Hashable:
        """The result of a finished schedule (no actor enabled)."""


class ScheduleFailure(AssertionError):
    """A schedule broke a kernel invariant (or the model raised); ``schedule`` replays it."""

    def __init__(self, message: str, schedule: Schedule) -> None:
        super().__init__(f"{message}\n  replay schedule: {list(schedule)}")
        self.schedule = schedule


# --- canonical digest -------------------------------------------------------------------------


@dataclass(slots=True)
class _Canon:
    """Turns model objects into hashable canonical values (no addresses, no object ids)."""

    aliases: dict[int, Hashable] = field(default_factory=dict)
    coarse: Counter[str] = field(default_factory=Counter)

    def named(self, obj: object) -> Hashable | None:
        """A stable name for the objects that have one."""
        name = type(obj).__name__
        if name == "TaskStruct":
            return ("task", obj.pid)  # type: ignore[attr-defined]
        if name == "MmStruct":
            return ("mm", obj.mm_id)  # type: ignore[attr-defined]
        if name == "VmAreaStruct":
            return ("vma", obj.vm_mm.mm_id, obj.vm_start)  # type: ignore[attr-defined]
        if name in ("Folio", "LargeFolio"):
            return ("folio", obj.pfn)  # type: ignore[attr-defined]
        if name == "Kernel":
            return ("kernel",)
        if name == "Process":
            return ("process", obj.task.pid)  # type: ignore[attr-defined]
        if name in ("Inode", "AddressSpace"):
            inode = obj if name == "Inode" else obj.host  # type: ignore[attr-defined]
            return ("inode", getattr(inode, "ino", None))
        if name == "Pid":
            return ("pid", obj.nr)  # type: ignore[attr-defined]
        if name in ("SignalStruct", "SighandStruct", "FilesStruct", "Cred", "PidNamespace"):
            return (name,)  # reached through their task, which the kernel digest covers
        return None

    def value(self, v: object, depth: int = 0) -> Hashable:
        """The canonical form of ``v``."""
        if v is None or isinstance(v, (bool, int, str, float, bytes)):
            if isinstance(v, enum.Enum):
                return int(v.value)
            return v
        alias = self.aliases.get(id(v))
        if alias is not None:
            return alias
        named = self.named(v)
        if named is not None:
            return named
        if isinstance(v, GeneratorType):
            return ("gen", frames(v, self))
        if isinstance(v, (list, tuple)):
            return (type(v).__name__, tuple(self.value(x, depth + 1) for x in v))
        if isinstance(v, dict):
            items = [(self.value(a, depth + 1), self.value(b, depth + 1)) for a, b in v.items()]
            return ("dict", tuple(sorted(items, key=repr)))
        if isinstance(v, (set, frozenset)):
            return ("set", tuple(sorted((self.value(x, depth + 1) for x in v), key=repr)))
        if isinstance(v, FunctionType):
            return ("fn", v.__qualname__)
        if is_dataclass(v) and depth < 6:
            return (type(v).__name__,
                    tuple(self.value(getattr(v, f.name), depth + 1) for f in fields(v)))
        self.coarse[type(v).__name__] += 1
        return (type(v).__name__,)


def frames(gen: Any, canon: _Canon) -> tuple[Hashable, ...]:
    """A generator's ``yield from`` chain: (function, instruction offset, locals) per frame."""
    out: list[Hashable] = []
    while gen is not None and isinstance(gen, GeneratorType):
        frame = gen.gi_frame
        if frame is None:
            out.append((gen.gi_code.co_qualname, "done"))
            break
        local = tuple(sorted(
            (name, canon.value(val, 1)) for name, val in frame.f_locals.items()
        ))
        out.append((gen.gi_code.co_qualname, frame.f_lasti, local))
        gen = gen.gi_yieldfrom
    return tuple(out)


def _entry(e: object) -> Hashable:
    name = type(e).__name__
    if name == "Pte":
        f = e.folio  # type: ignore[attr-defined]
        return (None if f is None else f.pfn, e.idx, e.bits)  # type: ignore[attr-defined]
    if name == "Pmd":
        f = e.folio  # type: ignore[attr-defined]
        return ("pmd", None if f is None else f.pfn, e.bits)  # type: ignore[attr-defined]
    if name == "SwpEntry":
        return ("swp", e.type, e.offset)  # type: ignore[attr-defined]
    return None


def _slot(ref: object, val: int) -> Hashable:
    """:func:`_entry` of a PTE table slot, read from its two stores (no Pte built)."""
    if val:
        return (None if ref is None else ref.pfn, val >> PTE_IDX_SHIFT,  # type: ignore[attr-defined]
                val & PTE_BITS_MASK)
    return _entry(ref)


def _all_tasks(k: Kernel) -> list[Any]:
    seen: dict[int, Any] = {}
    for t in k.tasks:
        seen[t.pid] = t
        for th in t.signal.threads:
            seen[th.pid] = th
    for t in k.runqueue:
        seen[t.pid] = t
    return [seen[p] for p in sorted(seen)]


def kernel_digest(k: Kernel, canon: _Canon | None = None) -> Hashable:
    """The canonical state of ``k`` (see the module docstring for what it covers)."""
    c = canon or _Canon()
    c.aliases = {}  # ids are only meaningful within this kernel, and only right now
    mms: dict[int, Any] = {mm.mm_id: mm for mm in k.mms}
    for t in _all_tasks(k):
        for m in (t.mm, getattr(t, "exit_mm", None), t.signal.oom_mm):
            if m is not None:
                mms.setdefault(m.mm_id, m)
    mm_part = []
    for mm_id in sorted(mms):
        mm = mms[mm_id]
        c.aliases[id(mm.pgd)] = ("pgd", mm_id)
        tables: list[Hashable] = []
        for idx in sorted(mm.pgd):
            t = mm.pgd[idx]
            if isinstance(t, PteTable):
                c.aliases[id(t)] = ("pte-table", mm_id, idx)
                slots = zip(t.refs, t.vals, strict=True)
                tables.append((idx, tuple(_slot(r, v) for r, v in slots)))
            else:
                tables.append((idx, _entry(t)))
        lock = mm.mmap_lock
        mm_part.append((
            mm_id, mm.mm_users, mm.mm_count, int(mm.flags), tuple(mm.rss_stat),
            mm.pgtables_bytes, mm.freed, tuple(v.vm_start for v in mm.mm_mt), tuple(tables),
            (lock.readers, lock.writer.pid if lock.writer else None,
             tuple((w.task.pid, w.write, w.granted) for w in lock.wait_list)),
        ))
    task_part = []
    for t in _all_tasks(k):
        s = t.signal
        task_part.append((
            t.pid, int(t.flags), t.pending, t.blocked, t.sigpending,
            c.value(t.mm), c.value(getattr(t, "exit_mm", None)), t.exit_state, t.exit_code,
            t.stopped, t.usage, t.frozen, t.dead, t.work_label,
            None if t.waiting is None else t.waiting.label,
            frames(t.work, c) if t.work is not None else None,
            int(s.flags), s.live, s.group_exit_code, s.core_state is None,
            c.value(s.oom_mm), tuple(x.pid for x in s.threads),
        ))
    lru = tuple(len(lst) for lst in k.lruvec.lists)
    return (tuple(mm_part), tuple(task_part), tuple(k.vmstat), lru,
            tuple(t.pid for t in k.runqueue), len(k.timers))


def state_digest(world: World) -> Hashable:
    """The kernel digest plus the world's observations: the memoisation key."""
    return (kernel_digest(world.kernel), world.observations())


# --- replay and exploration -------------------------------------------------------------------


def replay(build: Callable[[], World], schedule: Schedule | list[str]) -> World:
    """Build a fresh world and run ``schedule`` on it; every choice must be enabled."""
    w = build()
    for i, actor in enumerate(schedule):
        if actor not in w.enabled():
            raise ValueError(
                f"step {i}: {actor!r} cannot run here (enabled: {w.enabled()}); "
                "the schedule does not belong to this world"
            )
        w.step(actor)
    return w


def run_out(w: World, schedule: Schedule, choose: Callable[[list[str]], str]) -> Schedule:
    """Finish ``w`` with ``choose`` picking among the enabled actors; the full schedule."""
    out = list(schedule)
    while True:
        en = w.enabled()
        if not en:
            return tuple(out)
        a = choose(en)
        w.step(a)
        out.append(a)


@dataclass(slots=True)
class Exploration:
    """What :func:`explore` found: the number of schedules reaching each outcome, one
    schedule per outcome (a witness :func:`replay` reproduces), and the search size."""

    outcomes: dict[Hashable, int]
    witnesses: dict[Hashable, Schedule]
    states: int
    replays: int
    steps: int
    coarse: dict[str, int]

    @property
    def schedules(self) -> int:
        """Every distinct complete schedule, counted."""
        return sum(self.outcomes.values())


def _fails(build: Callable[[], World], schedule: Schedule) -> str | None:
    try:
        replay(build, schedule)
    except (InvariantViolation, ValueError, RuntimeError) as e:
        if isinstance(e, ValueError) and "cannot run here" in str(e):
            return None
        return f"{type(e).__name__}: {e}"
    return None


def minimise(build: Callable[[], World], schedule: Schedule) -> Schedule:
    """Shrink a failing schedule: drop single steps while it still fails (1-minimal)."""
    cur = tuple(schedule)
    changed = True
    while changed:
        changed = False
        for i in range(len(cur)):
            cand = cur[:i] + cur[i + 1:]
            if _fails(build, cand) is not None:
                cur = cand
                changed = True
                break
    return cur


class _Explorer:
    def __init__(self, build: Callable[[], World], memo: bool, max_states: int) -> None:
        self.build = build
        self.memo: dict[Hashable, Counter[Hashable]] = {}
        self.use_memo = memo
        self.max_states = max_states
        self.witnesses: dict[Hashable, Schedule] = {}
        self.replays = 0
        self.steps = 0
        self.states = 0
        self.canon = _Canon()

    def _step(self, w: World, prefix: Schedule, actor: str) -> None:
        try:
            w.step(actor)
        except (InvariantViolation, RuntimeError) as e:
            failing = (*prefix, actor)
            raise ScheduleFailure(f"{type(e).__name__}: {e}", minimise(self.build, failing)) from e
        self.steps += 1

    def visit(self, w: World, prefix: Schedule) -> Counter[Hashable]:
        key: Hashable = None
        if self.use_memo:
            key = (kernel_digest(w.kernel, self.canon), w.observations())
            hit = self.memo.get(key)
            if hit is not None:
                return hit
        self.states += 1
        if self.states > self.max_states:
            raise RuntimeError(f"more than {self.max_states} states; shrink the world")
        en = w.enabled()
        result: Counter[Hashable] = Counter()
        if not en:
            o = w.outcome()
            self.witnesses.setdefault(o, prefix)
            result[o] = 1
        for i, actor in enumerate(en):
            if i == 0:
                child = w
            else:
                child = replay(self.build, prefix)
                self.replays += 1
            self._step(child, prefix, actor)
            result.update(self.visit(child, (*prefix, actor)))
        if self.use_memo:
            self.memo[key] = result
        return result


def explore(build: Callable[[], World], *, memo: bool = True,
            max_states: int = 200_000) -> Exploration:
    """Visit every schedule of the world ``build()`` makes (see the module docstring)."""
    import sys

    ex = _Explorer(build, memo, max_states)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20_000))
    try:
        counts = ex.visit(build(), ())
    finally:
        sys.setrecursionlimit(old)
    order = sorted(counts, key=repr)
    return Exploration({o: counts[o] for o in order}, {o: ex.witnesses[o] for o in order},
                       ex.states, ex.replays, ex.steps, dict(ex.canon.coarse))


def sample(build: Callable[[], World], n: int, seed: int = 0,
           choose: Callable[[random.Random, list[str]], str] | None = None
           ) -> Iterator[tuple[Schedule, World]]:
    """``n`` seeded random schedules: each step picks uniformly among the enabled actors
    (or by ``choose``). Yields each schedule with its finished world."""
    rng = random.Random(seed)
    pick = choose or (lambda r, en: r.choice(en))
    for _ in range(n):
        w = build()
        s = run_out(w, (), lambda en: pick(rng, en))
        yield s, w
