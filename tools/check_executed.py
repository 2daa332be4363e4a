"""
Check that every committed notebook was executed top to bottom in one fresh kernel.

Strict nbval silently skips code cells whose stored ``execution_count`` is null (never run),
so a cell added to the ``.py`` and synced but not executed would pass CI unchecked
(docs/conventions.md §C4). This script fails when, in any ``.ipynb``:

* a non-empty code cell has no execution count (cells tagged ``skip-execution`` and empty
  cells, which nbclient does not run, are exempt), or
* the execution counts are not 1, 2, 3, … in cell order (cells run out of order, twice, or
  in a kernel that had already run other code).

Fix a failure with ``make report``.

Usage: ``python tools/check_executed.py [notebooks/X.ipynb ...]`` (default: all of them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def execution_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Readable problems with the execution counts of ``nb`` (empty list: fine)."""
    problems: list[str] = []
    counts: list[int] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if "skip-execution" in cell.metadata.get("tags", []):
            continue
        count = cell.get("execution_count")
        if count is None:
            first = cell.source.strip().splitlines()[0]
            problems.append(f"cell {index} was never executed: {first[:60]!r}")
        else:
            counts.append(count)
    expected = list(range(1, len(counts) + 1))
    if counts != expected:
        problems.append(f"execution counts {counts} are not {expected} (run top to bottom)")
    return problems


def notebook_problems(ipynb: Path) -> list[str]:
    """:func:`execution_problems` of the notebook file ``ipynb``, prefixed with its path."""
    nb = nbformat.read(ipynb, as_version=4)
    return [f"{ipynb}: {p}" for p in execution_problems(nb)]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or sorted(NOTEBOOKS.glob("*.ipynb"))
    problems = [p for path in paths for p in notebook_problems(path)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("check_executed: re-run the notebooks with `make report`", file=sys.stderr)
    print(f"check_executed: {len(paths)} notebook(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
