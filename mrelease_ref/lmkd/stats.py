"""Seeds, sweeps and confidence intervals for the LMKD simulation.

Not kernel code. A sweep runs :func:`mrelease_ref.lmkd.sim.run` for every combination of
parameter values, variants and seeds and returns one flat row per run; :func:`summarise`
groups the rows and gives each metric's mean with a two-sided Student-t interval (stdlib
only: the t quantile comes from integrating the t density with ``math.lgamma`` and
bisection, exact to far more digits than the tables print).

Parameter names are :class:`~mrelease_ref.lmkd.sim.Scenario` fields, or
``device.<field>`` / ``lmkd.<field>`` for :class:`~mrelease_ref.lmkd.device.DeviceConfig`
and :class:`~mrelease_ref.lmkd.policy.LmkdConfig` fields.

Limitations:
- Runs are independent and sequential (one process); seeds are 0..n-1 unless given.
- The t-interval assumes roughly normal per-seed values; with few seeds and integer kill
  counts it is a rough guide, and a zero-width interval only means every seed agreed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mrelease_ref.lmkd.sim import RunResult, Scenario, run

METRICS = ("kills", "redundant", "recovery ms", "left cached MiB", "relaunch read MiB")


def with_param(sc: Scenario, name: str, value: Any) -> Scenario:
    """``sc`` with one parameter changed (``"p_esrch"``, ``"device.kswapd_mb_s"``, ...)."""
    if name.startswith("device."):
        return replace(sc, device=replace(sc.device, **{name[7:]: value}))
    if name.startswith("lmkd."):
        return replace(sc, lmkd=replace(sc.lmkd, **{name[5:]: value}))
    if name not in Scenario.__dataclass_fields__:
        raise ValueError(f"unknown parameter {name!r}: a Scenario field, device.* or lmkd.*")
    return replace(sc, **{name: value})


def _t_pdf(x: float, df: int) -> float:
    c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(c - (df + 1) / 2 * math.log1p(x * x / df))


def _t_cdf_upper(x: float, df: int, steps: int = 2000) -> float:
    """P(0 <= T <= x) by Simpson's rule."""
    h = x / steps
    s = _t_pdf(0.0, df) + _t_pdf(x, df)
    for i in range(1, steps):
        s += (4 if i % 2 else 2) * _t_pdf(i * h, df)
    return s * h / 3


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (p > 0.5) of Student's t with ``df`` degrees of freedom."""
    if not 0.5 < p < 1.0 or df < 1:
        raise ValueError("need 0.5 < p < 1 and df >= 1")
    target = p - 0.5
    lo, hi = 0.0, 1.0
    while _t_cdf_upper(hi, df) < target:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if _t_cdf_upper(mid, df) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True, slots=True)
class Interval:
    """Mean and two-sided t-interval over ``n`` values."""

    mean: float
    lo: float
    hi: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.2f} [{self.lo:.2f}, {self.hi:.2f}]"


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean and Student-t confidence interval (a single value gives a zero-width one)."""
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("t_interval needs at least one value")
    m = statistics.fmean(xs)
    if len(xs) == 1:
        return Interval(m, m, m, 1)
    half = t_quantile(0.5 + confidence / 2, len(xs) - 1) * statistics.stdev(xs) / math.sqrt(
        len(xs))
    return Interval(m, m - half, m + half, len(xs))


def sweep(
    base: Scenario,
    param: str | None,
    values: Iterable[Any],
    variants: Sequence[str],
    seeds: Sequence[int],
) -> list[dict[str, Any]]:
    """One row per (value, variant, seed): the run's :meth:`RunResult.summary` plus the
    parameter's value under ``"value"``."""
    rows: list[dict[str, Any]] = []
    for value in values:
        sc = base if param is None else with_param(base, param, value)
        for variant in variants:
            for seed in seeds:
                r = run(replace(sc, variant=variant, seed=seed))
                rows.append({"value": value, **r.summary()})
    return rows


def sweep2(
    base: Scenario,
    params: tuple[str, str],
    values: tuple[Sequence[Any], Sequence[Any]],
    variants: Sequence[str],
    seeds: Sequence[int],
) -> list[dict[str, Any]]:
    """A two-parameter grid; rows carry ``"x"`` and ``"y"``."""
    rows: list[dict[str, Any]] = []
    for x in values[0]:
        sx = with_param(base, params[0], x)
        for y in values[1]:
            for row in sweep(with_param(sx, params[1], y), None, [None], variants, seeds):
                row.pop("value")
                rows.append({"x": x, "y": y, **row})
    return rows


def summarise(
    rows: Sequence[dict[str, Any]], keys: Sequence[str], metrics: Sequence[str] = METRICS
) -> list[dict[str, Any]]:
    """Group ``rows`` by ``keys``; per metric the mean and its 95 % t-interval (rows where
    the metric is None are left out of that metric)."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    out: list[dict[str, Any]] = []
    for key, members in groups.items():
        item: dict[str, Any] = dict(zip(keys, key, strict=True))
        item["seeds"] = len(members)
        for m in metrics:
            vals = [r[m] for r in members if r.get(m) is not None]
            if not vals:
                item[m] = item[f"{m} ±"] = None
                continue
            ci = t_interval(vals)
            item[m] = round(ci.mean, 2)
            item[f"{m} ±"] = round(ci.hi - ci.mean, 2)
        out.append(item)
    return out


def paired_saving(
    rows: Sequence[dict[str, Any]], keys: Sequence[str], base: str, other: str,
    metric: str = "kills",
) -> list[dict[str, Any]]:
    """Per group of ``keys``: the mean of (``base`` − ``other``) over seeds, paired by seed,
    with its t-interval (e.g. kills saved by v1 over the baseline)."""
    by: dict[tuple[Any, ...], dict[str, dict[int, float]]] = {}
    for r in rows:
        g = by.setdefault(tuple(r[k] for k in keys), {})
        g.setdefault(r["variant"], {})[r["seed"]] = r[metric]
    out: list[dict[str, Any]] = []
    for key, per in by.items():
        a, b = per.get(base, {}), per.get(other, {})
        diffs = [a[s] - b[s] for s in sorted(a) if s in b]
        ci = t_interval(diffs)
        out.append({**dict(zip(keys, key, strict=True)), "saved": round(ci.mean, 2),
                    "±": round(ci.hi - ci.mean, 2), "seeds": ci.n})
    return out


def run_all(base: Scenario, variants: Iterable[str]) -> dict[str, RunResult]:
    """The same scenario under each variant."""
    return {v: run(replace(base, variant=v)) for v in variants}
