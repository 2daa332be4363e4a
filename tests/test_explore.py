"""The schedule explorer (``mrelease_ref.sim.explore``): replay, memoisation, failures.

These check the machinery, not the kernel: a memoised exploration must count exactly the
schedules and outcomes a plain enumeration finds; a witness schedule must replay to its
outcome; an invariant violation must stop the search with a 1-minimal schedule that
``replay()`` reproduces. Worlds are the race of ``mrelease_ref.scenarios.races`` (kernel
rules: kernel/exit.c exit_mm(), mm/oom_kill.c process_mrelease(), docs/sources.md §T4.4).
"""

from __future__ import annotations

import pytest

from mrelease_ref.scenarios.races import RaceSpec, RaceWorld, world
from mrelease_ref.sim.explore import ScheduleFailure, explore, kernel_digest, replay, sample
from mrelease_ref.sim.invariants import InvariantViolation

SMALL = RaceSpec("baseline", ("reader",), nr_pmds=1, pages_per_pmd=2)


@pytest.mark.parametrize("spec", [
    SMALL,
    RaceSpec("v2", ("reader",), nr_pmds=1, pages_per_pmd=2),
    RaceSpec("exit_mm_field", ("smaps",), nr_pmds=1, pages_per_pmd=2),
])
def test_memoised_exploration_counts_what_plain_enumeration_counts(spec: RaceSpec) -> None:
    """Memoising on the canonical state digest is sound here: the same outcomes, with the
    same number of schedules each, as visiting every schedule one by one (and fewer
    states)."""
    memo = explore(world(spec))
    plain = explore(world(spec), memo=False)
    assert memo.outcomes == plain.outcomes
    assert memo.schedules == plain.schedules > 100
    assert memo.states < plain.states
    assert not memo.coarse  # every object in the digest had a canonical form


def test_witnesses_replay_to_their_outcome() -> None:
    """Each outcome's witness is a plain list of actor names that ``replay()`` re-runs on
    a fresh world to exactly that outcome."""
    ex = explore(world(SMALL))
    for outcome, schedule in ex.witnesses.items():
        w = replay(world(SMALL), schedule)
        assert w.enabled() == []
        assert w.outcome() == outcome


def test_replay_rejects_a_schedule_of_another_world() -> None:
    """A choice that is not enabled is bad input: ValueError saying which step."""
    with pytest.raises(ValueError, match="step 0: 'victim' cannot run"):
        replay(world(SMALL), ["victim"])


def test_equal_states_have_equal_digests_and_different_ones_differ() -> None:
    """The digest is canonical: two fresh worlds digest the same (no addresses or ids);
    one step changes it."""
    a, b = RaceWorld(SMALL), RaceWorld(SMALL)
    assert kernel_digest(a.kernel) == kernel_digest(b.kernel)
    a.step("caller")
    assert kernel_digest(a.kernel) != kernel_digest(b.kernel)


class _Corrupting(RaceWorld):
    """A world whose victim corrupts its rss counter on its second step (a planted bug)."""

    def step(self, actor: str) -> None:
        RaceWorld.step(self, actor)
        if actor == "victim":
            self.victim_steps = getattr(self, "victim_steps", 0) + 1
            if self.victim_steps == 2:
                self.mm.rss_stat[0] += 7
                self.kernel.check()


def test_a_violation_stops_with_a_minimal_replayable_schedule() -> None:
    """With debug_vm on, a broken invariant (rss counters vs page tables, CONFIG_DEBUG_VM's
    check_mm()) raises ScheduleFailure carrying a schedule from which no single step can
    be dropped, and replaying it raises the violation again."""
    def build() -> _Corrupting:
        return _Corrupting(SMALL)

    with pytest.raises(ScheduleFailure) as err:
        explore(build)
    schedule = err.value.schedule
    assert schedule == ("caller", "victim", "victim")
    assert "replay schedule" in str(err.value)
    with pytest.raises(InvariantViolation):
        replay(build, schedule)


def test_sampling_is_seeded() -> None:
    """Seeded sampling draws the same schedules for the same seed."""
    a = [s for s, _ in sample(world(SMALL), 5, seed=3)]
    b = [s for s, _ in sample(world(SMALL), 5, seed=3)]
    assert a == b and len(set(a)) > 1


def test_exploration_is_deterministic() -> None:
    """House rule (no memory addresses in results): the same world explored twice in one
    process, with other worlds in between, visits the same states with the same replays.
    Object ids are only used as aliases inside one digest."""
    first = explore(world(SMALL))
    explore(world(RaceSpec("v2", ("reader",), nr_pmds=1, pages_per_pmd=2)))
    second = explore(world(SMALL))
    assert (first.states, first.replays, first.outcomes) == (
        second.states, second.replays, second.outcomes)
