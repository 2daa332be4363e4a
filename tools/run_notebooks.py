"""
Sync and execute notebooks in place, without churn.

For each ``notebooks/NN_topic.py`` (the source of truth, Jupytext py:percent):

1. write its inputs into the paired ``.ipynb`` (keeping that file's outputs), then write the
   ``.py`` back from the ``.ipynb`` so its header is normalised exactly as
   ``tools/check_pairs.py`` expects;
2. execute the ``.ipynb`` top to bottom in a fresh kernel with nbclient, cwd = ``notebooks/``;
3. strip what would change on every run: cell ``execution`` timestamps (``record_timing``
   off) and widget state/views with random model ids (the widget's text repr stays).

Why not ``jupytext --execute`` / ``jupyter execute``: both store per-cell timestamps and
widget state with random ids (docs/conventions.md §C7). ``store_widget_state`` stays on
because nbclient 0.11 raises ``KeyError`` for Output widgets when it is off; it is stripped
afterwards instead.

If the ``.ipynb`` is newer than the ``.py`` *and* its inputs differ, it was edited on its own
(e.g. in Jupyter without Jupytext); the script then stops rather than discard that edit.
Run ``make sync`` (``jupytext --sync``) to pull the edit into the ``.py``, or touch the
``.py`` to discard it.

Usage: ``python tools/run_notebooks.py [notebooks/NN_x.py ...]`` (default: all
``notebooks/[0-9][0-9]_*.py``). ``MPLBACKEND`` is removed from the kernel's environment:
``Agg`` would suppress the inline figure outputs that nbval compares.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_GLOB = "notebooks/[0-9][0-9]_*.py"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _jupytext(*args: str) -> None:
    """Run the jupytext CLI of this interpreter (it reads ``[tool.jupytext]``)."""
    subprocess.run([sys.executable, "-m", "jupytext", "--quiet", *args], check=True)


def _inputs(path: Path) -> list[tuple[str, str]]:
    """Cell types and sources of a notebook in any Jupytext-readable format."""
    nb = jupytext.read(path)
    return [(c.cell_type, c.source) for c in nb.cells]


def sync(py: Path) -> Path:
    """
    Make ``py``'s inputs the inputs of its paired ``.ipynb``; return the ``.ipynb`` path.

    :raises SystemExit: if the ``.ipynb`` holds newer, different inputs
    """
    ipynb = py.with_suffix(".ipynb")
    if (
        ipynb.exists()
        and ipynb.stat().st_mtime > py.stat().st_mtime
        and _inputs(ipynb) != _inputs(py)
    ):
        raise SystemExit(
            f"{ipynb} was edited after {py} and their cells differ.\n"
            f"  keep the .ipynb edit:    make sync   (jupytext --sync)\n"
            f"  discard the .ipynb edit: touch {py}"
        )
    _jupytext("--to", "ipynb", "--update", str(py))  # inputs .py -> .ipynb, outputs kept
    _jupytext("--to", "py:percent", str(ipynb))  # normalise the .py header
    return ipynb


def strip_volatile(nb: nbformat.NotebookNode) -> None:
    """Drop timestamps and widget state/views (random ids) from an executed notebook."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            out.get("data", {}).pop(WIDGET_VIEW, None)


def execute(ipynb: Path, timeout: int) -> None:
    """Execute ``ipynb`` in place in a fresh ``python3`` kernel (cwd = its folder)."""
    nb = nbformat.read(ipynb, as_version=4)
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no iopub/shell timestamps in cell metadata
        store_widget_state=True,  # False + Output widget -> KeyError in nbclient 0.11
        resources={"metadata": {"path": str(ipynb.parent)}},
    ).execute()
    strip_volatile(nb)
    nbformat.write(nb, ipynb)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("notebooks", nargs="*", type=Path, help="py:percent notebooks")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout (s)")
    args = parser.parse_args(argv)
    os.environ.pop("MPLBACKEND", None)  # the kernel inherits this environment
    paths: list[Path] = args.notebooks or sorted(ROOT.glob(NOTEBOOK_GLOB))
    if not paths:
        print(f"run_notebooks: nothing matches {NOTEBOOK_GLOB}")
        return 0
    failed: list[Path] = []
    for py in paths:
        start = time.monotonic()
        try:
            ipynb = sync(py)
            execute(ipynb, args.timeout)
        except CellExecutionError as exc:
            failed.append(py)
            print(f"FAILED {py}:\n{exc}", file=sys.stderr)
            continue
        print(f"executed {ipynb} in {time.monotonic() - start:.1f} s")
    if failed:
        print(f"run_notebooks: {len(failed)} notebook(s) failed: "
              + " ".join(map(str, failed)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
