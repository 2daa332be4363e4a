"""Committed notebooks are in sync with their .py source and were executed top to bottom.

Strict nbval only compares cells that have stored outputs, so these checks make sure the
stored outputs exist and belong to the current source (docs/conventions.md §C3, §C4).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tools.check_executed import execution_problems
from tools.check_pairs import orphan_notebooks, pair_problem

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


@pytest.mark.parametrize("py", SOURCES, ids=_ids(SOURCES))
def test_notebook_has_paired_ipynb(py: Path) -> None:
    """Every notebooks/*.py has a committed .ipynb next to it (nbval runs the .ipynb)."""
    assert py.with_suffix(".ipynb").is_file(), f"run `make report` to create {py.stem}.ipynb"


def test_every_ipynb_has_a_py_source() -> None:
    """No .ipynb without its .py: the .py is the source of truth."""
    assert orphan_notebooks(NOTEBOOKS) == []


@pytest.mark.parametrize("py", SOURCES, ids=_ids(SOURCES))
def test_pair_in_sync(py: Path) -> None:
    """The .ipynb, rendered as py:percent, equals the .py byte for byte."""
    if not py.with_suffix(".ipynb").is_file():
        pytest.skip("no .ipynb (reported by test_notebook_has_paired_ipynb)")
    problem = pair_problem(py)
    assert problem is None, problem


@pytest.mark.parametrize("py", SOURCES, ids=_ids(SOURCES))
def test_code_cells_executed_in_order(py: Path) -> None:
    """Every code cell has an execution count, and the counts run 1, 2, 3, ... in order."""
    ipynb = py.with_suffix(".ipynb")
    if not ipynb.is_file():
        pytest.skip("no .ipynb (reported by test_notebook_has_paired_ipynb)")
    assert execution_problems(nbformat.read(ipynb, as_version=4)) == []


def test_execution_check_catches_unrun_and_reordered_cells() -> None:
    """The executed-cells check itself flags a never-run cell and out-of-order counts."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("a = 1", execution_count=2),
        nbformat.v4.new_code_cell("b = 2", execution_count=1),
        nbformat.v4.new_code_cell("c = 3"),
        nbformat.v4.new_code_cell("   "),  # empty: nbclient never runs it
        nbformat.v4.new_markdown_cell("# text"),
    ]
    problems = execution_problems(nb)
    assert any("never executed" in p for p in problems)
    assert any("not [1, 2]" in p for p in problems)
    nb.cells[0].execution_count, nb.cells[1].execution_count = 1, 2
    nb.cells[2].metadata["tags"] = ["skip-execution"]
    assert execution_problems(nb) == []
