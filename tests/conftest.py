"""Shared pytest set-up (not tests).

Tests marked ``realkernel`` measure the running kernel (free pages, page cache, timing), so
two of them running at once -- from two checkouts, or a notebook's live cell beside
``make test`` -- disturb each other's counters. Each such test holds
:func:`mrelease_ref.lab.lock.realkernel_lock` for its whole run protocol (set-up, including
module-scoped fixtures such as the parity run, call and teardown).
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from mrelease_ref.lab.lock import realkernel_lock


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Serialise tests that touch the live kernel across processes."""
    if item.get_closest_marker("realkernel") is None:
        yield
        return
    with realkernel_lock():
        yield
