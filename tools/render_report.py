"""
Render the executed notebooks into a static HTML report.

Writes ``build/report/NN_topic.html`` for every ``notebooks/NN_topic.ipynb`` (nbconvert's
``lab`` template, inline images embedded) and ``build/report/index.html``: the series
timeline and every finding first (one sentence, evidence, scope, a link to the section
that shows it; generated from :mod:`mrelease_ref.findings`, as the README is), then the
notebooks in file-name order with each one's first Markdown heading as its title.

Every heading in a page also gets GitHub's anchor (``#finding-v2s-...``), so a fragment
from the README lands in the report too. Code cells tagged ``hide-input`` show only their
output (imports, plotting). The output is a pure function of the notebooks (no
timestamps), and the folder is emptied first so removed notebooks leave no stale pages.

Run after ``tools/run_notebooks.py`` (``make report`` does both); it renders the stored
outputs and executes nothing.

Usage: ``python tools/render_report.py [--out build/report] [notebooks/X.ipynb ...]``.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mrelease_ref import findings  # noqa: E402  (needs ROOT on sys.path when run as a script)

NOTEBOOK_GLOB = "notebooks/[0-9][0-9]_*.ipynb"
_CODE = re.compile(r"`([^`]+)`")  # Markdown inline code in a title
_HEADING = re.compile(r"(<h([1-6]) id=\"[^\"]*\">)(.*?)(</h\2>)", re.S)
_TAG = re.compile(r"<[^>]+>")
HIDE_INPUT = "hide-input"


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the first Markdown heading in ``nb``, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip() or fallback
    return fallback


def add_github_anchors(body: str) -> str:
    """Give every heading of an nbconvert page GitHub's anchor as well as nbconvert's own."""

    def one(m: re.Match[str]) -> str:
        text = html.unescape(_TAG.sub("", m.group(3))).replace("\u00b6", "")
        slug = findings.github_slug(text)
        return f'<a id="{slug}"></a>{m.group(1)}{m.group(3)}{m.group(4)}'

    return _HEADING.sub(one, body)


def index_page(items: list[str]) -> str:
    """The report's first page: what this is, the timeline, the findings, the notebooks."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8"><title>mrelease_ref notebooks</title>',
            "<style>body{font-family:sans-serif;max-width:75em;margin:1em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .4em;"
            "vertical-align:top;text-align:left}</style></head>",
            "<body>",
            "<h1>mrelease_ref</h1>",
            "<p>An executable reference model of Linux v6.18's <code>process_mrelease()</code> "
            "and of every version of the 2026 series \"mm: process_mrelease: expedite clean "
            "file folio reclaim and add auto-kill\" (Minchan Kim). Regenerate with "
            "<code>make report</code>.</p>",
            "<h2>The series</h2>",
            findings.timeline_html(),
            "<h2>Findings</h2>",
            "<p>Evidence: <b>live kernel</b> = measured on the running 6.18 kernel by a parity "
            "scenario and reproduced by the model; <b>model</b> = computed by the model; "
            "<b>inference [I]</b> = rests on RFC code that was not retrieved.</p>",
            findings.findings_html(),
            "<h2>Notebooks</h2>",
            "<ol>",
            *items,
            "</ol>",
            "</body>",
            "</html>",
            "",
        ]
    )


def render(notebooks: list[Path], out: Path) -> Path:
    """Write one HTML page per notebook plus ``index.html`` into ``out``; return the index."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    exporter = HTMLExporter(template_name="lab")
    # imports and plotting code: the page shows their outputs only
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_input_tags={HIDE_INPUT}, enabled=True), enabled=True)
    items: list[str] = []
    for ipynb in notebooks:
        nb = nbformat.read(ipynb, as_version=4)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": ipynb.stem}})
        page = out / f"{ipynb.stem}.html"
        page.write_text(add_github_anchors(body), encoding="utf-8")
        title = _CODE.sub(r"<code>\1</code>", html.escape(title_of(nb, ipynb.stem)))
        items.append(f'  <li><a href="{page.name}">{html.escape(ipynb.stem)}</a>: {title}</li>')
    index = out / "index.html"
    index.write_text(index_page(items), encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("notebooks", nargs="*", type=Path, help=".ipynb files")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "report")
    args = parser.parse_args(argv)
    notebooks: list[Path] = args.notebooks or sorted(ROOT.glob(NOTEBOOK_GLOB))
    index = render(notebooks, args.out)
    print(f"render_report: {len(notebooks)} notebook(s) -> {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
