"""
Render the executed notebooks into a static HTML report.

Writes ``build/report/NN_topic.html`` for every ``notebooks/NN_topic.ipynb`` (nbconvert's
``lab`` template, inline images embedded) and ``build/report/index.html`` linking them in
file-name order with each notebook's first Markdown heading as its title. The output is a
pure function of the notebooks (no timestamps), and the folder is emptied first so removed
notebooks leave no stale pages.

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

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_GLOB = "notebooks/[0-9][0-9]_*.ipynb"
_CODE = re.compile(r"`([^`]+)`")  # Markdown inline code in a title


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the first Markdown heading in ``nb``, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip() or fallback
    return fallback


def render(notebooks: list[Path], out: Path) -> Path:
    """Write one HTML page per notebook plus ``index.html`` into ``out``; return the index."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    exporter = HTMLExporter(template_name="lab")
    items: list[str] = []
    for ipynb in notebooks:
        nb = nbformat.read(ipynb, as_version=4)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": ipynb.stem}})
        page = out / f"{ipynb.stem}.html"
        page.write_text(body, encoding="utf-8")
        title = _CODE.sub(r"<code>\1</code>", html.escape(title_of(nb, ipynb.stem)))
        items.append(f'  <li><a href="{page.name}">{html.escape(ipynb.stem)}</a>: {title}</li>')
    index = out / "index.html"
    index.write_text(
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en">',
                '<head><meta charset="utf-8"><title>mrelease_ref notebooks</title></head>',
                "<body>",
                "<h1>mrelease_ref: notebooks</h1>",
                "<p>Executed notebooks of the process_mrelease() reference model, in reading "
                "order. Regenerate with <code>make report</code>.</p>",
                "<ol>",
                *items,
                "</ol>",
                "</body>",
                "</html>",
                "",
            ]
        ),
        encoding="utf-8",
    )
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
