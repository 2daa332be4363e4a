"""The kill/``process_mrelease()`` race on the live kernel: ESRCH rate against the delay.

Run by hand on a lab machine (root), never in CI, under the lab lock::

    flock /tmp/mrelease_ref-realkernel.lock python -m mrelease_ref.lab.race \\
        [--sizes 1,64] [--delays 0,5,10,...] [--reps 30] [--out PATH]

Method (stored in the JSON as text, too): for each victim size (MiB of written 4 KiB
anonymous pages) and each delay *d* (µs), ``--reps`` fresh victims (a Python process
sleeping in the kernel, :func:`mrelease_ref.lab.victim.launch_victim`, not frozen) are
SIGKILLed through their pidfd; the caller busy-waits *d* µs on ``perf_counter_ns`` and
calls ``process_mrelease(pidfd, 0)``; the result (0, ESRCH, or another errno) is counted.
Delays are taken round-robin over the repetitions so that a burst of other load falls on
every delay alike. The time from the kill to the pidfd becoming readable (the victim's
exit) is recorded too. :func:`load_race_esrch` reads the JSON back.

What the model says about it (``mrelease_ref.scenarios.races``, notebook 04): ESRCH starts
once the victim has cleared ``->mm`` in ``exit_mm()``, which comes *before*
``exit_mmap()``, so the curve should not depend on the victim's size; the delay at which
it rises is the victim's wake-up latency plus its way from signal delivery to
``exit_mm()``.

Limitations:
    - A shared 2-vCPU VM: the victim needs the other CPU while the caller busy-waits, so
      load from other processes shifts the curve; medians and counts are stored, not
      fitted.
    - Python adds a few µs between ``pidfd_send_signal()`` and the delay loop, and between
      the loop and the syscall; delays are the loop's, not the kernel's.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import json
import os
import platform
import re
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrelease_ref.lab._cli import lab_unavailable, write_json
from mrelease_ref.lab._closing import Closing
from mrelease_ref.lab.syscalls import process_mrelease
from mrelease_ref.lab.victim import VictimSpec, launch_victim

__all__ = ("RACE_PATH", "RaceEsrch", "Trial", "load_race_esrch", "main", "measure", "trial")

RACE_PATH = Path(__file__).with_name("data") / "race_esrch.json"
PAGES_PER_MIB = 256

METHOD = (
    "fresh Python victim with SIZE MiB of written 4 KiB anonymous pages (not frozen), "
    "SIGKILLed via pidfd_send_signal; the caller busy-waits DELAY us on perf_counter_ns, "
    "then process_mrelease(pidfd, 0); result counted (0 / ESRCH / other). REPS victims per "
    "(size, delay), delays taken round-robin. exit_us: kill to pidfd readable (the "
    "victim's exit). exit_mm_latency_us: per (policy, size), from the same trials, the "
    "kernel's own timestamps: tracepoint signal:signal_generate (the SIGKILL) to "
    "sched:sched_process_exit (do_exit(), just before exit_mm()). Policies: fifo = victim "
    "SCHED_FIFO 50, other = default."
)


TRACEFS = Path("/sys/kernel/tracing")
_EVENTS = ("signal/signal_generate", "sched/sched_process_exit")
_TS = re.compile(r"\s(\d+\.\d+):\s+(signal_generate|sched_process_exit):(.*)$")


class ExitTrace(Closing):
    """The kernel's own timestamps of the SIGKILL and of the victim's ``do_exit()``
    (tracepoints ``signal:signal_generate`` and ``sched:sched_process_exit``; v6.18's
    ``do_exit()`` fires the latter just before ``exit_mm()``). Mounts tracefs if needed."""

    def __init__(self) -> None:
        if not (TRACEFS / "events").is_dir():
            subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACEFS)], check=True)
        for ev in _EVENTS:
            (TRACEFS / "events" / ev / "enable").write_text("1")
        (TRACEFS / "tracing_on").write_text("1")

    def clear(self) -> None:
        """Empty the trace buffer."""
        (TRACEFS / "trace").write_text("")

    def latency_us(self, pid: int) -> float | None:
        """µs from the SIGKILL sent to ``pid`` to its ``sched_process_exit``, if traced."""
        sent = ended = None
        for line in (TRACEFS / "trace").read_text().splitlines():
            m = _TS.search(line)
            if m is None or f"pid={pid} " not in m.group(3) + " ":
                continue
            if m.group(2) == "signal_generate" and "sig=9 " in m.group(3) and sent is None:
                sent = float(m.group(1))
            elif m.group(2) == "sched_process_exit" and ended is None:
                ended = float(m.group(1))
        if sent is None or ended is None:
            return None
        return round((ended - sent) * 1e6, 1)

    def close(self) -> None:
        """Disable the two events again."""
        for ev in _EVENTS:
            with contextlib.suppress(OSError):
                (TRACEFS / "events" / ev / "enable").write_text("0")


def trial(nr_pages: int, delay_us: float, rt: bool = False,
          trace: ExitTrace | None = None) -> tuple[str, float, float | None, float]:
    """One victim: kill, wait ``delay_us``, ``process_mrelease()``. Returns the result
    ("0", "ESRCH", ...), the kill-to-exit time in µs, and (with ``trace``) the kernel's
    kill-to-``do_exit()`` time in µs, and when (µs after the kill was sent) the caller
    entered ``process_mrelease()``'s wrapper. With ``rt`` the victim runs SCHED_FIFO (priority
    50), so no other load delays its wake-up."""
    with launch_victim(VictimSpec.of("anon", nr_pages)) as v:
        if rt:
            os.sched_setscheduler(v.pid, os.SCHED_FIFO, os.sched_param(50))
        if trace is not None:
            trace.clear()
        delay_ns = int(delay_us * 1000)
        t0 = time.perf_counter_ns()
        v.kill()
        while time.perf_counter_ns() - t0 < delay_ns:
            pass
        call_us = (time.perf_counter_ns() - t0) / 1000
        try:
            process_mrelease(v.pidfd, 0)
            rc = "0"
        except OSError as e:
            rc = errno.errorcode.get(e.errno or 0, str(e.errno))
        poller = select.poll()
        poller.register(v.pidfd, select.POLLIN)
        poller.poll(10_000)
        exit_us = (time.perf_counter_ns() - t0) / 1000
        pid = v.pid
        v.wait()
    return rc, exit_us, trace.latency_us(pid) if trace is not None else None, call_us


def measure(sizes_mib: Sequence[int], delays_us: Sequence[float], reps: int,
            policies: Sequence[str] = ("fifo", "other"),
            log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the experiment; return the JSON-ready dict (see the module docstring).
    ``policies``: "fifo" (victim SCHED_FIFO) and/or "other" (the default policy)."""
    cells = [(p, s, d) for p in policies for s in sizes_mib for d in delays_us]
    raw: dict[tuple[str, int, float], list[tuple[str, float, float | None, float]]] = {
        c: [] for c in cells}
    with ExitTrace() as trace:
        for rep in range(reps):
            for pol, size, d in cells:
                raw[pol, size, d].append(trial(size * PAGES_PER_MIB, d, pol == "fifo", trace))
            log(f"rep {rep + 1}/{reps} done")
    lat: dict[tuple[str, int], list[float]] = {}
    for (pol, size, _d), got in raw.items():
        lat.setdefault((pol, size), []).extend(x for _, _, x, _ in got if x is not None)
    results = []
    for pol, size, d in cells:
        rcs = [rc for rc, _, _, _ in raw[pol, size, d]]
        exits = [e for _, e, _, _ in raw[pol, size, d]]
        calls = [c for _, _, _, c in raw[pol, size, d]]
        results.append({
            "policy": pol,
            "size_mib": size, "delay_us": d, "n": len(rcs), "esrch": rcs.count("ESRCH"),
            "ok": rcs.count("0"), "other": len(rcs) - rcs.count("ESRCH") - rcs.count("0"),
            "exit_us_median": round(statistics.median(exits), 1),
            "call_us_median": round(statistics.median(calls), 1),
        })
        log(f"{pol:5} {size:4} MiB  d={d:6.1f} us  ESRCH {rcs.count('ESRCH'):3}/{len(rcs)}  "
            f"exit {statistics.median(exits):8.1f} us")
    uname = platform.uname()
    return {
        "kernel": uname.release,
        "kernel_build": uname.version,
        "date": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "machine": {"cpus": len(__import__("os").sched_getaffinity(0)),
                    "python": platform.python_version()},
        "method": METHOD.replace("REPS", str(reps)),
        "reps": reps,
        "results": results,
        "exit_mm_latency_us": [{"policy": p, "size_mib": s, "samples": sorted(v)}
                               for (p, s), v in lat.items()],
        "trials": [{"policy": p, "size_mib": s, "delay_us": d, "rc": rc,
                    "exit_us": round(e, 1), "do_exit_us": x, "call_us": round(c, 1)}
                   for (p, s, d), got in raw.items() for rc, e, x, c in got],
    }


@dataclass(frozen=True, slots=True)
class Trial:
    """One stored trial: the nominal delay, the result, and the kernel's kill-to-
    ``do_exit()`` time and the caller's kill-to-call time (µs)."""

    policy: str
    size_mib: int
    delay_us: float
    rc: str
    do_exit_us: float | None
    call_us: float


@dataclass(frozen=True, slots=True)
class RaceEsrch:
    """The stored measurement: kernel, date, and per (policy, size) the (delay µs, ESRCH
    rate, n) points in delay order, the median kill-to-exit time per point, and the
    measured kill-to-``exit_mm()`` latencies (µs)."""

    kernel: str
    date: str
    method: str
    points: dict[tuple[str, int], tuple[tuple[float, float, int], ...]]
    exit_us: dict[tuple[str, int], tuple[float, ...]]
    latency_us: dict[tuple[str, int], tuple[float, ...]]
    call_us: dict[tuple[str, int], tuple[float, ...]]
    trials: tuple[Trial, ...]

    def crossing_us(self, policy: str, size_mib: int, level: float = 0.5) -> float:
        """The delay at which the ESRCH rate first reaches ``level`` (linear
        interpolation between measured delays)."""
        return crossing([(d, r) for d, r, _ in self.points[policy, size_mib]], level)


def crossing(curve: Sequence[tuple[float, float]], level: float = 0.5) -> float:
    """First ``x`` where the piecewise-linear ``(x, y)`` curve reaches ``level``
    (``inf`` if never)."""
    prev: tuple[float, float] | None = None
    for x, y in curve:
        if y >= level:
            if prev is None or y == prev[1]:
                return x
            x0, y0 = prev
            return x0 + (level - y0) * (x - x0) / (y - y0)
        prev = (x, y)
    return float("inf")


def load_race_esrch(path: Path = RACE_PATH) -> RaceEsrch:
    """Read the JSON :func:`main` writes."""
    data = json.loads(path.read_text(encoding="utf-8"))
    points: dict[tuple[str, int], list[tuple[float, float, int]]] = {}
    exits: dict[tuple[str, int], list[float]] = {}
    calls: dict[tuple[str, int], list[float]] = {}
    for r in sorted(data["results"], key=lambda r: (r["policy"], r["size_mib"], r["delay_us"])):
        key = (str(r["policy"]), int(r["size_mib"]))
        points.setdefault(key, []).append((float(r["delay_us"]), r["esrch"] / r["n"],
                                           int(r["n"])))
        exits.setdefault(key, []).append(float(r["exit_us_median"]))
        calls.setdefault(key, []).append(float(r["call_us_median"]))
    lat = {(str(e["policy"]), int(e["size_mib"])): tuple(float(x) for x in e["samples"])
           for e in data["exit_mm_latency_us"]}
    return RaceEsrch(data["kernel"], data["date"], data["method"],
                     {k: tuple(v) for k, v in points.items()},
                     {k: tuple(v) for k, v in exits.items()}, lat,
                     {k: tuple(v) for k, v in calls.items()},
                     tuple(Trial(t["policy"], int(t["size_mib"]), float(t["delay_us"]), t["rc"],
                                 t["do_exit_us"], float(t["call_us"]))
                           for t in data.get("trials", ())))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: measure and write the JSON."""
    p = argparse.ArgumentParser(prog="python -m mrelease_ref.lab.race", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1,64")
    p.add_argument("--delays", default="0,10,20,40,80,160,500,1000,2000,4000,8000")
    p.add_argument("--policies", default="other,fifo")
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--out", type=Path, default=RACE_PATH)
    args = p.parse_args(argv)
    if lab_unavailable():
        return 2
    sizes = [int(s) for s in args.sizes.split(",") if s]
    delays = [float(d) for d in args.delays.split(",") if d]
    data = measure(sizes, delays, args.reps, [x for x in args.policies.split(",") if x])
    write_json(args.out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
