"""The README stays true to the package and the notebooks it points at.

Not a kernel rule: these checks keep the reviewer's entry page from drifting (the variant
table is data in ``mrelease_ref/variants.py``; findings live under ``### Finding:``
headings in the notebooks).
"""

from __future__ import annotations

import re
from pathlib import Path

import mrelease_ref
from mrelease_ref import findings

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


# --- the first screen: findings and timeline are data (mrelease_ref.findings) -------------


def _heading_texts(nb: str) -> set[str]:
    """Every Markdown heading of notebook ``nb`` (its ``.py`` source), without the hashes."""
    return set(_headings(nb))


def test_readme_blocks_are_generated_from_the_findings_data() -> None:
    """The README's timeline and findings tables equal what ``mrelease_ref.findings``
    generates (fix: ``python -m mrelease_ref.findings --write README.md``)."""
    assert findings.readme_with_blocks(README) == README


def test_findings_come_first_in_the_readme() -> None:
    """A reviewer sees the findings before the quick start, the module map and the
    configuration choices."""
    order = [README.index(h) for h in ("## The series", "## Findings", "## Quick start",
                                       "## Kernel file → module map",
                                       "## Configuration choices")]
    assert order == sorted(order)


def test_each_finding_is_one_sentence_with_its_evidence_and_scope() -> None:
    """One sentence (one full stop, at the end, outside inline code), at most 45 words;
    evidence from the known kinds; a scope."""
    assert findings.FINDINGS
    for f in findings.FINDINGS:
        prose = re.sub(r"`[^`]*`", "code", f.sentence)
        assert prose.endswith("."), f.sentence
        assert not re.search(r"[.!?]\s+[A-Z(]", prose[:-1]), f"more than one sentence: {f.sentence}"
        assert len(prose.split()) <= 45, f"too long ({len(prose.split())} words): {f.sentence}"
        assert f.evidence and set(f.evidence) <= set(findings.EVIDENCE), f.evidence
        assert f.scope.strip(), f.sentence


def test_live_kernel_findings_name_their_parity_scenarios() -> None:
    """A claim about the live kernel needs a parity row: every ``live`` finding names
    scenarios that exist in the parity tables (``parity.all_scenarios()``), and only ``live``
    findings name any."""
    from mrelease_ref.scenarios.parity import all_scenarios

    names = {s.name for s in all_scenarios()} | set(findings.LIVE_COMPARISONS)
    for f in findings.FINDINGS:
        assert bool(f.parity) == ("live" in f.evidence), f.sentence
        assert set(f.parity) <= names, (f.parity, f.sentence)


def test_inferred_findings_say_so_in_their_heading() -> None:
    """A finding resting on code that was not retrieved is marked [I] where it is shown."""
    for f in findings.FINDINGS:
        assert ("inference" in f.evidence) == ("[I]" in f.heading), f.heading


def test_each_finding_heading_exists_in_its_notebook() -> None:
    """Each finding's ``heading`` is a heading of its notebook, so its anchor lands."""
    for f in findings.FINDINGS:
        assert f.heading in _heading_texts(f.notebook), (f.notebook, f.heading)


def test_every_finding_heading_has_a_findings_entry() -> None:
    """Every ``### Finding:`` heading in a notebook is one entry of ``FINDINGS`` (add the
    entry, then rewrite the README with ``python -m mrelease_ref.findings --write``)."""
    have = {(f.notebook, f.heading) for f in findings.FINDINGS}
    for src in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        for h in _headings(src.stem):
            if h.startswith("Finding:"):
                assert (src.stem, h) in have, (src.stem, h)


def test_report_index_shows_the_same_findings_first() -> None:
    """The report's index page puts the timeline and every finding (sentence, evidence,
    link to ``NN.html#anchor``) before the list of notebooks."""
    import sys

    sys.path.insert(0, str(ROOT))
    try:
        from tools import render_report
    finally:
        sys.path.pop(0)
    page = render_report.index_page(['<li><a href="00_overview.html">00_overview</a></li>'])
    assert page.index("Findings") < page.index("Notebooks")
    for f in findings.FINDINGS:
        assert f'href="{f.notebook}.html#{f.anchor}"' in page
        assert f.evidence_label in page
    for v in findings.TIMELINE:
        assert v.link in page


def test_report_headings_get_the_github_anchor() -> None:
    """``add_github_anchors`` gives an nbconvert heading the anchor the README links to."""
    import sys

    sys.path.insert(0, str(ROOT))
    try:
        from tools import render_report
    finally:
        sys.path.pop(0)
    body = ('<h3 id="Finding:-v2\'s-MMF_MULTIPROCESS-refusal-misses-vfork-sharers">Finding: '
            "v2's MMF_MULTIPROCESS refusal misses vfork sharers<a class=\"anchor-link\" "
            'href="#x">¶</a></h3>')
    out = render_report.add_github_anchors(body)
    assert '<a id="finding-v2s-mmf_multiprocess-refusal-misses-vfork-sharers"></a>' in out


# --- limitations stay true --------------------------------------------------------------

_TEST_REF = re.compile(r"tests/(test_\w+)\.py::(test_\w+)")


def _limitation_items() -> list[tuple[str, str]]:
    """(where, text) of every item of every Limitations section: README's numbered list
    and each notebook's bullets (until the next heading)."""
    items: list[tuple[str, str]] = []
    readme = README.split("## Limitations", 1)[1]
    for chunk in re.split(r"\n(?=\d+\. )", readme.split("\n## ", 1)[0]):
        if re.match(r"\d+\. ", chunk.strip()):
            items.append(("README.md", chunk))
    for src in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        text = src.read_text()
        if "# ## Limitations" not in text:
            continue
        body = text.split("# ## Limitations", 1)[1]
        body = re.split(r"\n# #|\n# %%", body, maxsplit=1)[0]
        for chunk in re.split(r"\n(?=# - )", body):
            if chunk.strip().startswith("# - "):
                items.append((src.name, chunk))
    return items


def test_every_limitation_names_an_existing_test() -> None:
    """Each Limitations item (README, notebooks) names ``tests/<file>.py::<test>`` that shows
    the limit still holds, and that test exists; lifting a limit then fails a test, and the
    stale item goes with it."""
    items = _limitation_items()
    assert items
    for where, text in items:
        refs = _TEST_REF.findall(re.sub(r"\s*\n#?\s*", " ", text))
        assert refs, f"{where}: name the test that shows this limit: {text[:80]!r}"
        for module, name in refs:
            path = ROOT / "tests" / f"{module}.py"
            assert path.exists(), (where, module)
            assert re.search(rf"^def {name}\(", path.read_text(), re.M), (where, module, name)


def test_every_notebook_has_limitations_checks_and_contents() -> None:
    """Every notebook ends with Limitations and Checks (the Checks section has at least one
    assertion cell), and lists its sections under **Contents** with working anchors."""
    for src in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        text = src.read_text()
        assert "# ## Limitations" in text and "# ## Checks" in text, src.name
        checks = text.split("# ## Checks", 1)[1]
        assert re.search(r"^assert ", checks, re.M), f"{src.name}: Checks has no assertion"
        assert "**Contents.**" in text, f"{src.name}: no table of contents"
        toc = text.split("**Contents.**", 1)[1].split("\n\n", 1)[0]
        anchors = set(re.findall(r"\]\(#([^)]+)\)", toc))
        slugs = {findings.github_slug(h) for h in _headings(src.stem)}
        assert anchors <= slugs, (src.name, anchors - slugs)
        for h in _headings(src.stem):
            if re.match(r"^(?!#)", h) and f"# ## {h}" in text:
                assert findings.github_slug(h) in anchors, (src.name, h)


def test_message_ids_are_lore_links_not_mail_links() -> None:
    """A Message-ID written ``<id@host>`` in Markdown renders as a mailto: link; the
    notebooks' prose links each one to https://lore.kernel.org/r/<id> instead."""
    bare = re.compile(r"<[\w.+=\-]+@[\w.\-]+>")
    for src in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        for cell in re.split(r"(?m)^(?=# %%)", src.read_text()):
            if cell.startswith("# %% [markdown]"):
                assert not bare.search(cell), (src.name, bare.search(cell))
    assert not bare.search(README)


def test_readme_permission_matrix_is_the_generated_one() -> None:
    """Issue 8 asks the README to render the REAP_KILL permission matrix: its block must be
    exactly the tables of docs/permission_matrix.md (which its own test keeps equal to what
    mrelease_ref.scenarios.permissions computes), so neither copy can go stale alone."""
    from mrelease_ref.scenarios.permissions import README_END, README_START, readme_block

    root = Path(mrelease_ref.__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(README_START):readme.index(README_END) + len(README_END)]
    matrix_md = (root / "docs" / "permission_matrix.md").read_text(encoding="utf-8")
    assert block == readme_block(matrix_md)
    assert "#### Target: namespace init" in block and "reaped in use" in block
