"""Shared pytest set-up (not tests).

Tests marked ``realkernel`` measure the running kernel (free pages, page cache, timing), so
two of them running at once -- from two checkouts, or a developer's parity run beside
``make test`` -- disturb each other's counters. Each such test holds an exclusive
``flock`` on :data:`LOCK_PATH` for its whole run protocol (set-up, including module-scoped
fixtures such as the stored parity run, call and teardown); a manual run of the lab can take
the same lock with ``flock /tmp/mrelease_ref-realkernel.lock python -m ...``.
"""

from __future__ import annotations

import fcntl
from collections.abc import Generator

import pytest

LOCK_PATH = "/tmp/mrelease_ref-realkernel.lock"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Serialise tests that touch the live kernel across processes (flock on LOCK_PATH)."""
    if item.get_closest_marker("realkernel") is None:
        yield
        return
    with open(LOCK_PATH, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
