"""Rewrite citations of the background notes into ``docs/sources.md §K1.3`` form.

The project once cited four background notes by file name and section (kernel notes §1.3,
live-kernel notes §0 item 4, thread notes §4.3 #12, LMKD notes §2). ``docs/sources.md``
keeps their section numbers under a letter: K, M, T, L. This script rewrites, in every
text file given (default: the whole repository), the file name into ``docs/sources.md``
and each section number that follows it (up to the next file name) into the lettered
key; ``§0 item N`` becomes ``§M0.N``. It prints every bare ``§N`` it rewrote with the line,
so a person can check that the section belonged to the file named before it.

Usage: ``python tools/migrate_citations.py [--dry-run] [PATH ...]``. Idempotent: keys
that already carry a letter are left alone. ``tests/test_citations.py`` fails on anything
this script would still change.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The note names are spelled in pieces so that this file itself cites nothing.
_NOTES = {"kernel": "K", "real" + "kernel": "M", "thread": "T", "lmkd": "L"}
_NAME = "|".join(sorted(_NOTES, key=len, reverse=True))
_PREFIX = r"(?:(?:\.\./|/" + "work/)" + "shared/" + r"reference/)?"
NAME_RE = re.compile(r"(``|`)?" + _PREFIX + r"\b(" + _NAME + r")\.md\b(``|`)?")
SECTION_RE = re.compile(r"§\s?(\d+(?:\.\d+)*)(,? items? (\d+)(?!\s*-))?")
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".cfg", ".json", ".toml", ".txt", ".yml", ".yaml"}


def _rewrite(text: str, report: list[str], where: str) -> str:
    """Rewrite note names and the section numbers that follow each of them."""
    out: list[str] = []
    pos = 0
    letter: str | None = None
    counts: dict[str, int] = {}
    for m in NAME_RE.finditer(text):
        counts[_NOTES[m.group(2)]] = counts.get(_NOTES[m.group(2)], 0) + 1
    main_letter = max(counts, key=lambda k: counts[k]) if counts else None
    chain_end = 0
    events = sorted([(m.start(), m) for m in NAME_RE.finditer(text)]
                    + [(m.start(), m) for m in SECTION_RE.finditer(text)], key=lambda e: e[0])
    for start, m in events:
        if start < pos:
            continue
        out.append(text[pos:start])
        if m.re is NAME_RE:
            letter = _NOTES[m.group(2)]
            out.append("docs/sources.md")
            chain_end = m.end()
        else:
            prev = text[start - 1] if start else ""
            if letter is None or prev.isalpha():
                out.append(m.group(0))
            else:
                # A section right after a name (or after a section of its chain) belongs to
                # that name; one further away to the file's most cited note.
                gap = text[chain_end:start]
                near = len(gap) <= 60 and not re.search(r"[.)]\s|\n\s*\n|\"\"\"", gap)
                if not near and main_letter is not None:
                    letter = main_letter
                chain_end = m.end()
                num = m.group(1)
                item = m.group(3)
                as_item = bool(item) and num == "0" and letter in ("M", "L")
                key = f"{num}.{item}" if as_item else num
                tail = "" if as_item else (m.group(2) or "")
                new = f"§{letter}{key}{tail}"
                line = text.count("\n", 0, start) + 1
                report.append(f"{where}:{line}: {m.group(0)!r} -> {new!r}")
                out.append(new)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def rewrite_text(text: str, where: str = "<text>", report: list[str] | None = None) -> str:
    """The text with every note citation rewritten (JSON ``\\u00a7`` escapes handled)."""
    rep: list[str] = [] if report is None else report
    escaped = "\\u00a7" in text
    if escaped:
        text = text.replace("\\u00a7", "§")
    new = _rewrite(text, rep, where)
    return new.replace("§", "\\u00a7") if escaped else new


def repo_files() -> list[Path]:
    """Tracked text files of the repository (this script excluded)."""
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.split()
    return [ROOT / n for n in names
            if Path(n).suffix in TEXT_SUFFIXES and n != "tools/migrate_citations.py"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("paths", nargs="*", type=Path)
    args = ap.parse_args(argv)
    files = [p.resolve() for p in args.paths] or repo_files()
    changed = 0
    for path in files:
        old = path.read_text(encoding="utf-8")
        if not NAME_RE.search(old):
            continue
        report: list[str] = []
        new = rewrite_text(old, str(path.relative_to(ROOT)), report)
        if new != old:
            changed += 1
            print("\n".join(report))
            if not args.dry_run:
                path.write_text(new, encoding="utf-8")
    print(f"{changed} file(s) {'would change' if args.dry_run else 'changed'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
