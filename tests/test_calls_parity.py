"""The calls users make (madvise, mprotect, mlock, memfd, mincore) held to the live kernel.

``mrelease_ref.scenarios.parity.CALL_SCENARIOS`` describes each call once; the model runs it
through the Process API, the lab victim makes the same calls on the running kernel. Rules
and sources are each scenario's ``source`` (v6.18 mm/madvise.c, mm/mprotect.c, mm/mlock.c,
mm/memfd.c, mm/mincore.c, fs/proc/task_mmu.c); each measure's ``expect`` is derived from
that code (e.g. 1024 pages - 256 DONTNEED'd = 3072 kB).
"""

from __future__ import annotations

import pytest
from _support import require_parity_lab

from mrelease_ref.scenarios import parity


@pytest.mark.parametrize("sc", parity.CALL_SCENARIOS, ids=[s.name for s in parity.CALL_SCENARIOS])
def test_model_gives_the_values_the_kernel_code_implies(sc: parity.Scenario) -> None:
    """Each call scenario's measures on the model equal the value its source implies."""
    obs = parity.run_model(sc)
    for m in sc.measures:
        value = m.value(obs)
        if m.expect is None:
            continue
        if m.tolerance is None:
            assert value == m.expect, (m.name, value)
        else:
            assert abs(int(value) - int(m.expect)) <= m.tolerance.abs, (m.name, value)


def test_call_scenarios_give_twenty_rows_and_stay_apart() -> None:
    """At least 20 distinct rows; the call scenarios are not in the main table (its stored
    run and notebook 05 stay as they are) and have their own stored run."""
    rows = {(s.name, m.name) for s in parity.CALL_SCENARIOS for m in s.measures}
    assert len(rows) == sum(len(s.measures) for s in parity.CALL_SCENARIOS) >= 20
    assert not {s.name for s in parity.CALL_SCENARIOS} & {s.name for s in parity.SCENARIOS}
    assert parity.CALLS_STORED_RUN != parity.STORED_RUN


def test_stored_calls_run_agrees() -> None:
    """The stored live run of the call scenarios (``python -m mrelease_ref.scenarios.parity
    --calls``) covers every row and has no disagreement and no unexpected kernel value."""
    run = parity.load_run(parity.CALLS_STORED_RUN)
    assert run.meta["kernel"] and run.meta["date"]
    rows = {(r.scenario, r.measure) for r in run.rows}
    assert rows == {(s.name, m.name) for s in parity.CALL_SCENARIOS for m in s.measures}
    assert run.disagreements == []
    assert all(r.meets(r.expect) for r in run.rows)


@pytest.mark.realkernel
def test_call_scenarios_agree_with_the_live_kernel() -> None:
    """Every call scenario, run on the model and the running kernel, agrees row by row and
    the kernel shows the value the kernel code implies."""
    require_parity_lab()
    run = parity.run_parity(parity.CALL_SCENARIOS)
    bad = [r for r in run.rows if not r.agree or not r.meets(r.expect)]
    assert not bad, parity.parity_frame(bad).to_string()
