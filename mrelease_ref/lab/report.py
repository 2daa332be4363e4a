"""Tables and figures of the real-kernel lab for notebook 05 (not kernel code).

Everything shown comes from stored data (``lab/data/parity_last.json``,
``lab/data/calibration.json``), from deterministic model runs, or (``live_agreement``)
from a live re-run reduced to its agree/disagree verdicts, so notebook outputs do not vary
from run to run.

Limitations:
    - Presentation only; needs pandas and matplotlib (the notebook extras).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from mrelease_ref.lab.calibration import (
    THREAD_MARK_ACCESSED_SHARE,
    Calibration,
    calibrated_cost_model,
    prices_from,
)
from mrelease_ref.scenarios import parity
from mrelease_ref.sim.cost import DEFAULT_PRICES_NS, CostModel

__all__ = (
    "calibration_figure",
    "calibration_table",
    "fact_summary",
    "file_cache_figure",
    "file_cache_table",
    "live_agreement",
    "mark_accessed_figure",
    "mark_accessed_table",
    "model_cost_table",
    "model_us_per_mib",
    "prices_table",
    "run_facts",
    "scenario_table",
    "steps_table",
)

KIND_TITLES = {
    "anon_4k": "anon 4 KiB",
    "anon_thp": "anon THP",
    "file_pmd": "file, PMD-mapped 2 MiB",
    "file_pte": "file, PTE-mapped 2 MiB",
    "file_4k": "file, 4 KiB folios",
}
FACTS = {
    "1": "errno order",
    "2": "dying task reaped at once, in full",
    "3": "'dying' = task_will_free_mem()",
    "4": "race decided by exit_mm()",
    "5": "outside mm reference",
    "6": "clean page cache kept",
    "7": "which VMAs are reaped",
    "8": "cost scales with pages",
    "9": "MemFree is a poor probe",
}


def run_facts(run: parity.ParityRun) -> pd.DataFrame:
    """Where and when a stored parity run was taken, and its verdict."""
    meta = run.meta
    facts = {
        "kernel (uname -r)": meta["kernel"],
        "build": meta["kernel_build"],
        "date": meta["date"],
        "machine": f"{meta['machine']}, {meta['cpus']} CPUs, "
        f"{meta['mem_total_kb'] // 1024} MiB",
        "THP": meta["thp"],
        "freezer": meta["freezer"],
        "rows": len(run.rows),
        "disagreements": len(run.disagreements),
        "rows re-run for noise": len(meta.get("retried", ())),
    }
    return pd.DataFrame({"stored parity run": facts})


def scenario_table(scenarios: Sequence[parity.Scenario] = parity.SCENARIOS) -> pd.DataFrame:
    """One line per scenario: what it does, its source, its victim, how many measures."""
    rows = []
    for sc in scenarios:
        victim = ", ".join(
            f"{m.kind} {m.nr_pages}" + (f" (dirty {m.dirty})" if m.dirty else "")
            for m in sc.victim.mappings
        )
        rows.append({"scenario": sc.name, "what": sc.title, "victim (pages)": victim,
                     "steps": len(sc.steps), "measures": len(sc.measures), "source": sc.source})
    return pd.DataFrame(rows)


def steps_table(sc: parity.Scenario) -> pd.DataFrame:
    """The steps of one scenario, as both runners execute them."""
    return pd.DataFrame([
        {"op": s.op, "label": s.label, "target": s.target if s.op in (
            "kill", "mrelease", "hold", "fadvise") else "", "flags": hex(s.flags) if s.flags
         else "", "caller uid": "" if s.uid is None else s.uid}
        for s in sc.steps
    ])


def fact_summary(rows: Sequence[parity.Row]) -> pd.DataFrame:
    """Rows and agreement per docs/sources.md §M0 item."""
    frame = parity.parity_frame(rows)
    frame = frame[frame["fact"] != ""]
    out = frame.groupby("fact").agg(rows=("agree", "size"), agree=("agree", "sum"))
    out.insert(0, "fact (docs/sources.md §M0)", [FACTS[f] for f in out.index])
    return out


def live_agreement(stored: parity.ParityRun) -> pd.DataFrame:
    """Agreement per scenario: a live re-run where the lab is available, the stored run
    elsewhere. Only verdicts are shown, so both give the same table when all agree."""
    from mrelease_ref.lab.syscalls import available

    ok, _ = available()
    if not ok:
        rows = stored.rows
    else:  # run_parity() holds lab.lock.realkernel_lock(), as the realkernel tests do
        rows = parity.run_parity().rows
    frame = parity.parity_frame(rows)
    return frame.groupby("scenario", sort=False).agg(
        rows=("agree", "size"), all_agree=("agree", "all"))


def calibration_table(cal: Calibration) -> pd.DataFrame:
    """µs per MiB (median, min, max) per kind and state, with the folio shapes."""
    rows = []
    for r in cal.results:
        rows.append({
            "kind": KIND_TITLES[r.kind], "state": r.state,
            "µs/MiB median": round(r.us_per_mib.median, 2),
            "min": round(r.us_per_mib.min, 2), "max": round(r.us_per_mib.max, 2),
            "in large folios": r.large_folio_fraction, "PMD-mapped": r.pmd_mapped_fraction,
        })
    return pd.DataFrame(rows)


def calibration_figure(cal: Calibration) -> Figure:
    """Grouped bars: µs/MiB per kind for each state, whiskers = min..max over reps."""
    kinds = list(dict.fromkeys(r.kind for r in cal.results))
    states = ("young", "cold", "cleared")
    fig, ax = plt.subplots(figsize=(8, 3.4))
    width = 0.8 / len(states)
    for j, state in enumerate(states):
        xs, ys, lo, hi = [], [], [], []
        for i, kind in enumerate(kinds):
            try:
                r = cal.cost(kind, state)
            except KeyError:
                continue
            xs.append(i + j * width)
            ys.append(r.us_per_mib.median)
            lo.append(r.us_per_mib.median - r.us_per_mib.min)
            hi.append(r.us_per_mib.max - r.us_per_mib.median)
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=state)
    ax.set_xticks([i + width for i in range(len(kinds))],
                  [KIND_TITLES[k].replace(", ", "\n") for k in kinds], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("reap cost, µs per MiB")
    ax.set_title(f"process_mrelease() on {cal.kernel} ({cal.date}), {cal.size_mib} MiB victims",
                 fontsize=9)
    ax.legend(frameon=False, fontsize=8, title="PTE/PMD young bits", title_fontsize=8)
    fig.tight_layout()
    return fig


def mark_accessed_table(cal: Calibration) -> pd.DataFrame:
    """Per file kind: young vs cleared µs/MiB and the share the young bits cost."""
    rows = []
    for kind in ("file_pmd", "file_pte", "file_4k"):
        rows.append({
            "kind": KIND_TITLES[kind],
            "young µs/MiB": round(cal.us_per_mib(kind, "young"), 2),
            "cleared µs/MiB": round(cal.us_per_mib(kind, "cleared"), 2),
            "mark_accessed µs/MiB": round(cal.mark_accessed_us_per_mib(kind), 2),
            "share of the reap": f"{cal.mark_accessed_share(kind):.0%}",
        })
    rows.append({"kind": "docs/sources.md §T5: exit_mmap on Android (perf)",
                 "share of the reap": f"{THREAD_MARK_ACCESSED_SHARE:.2%}"})
    return pd.DataFrame(rows).fillna("")


def mark_accessed_figure(cal: Calibration) -> Figure:
    """Share of the reap spent on young bits, per file kind, against the thread's profile."""
    kinds = ("file_pmd", "file_pte", "file_4k")
    shares = [cal.mark_accessed_share(k) * 100 for k in kinds]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar([KIND_TITLES[k].replace(", ", "\n") for k in kinds], shares, color="tab:orange")
    ax.axhline(THREAD_MARK_ACCESSED_SHARE * 100, color="k", linestyle="--", linewidth=1)
    ax.text(2.4, THREAD_MARK_ACCESSED_SHARE * 100 + 1.5, "thread: 55.75 % (exit_mmap, Android)",
            ha="right", fontsize=8)
    ax.set_ylabel("(young − cleared) / young, %")
    ax.set_ylim(0, 100)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(f"folio_mark_accessed() in the reap, {cal.kernel}", fontsize=9)
    fig.tight_layout()
    return fig


def prices_table(cal: Calibration) -> pd.DataFrame:
    """Model prices (ns per event): the estimated ones of mrelease_ref.sim.cost
    (``Kernel(cost="estimated")``) vs the ones calibrated from ``cal`` (the default)."""
    cal_prices = prices_from(cal)
    return pd.DataFrame({"estimated ns": DEFAULT_PRICES_NS,
                         "calibrated ns (default)": {k: cal_prices[k] for k in DEFAULT_PRICES_NS}})


def model_us_per_mib(cost: CostModel | None, thp: bool, nr_pages: int = 4096) -> float:
    """The model's reap time (µs per MiB) of a frozen, killed anon victim, 4 KiB or THP."""
    import signal

    from mrelease_ref import Kernel

    k = Kernel(seed=0, cost_model=cost)
    lmkd = k.spawn("lmkd", uid=0)
    victim = lmkd.spawn_child("victim")
    m = victim.mmap(nr_pages=nr_pages, thp=thp)
    victim.touch(m, write=True)
    k.lru_add_drain_all()
    fd = lmkd.pidfd_open(victim.pid)
    victim.freeze()
    lmkd.kill(victim.pid, signal.SIGKILL)
    t0 = k.clock_ns
    lmkd.process_mrelease(fd, 0)
    return (k.clock_ns - t0) / 1000 / (nr_pages / 256)


def model_cost_table(cal: Calibration) -> pd.DataFrame:
    """Reap µs/MiB of anonymous memory: live kernel, model with the estimated prices
    (``Kernel(cost="estimated")``), model with the prices calibrated from ``cal`` (the
    default ``Kernel()`` prices when ``cal`` is the stored calibration); model clock,
    deterministic."""
    calibrated = calibrated_cost_model(cal)
    rows = []
    for kind, thp in (("anon_4k", False), ("anon_thp", True)):
        rows.append({
            "kind": KIND_TITLES[kind],
            "kernel µs/MiB": round(cal.us_per_mib(kind), 2),
            "model, estimated prices": round(model_us_per_mib(CostModel(), thp), 2),
            "model, calibrated prices": round(model_us_per_mib(calibrated, thp), 2),
        })
    return pd.DataFrame(rows)


FILE_SCENARIOS = ("file-private", "dontneed-after-reap", "dontneed-without-reap", "file-cow")
SHORT = {
    "file-private": "private file",
    "dontneed-after-reap": "reaped,\nthen DONTNEED",
    "dontneed-without-reap": "not reaped,\nDONTNEED",
    "file-cow": "COW file",
}


def file_cache_table(
    stored: parity.ParityRun, variants: Sequence[str] = ("baseline", "v1")
) -> pd.DataFrame:
    """Page-cache rows of the file scenarios: the stored live kernel, and the model of each
    variant (``baseline`` is the parity model; others are predictions)."""
    by_name = {s.name: s for s in parity.SCENARIOS}
    kernel = {(r.scenario, r.measure): r.kernel for r in stored.rows}
    rows = []
    for name in FILE_SCENARIOS:
        sc = by_name[name]
        model = {v: parity.run_model(sc, v) for v in variants}
        for m in sc.measures:
            if not m.name.startswith(("nr_cache", "pages freed")):
                continue
            row = {"scenario": name, "measure": m.name,
                   f"kernel {stored.meta['kernel']}": kernel.get((name, m.name), "")}
            for v in variants:
                row[f"model {v}"] = m.value(model[v])
            rows.append(row)
    return pd.DataFrame(rows)


def file_cache_figure(table: pd.DataFrame) -> Figure:
    """Bars of the ``nr_cache`` rows of :func:`file_cache_table` (pages)."""
    cache = table[table["measure"].str.startswith("nr_cache")]
    labels = [f"{SHORT[s]}\n{m.removeprefix('nr_cache at ').removesuffix(' (pages)')}"
              for s, m in zip(cache["scenario"], cache["measure"], strict=True)]
    columns = [c for c in cache.columns if c.startswith(("kernel", "model"))]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    width = 0.8 / len(columns)
    for j, col in enumerate(columns):
        ax.bar([i + j * width for i in range(len(labels))], cache[col].astype(int), width,
               label=col)
    ax.set_xticks([i + width * (len(columns) - 1) / 2 for i in range(len(labels))], labels,
                  fontsize=7)
    ax.set_ylabel("pages in the page cache")
    ax.set_title("the victim's file after the reap: kept (baseline) or evicted (v1)",
                 fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
