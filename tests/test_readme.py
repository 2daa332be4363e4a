"""The README stays true to the package and the notebooks it points at.

Not a kernel rule: these checks keep the reviewer's entry page from drifting (the variant
table is data in ``mrelease_ref/variants.py``; findings live under ``### Finding:``
headings in the notebooks).
"""

from __future__ import annotations

import re
from pathlib import Path

import mrelease_ref

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _headings(nb: str) -> list[str]:
    src = (ROOT / "notebooks" / f"{nb}.py").read_text()
    return [m.group(1) for m in re.finditer(r"^# #+ (.+)$", src, re.M)]


def test_variant_table_matches_the_variants_data() -> None:
    """The README's variant table is ``variant_table()``, row for row."""
    block = README.split("<!-- variant-table:start -->")[1].split("<!-- variant-table:end -->")[0]
    lines = block.strip().splitlines()[2:]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    want = [list(r.values()) for r in mrelease_ref.variant_table()]
    assert rows == want


def test_every_finding_link_points_at_a_notebook_heading() -> None:
    """Each ``notebooks/NN.ipynb#anchor`` link in the README names an existing heading."""
    links = re.findall(r"\(notebooks/([\w]+)\.ipynb#([^)]+)\)", README)
    assert links
    for nb, anchor in links:
        assert anchor in {_slug(h) for h in _headings(nb)}, (nb, anchor)


def test_every_notebook_finding_is_listed_in_the_readme() -> None:
    """No ``### Finding:`` heading goes unlisted in the README's Findings section."""
    for src in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        for h in _headings(src.stem):
            if h.startswith("Finding:"):
                assert f"{src.stem}.ipynb#{_slug(h)}" in README, (src.stem, h)
