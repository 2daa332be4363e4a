"""An ftrace-like event list (not kernel code).

Every traced model function calls ``Kernel.trace_event(func, detail)``; with tracing on,
that appends a :class:`TraceEvent`. ``str(event)`` looks like a line of
``/sys/kernel/tracing/trace``, so notebooks and golden tests can show and compare traces.

Limitations:
- Function-level events only; no per-page events, no durations.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One trace line: time (ns), the running task, its CPU, the function and details."""

    ts_ns: int
    comm: str
    pid: int
    cpu: int
    func: str
    detail: str

    def __str__(self) -> str:
        task = f"{self.comm}-{self.pid}"
        secs = f"{self.ts_ns // 1_000_000_000}.{self.ts_ns % 1_000_000_000 // 1000:06d}"
        return f"{task:>16} [{self.cpu:03d}] {secs}: {self.func}: {self.detail}"


def format_trace(events: list[TraceEvent], funcs: tuple[str, ...] | None = None) -> str:
    """Render events as text, optionally only those of some functions."""
    return "\n".join(str(e) for e in events if funcs is None or e.func in funcs)
