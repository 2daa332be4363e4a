"""The lab scripts' shared output helper (not kernel code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrelease_ref.lab._cli import write_json


def test_write_json_is_stable_and_creates_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stored measurements are diffed in git, so the same data must give the same bytes
    (sorted keys, one trailing newline) and the folder is created on first use."""
    out = tmp_path / "new" / "m.json"
    write_json(out, {"b": 1, "a": [2, 3]})
    first = out.read_bytes()
    write_json(out, {"a": [2, 3], "b": 1})
    assert out.read_bytes() == first
    assert first.endswith(b"}\n") and json.loads(first) == {"a": [2, 3], "b": 1}
    assert list(json.loads(first)) == ["a", "b"]
    assert f"written {out}" in capsys.readouterr().out
