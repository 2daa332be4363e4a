"""
Byte-stable figure files
========================

:func:`save` writes a matplotlib figure into ``<repo>/figures/`` so that saving the same
figure again, in another process or on another day, gives the same bytes. CI relies on this:
nbval re-executes every notebook, the notebooks rewrite ``figures/``, and the figures gate
fails if any byte changed (``tools/figures_gate.py``).

What would otherwise change from run to run (docs/conventions.md §C5):

* SVG: ``<dc:date>`` and random element ids (clip paths). Fixed by
  ``rcParams["svg.hashsalt"]`` *and* ``metadata={"Date": None}``; the salt alone is not
  enough.
* PNG: the ``Software`` tEXt chunk carries the matplotlib version.
* PDF: CreationDate/ModDate/Producer/Creator.

``svg.fonttype = "none"`` writes text as ``<text>`` elements instead of glyph paths, which
keeps SVGs small and their diffs readable.

The repository root is the nearest ancestor (of the current directory, then of this file)
holding a ``pyproject.toml`` whose ``[project] name`` is ``mrelease-ref``; the environment
variable ``MRELEASE_REF_ROOT`` overrides the search (tests point it at a temporary folder).
Notebooks run with ``notebooks/`` as their working directory under nbval, nbclient and
JupyterLab alike, so the upward search finds the same root everywhere.

Limitations
-----------

1. Bytes are stable only for one matplotlib version (pinned in ``pyproject.toml``): a new
   release may rasterise or lay out text differently.
2. ``svg.fonttype = "none"`` leaves font choice to the SVG viewer, so the SVG may look
   slightly different from the PNG.
3. Only ``png``, ``svg`` and ``pdf`` have their volatile metadata removed; other formats
   are rejected.
4. Figures with live content (animations, widgets) are out of scope.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

__all__ = ["DIST_NAME", "ENV_ROOT", "STABLE_RC", "repo_root", "save"]

DIST_NAME = "mrelease-ref"
"""``[project] name`` in the repository's ``pyproject.toml``; identifies the root."""

ENV_ROOT = "MRELEASE_REF_ROOT"
"""Environment variable that overrides the repository root (figures go to ``$it/figures``)."""

STABLE_RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": "mrelease_ref",  # deterministic SVG element ids
    "svg.fonttype": "none",  # text as <text>, not glyph paths
}
"""rcParams applied while saving (and usable with ``matplotlib.rc_context`` elsewhere)."""

_METADATA: dict[str, dict[str, str | None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}


def _is_root(folder: Path) -> bool:
    """Whether ``folder`` holds this project's ``pyproject.toml``."""
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    project = data.get("project", {})
    return isinstance(project, dict) and project.get("name") == DIST_NAME


def repo_root(start: Path | None = None) -> Path:
    """
    Return the repository root that ``figures/`` lives in.

    ``$MRELEASE_REF_ROOT`` wins if set. Otherwise search upward from ``start`` (default: the
    current directory), then upward from this file, for this project's ``pyproject.toml``.

    :param start: folder to search upward from
    :raises FileNotFoundError: if no root is found
    """
    if env := os.environ.get(ENV_ROOT):
        return Path(env)
    here = Path(__file__).resolve().parent
    for origin in ((start or Path.cwd()).resolve(), here):
        for cand in (origin, *origin.parents):
            if _is_root(cand):
                return cand
    raise FileNotFoundError(
        f"no pyproject.toml for {DIST_NAME} above {start or Path.cwd()} or {here}; "
        f"set {ENV_ROOT}"
    )


def save(
    fig: Figure,
    name: str,
    formats: Iterable[str] = ("png", "svg"),
    dpi: int = 100,
) -> list[Path]:
    """
    Write ``fig`` as ``<repo>/figures/<name>.<fmt>`` for each format, byte-stably.

    :param fig: the figure to save
    :param name: file stem, without folder or extension (e.g. ``"reap_latency"``)
    :param formats: any of ``"png"``, ``"svg"``, ``"pdf"``
    :param dpi: resolution for raster output
    :return: the paths written, in the order of ``formats``
    :raises ValueError: on a name with a path separator or an unsupported format
    """
    if not name or name != Path(name).name or name.startswith("."):
        raise ValueError(f"figure name must be a plain file stem, got {name!r}")
    fmts = list(formats)
    unknown = [f for f in fmts if f not in _METADATA]
    if unknown:
        raise ValueError(f"unsupported figure format(s) {unknown}; use {sorted(_METADATA)}")
    outdir = repo_root() / "figures"
    outdir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    with mpl.rc_context(STABLE_RC):
        for fmt in fmts:
            path = outdir / f"{name}.{fmt}"
            fig.savefig(path, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
            paths.append(path)
    return paths
