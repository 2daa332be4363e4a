"""
Check that every notebook pair is in sync, without writing anything.

For each ``notebooks/*.py`` (the source of truth), render its paired ``.ipynb`` back to
py:percent with ``jupytext --to py:percent --output - X.ipynb`` and compare the text with the
``.py``. Fails, with a unified diff, when they differ, when a ``.py`` has no ``.ipynb`` and
when an ``.ipynb`` has no ``.py``.

Why not ``jupytext --diff`` (exits 0 on differences) or ``jupytext --sync`` + ``git diff``
(picks the newer file by mtime, which is arbitrary after a clone, and writes): see
docs/conventions.md §C3. Fix a failure with ``make report`` (sync + execute) or ``make sync``.

Usage: ``python tools/check_pairs.py [notebooks/X.py ...]`` (default: all of them).
"""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def ipynb_as_percent(ipynb: Path) -> str:
    """The py:percent text that Jupytext (with ``[tool.jupytext]``) makes of ``ipynb``."""
    proc = subprocess.run(
        [sys.executable, "-m", "jupytext", "-q", "--to", "py:percent", "--output", "-",
         str(ipynb)],
        check=True,
        capture_output=True,
        text=True,
    )
    return proc.stdout


def pair_problem(py: Path) -> str | None:
    """Return a readable description of why ``py`` and its ``.ipynb`` differ, or None."""
    ipynb = py.with_suffix(".ipynb")
    if not ipynb.exists():
        return f"{py}: no paired {ipynb.name}; run `make report`"
    want = py.read_text(encoding="utf-8")
    got = ipynb_as_percent(ipynb)
    if want == got:
        return None
    diff = "".join(
        difflib.unified_diff(
            want.splitlines(keepends=True),
            got.splitlines(keepends=True),
            fromfile=str(py),
            tofile=f"{ipynb} (as py:percent)",
        )
    )
    return f"{py}: out of sync with {ipynb.name}; run `make report` (or `make sync`)\n{diff}"


def orphan_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """``.ipynb`` files in ``folder`` that have no ``.py`` source."""
    return sorted(p for p in folder.glob("*.ipynb") if not p.with_suffix(".py").exists())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or sorted(NOTEBOOKS.glob("*.py"))
    problems = [p for p in map(pair_problem, paths) if p]
    if not args:
        problems += [f"{p}: no paired {p.with_suffix('.py').name}" for p in orphan_notebooks()]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"check_pairs: {len(paths)} pair(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
