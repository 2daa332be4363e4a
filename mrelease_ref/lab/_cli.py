"""Command-line plumbing shared by the lab's measuring scripts (not kernel code).

Limitations:
    - None of its own: two helpers for ``main()`` functions (tested through
      tests/test_lab_cli.py::test_write_json_is_stable_and_creates_the_folder).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mrelease_ref.lab.syscalls import available

__all__ = ("lab_unavailable", "write_json")


def lab_unavailable() -> bool:
    """True (and the reason on stderr) when this machine cannot run live measurements."""
    ok, reason = available()
    if not ok:
        print(f"lab unavailable: {reason}", file=sys.stderr)
    return not ok


def write_json(out: Path, data: Any, *, sort_keys: bool = True) -> None:
    """Write measured ``data`` to ``out`` (creating its folder) and say so on stdout."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=sort_keys) + "\n", encoding="utf-8")
    print(f"written {out}")
