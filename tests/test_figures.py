"""Figures written by mrelease_ref.viz.figures.save() are byte-stable (docs/conventions.md §C5)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from mrelease_ref.viz import figures

_SCRIPT = """
from matplotlib.figure import Figure
from mrelease_ref.viz import save
import sys
fig = Figure(figsize=(4, 3))
ax = fig.add_subplot()
ax.plot([0, 1, 2, 3], [0, 3, 1, 2], label="pages")
ax.set_title("reap")
ax.legend()
for p in save(fig, "demo", formats=("png", "svg", "pdf")):
    print(p.name)
"""


def _make_figure() -> Figure:
    """The same small figure as _SCRIPT, with text, a legend and clipped lines."""
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2, 3], [0, 3, 1, 2], label="pages")
    ax.set_title("reap")
    ax.legend()
    return fig


def _digests(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_save_twice_is_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving the same figure twice gives identical bytes in every format."""
    monkeypatch.setenv(figures.ENV_ROOT, str(tmp_path))
    fig = _make_figure()
    first = _digests(figures.save(fig, "demo", formats=("png", "svg", "pdf")))
    second = _digests(figures.save(fig, "demo", formats=("png", "svg", "pdf")))
    assert first == second
    assert sorted(first) == ["demo.pdf", "demo.png", "demo.svg"]


def test_save_is_byte_identical_across_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A figure saved in another Python process has the same bytes (no time, no random ids)."""
    here, there = tmp_path / "here", tmp_path / "there"
    monkeypatch.setenv(figures.ENV_ROOT, str(here))
    local = _digests(figures.save(_make_figure(), "demo", formats=("png", "svg", "pdf")))
    monkeypatch.setenv(figures.ENV_ROOT, str(there))
    subprocess.run([sys.executable, "-c", _SCRIPT], check=True, capture_output=True)
    remote = _digests(sorted((there / "figures").iterdir()))
    assert local == remote


def test_save_writes_into_root_figures_without_volatile_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files land in <root>/figures/; SVG has no date, PNG no matplotlib version, SVG text
    stays text."""
    monkeypatch.setenv(figures.ENV_ROOT, str(tmp_path))
    paths = figures.save(_make_figure(), "demo")
    assert paths == [tmp_path / "figures" / "demo.png", tmp_path / "figures" / "demo.svg"]
    svg = paths[1].read_text(encoding="utf-8")
    assert "<dc:date>" not in svg
    assert "<text" in svg and "reap" in svg
    assert b"Matplotlib version" not in paths[0].read_bytes()


def test_repo_root_walks_up_to_this_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the override, the root is the folder holding this project's pyproject.toml,
    found from notebooks/ as well."""
    monkeypatch.delenv(figures.ENV_ROOT, raising=False)
    root = Path(__file__).resolve().parent.parent
    assert figures.repo_root(root / "notebooks") == root


@pytest.mark.parametrize("name", ["", "../x", "sub/x", ".hidden"])
def test_save_rejects_non_stem_names(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A figure name is a plain file stem, so nothing is written outside figures/."""
    monkeypatch.setenv(figures.ENV_ROOT, str(tmp_path))
    with pytest.raises(ValueError):
        figures.save(_make_figure(), name)


def test_save_rejects_unknown_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only formats whose volatile metadata is known to be stripped are accepted."""
    monkeypatch.setenv(figures.ENV_ROOT, str(tmp_path))
    with pytest.raises(ValueError):
        figures.save(_make_figure(), "demo", formats=("jpg",))
