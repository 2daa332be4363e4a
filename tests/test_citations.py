"""Every citation points inside the repository.

Rule: a reader of the repository has ``docs/sources.md`` (kernel, live-kernel, thread and
LMKD sources, keyed K/M/T/L) and ``docs/conventions.md`` (keyed C), and nothing else; so no
tracked file may cite a file the repository does not contain, and every section key cited
must exist. Source: docs/sources.md (its introduction says how keys are formed).
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Names of files outside the repository, spelled in pieces so this file cites none of them.
_OUTSIDE = ["kernel", "real" + "kernel", "thread", "lmkd", "style", "tool" + "chain"]
OUTSIDE_RE = re.compile(r"\b(?:" + "|".join(_OUTSIDE) + r")\.md\b"
                        r"|" + "shared/" + "reference" + r"|(?<![\w.])/" + "work/")
KEY_RE = re.compile(r"§([KMTLC]\d+(?:\.\d+)*)")
UNKEYED_RE = re.compile(r"docs/(?:sources|conventions)\.md,? §(?![KMTLC]\d)")
HEADING_RE = re.compile(r"^#+ §([KMTLC]\d+(?:\.\d+)*)\b", re.M)
TEXT = {".py", ".md", ".ipynb", ".cfg", ".json", ".toml", ".txt", ".yml", ".yaml", ".in"}


@cache
def tracked_text_files() -> tuple[Path, ...]:
    """The repository's tracked text files."""
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.split()
    return tuple(ROOT / n for n in out if Path(n).suffix in TEXT or n == "Makefile")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("\\u00a7", "§")


@cache
def section_keys() -> frozenset[str]:
    """Keys of the ``### §K1.3 ...`` headings in docs/sources.md and docs/conventions.md."""
    keys: set[str] = set()
    for name in ("sources.md", "conventions.md"):
        keys |= set(HEADING_RE.findall((DOCS / name).read_text(encoding="utf-8")))
    return frozenset(keys)


def test_no_citation_of_a_file_outside_the_repository() -> None:
    """No tracked file names a background note, the notes' folder, or a /work path."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    hits = [f"{p.relative_to(ROOT)}:{_text(p).count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
            for p in tracked_text_files() for m in OUTSIDE_RE.finditer(_text(p))]
    assert not hits, "cite a docs/sources.md section key (K, M, T, L) instead:\n" + "\n".join(hits)


def test_every_cited_section_exists() -> None:
    """Every ``§K1.3``-style key in a tracked file is a heading of docs/sources.md (K, M, T,
    L) or docs/conventions.md (C)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    keys = section_keys()
    bad = sorted({f"{p.relative_to(ROOT)}: §{k}" for p in tracked_text_files()
                  for k in KEY_RE.findall(_text(p)) if k not in keys})
    assert not bad, "no such section in docs/sources.md or docs/conventions.md:\n" + \
        "\n".join(bad)


def test_citations_of_the_docs_carry_a_key() -> None:
    """A section number without its letter is ambiguous: the letter says which kind of
    source (K kernel, M live kernel, T thread, L LMKD)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    bad = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in tracked_text_files()
           for m in UNKEYED_RE.finditer(_text(p))]
    assert not bad, "\n".join(bad)


def test_sources_has_every_key_of_the_background_notes() -> None:
    """The keys other code cites: every numbered section of the four notes (K0-K11,
    M0-M9 with §M0.1-§M0.9, T0-T7, L0-L9 with §L0.1-§L0.6) has a heading, so a citation
    written from the notes' numbering resolves. The expected list is the notes' table of
    contents, written out here."""
    expected = (
        "K0 K1 K1.1 K1.2 K1.3 K1.4 K1.5 K1.6 K1.7 K2 K2.1 K2.2 K2.3 K3 K3.1 K3.2 K3.3 K3.4 "
        "K3.5 K3.6 K4 K5 K6 K6.1 K6.2 K6.3 K7 K7.1 K7.2 K7.3 K8 K9 K9.1 K9.2 K9.3 K9.4 K10 "
        "K10.1 K11 "
        "M0 M0.1 M0.2 M0.3 M0.4 M0.5 M0.6 M0.7 M0.8 M0.9 M1 M1.1 M1.2 M1.3 M2 M3 M3.1 M3.2 "
        "M3.3 M3.4 M3.5 M4 M4.1 M4.2 M4.3 M4.4 M5 M6 M7 M8 M9 "
        "T0 T1 T1.1 T1.2 T1.3 T1.4 T2 T2.1 T2.2 T2.3 T2.4 T2.5 T2.6 T3 T3.1 T3.2 T3.3 T3.4 "
        "T3.5 T3.6 T3.7 T4 T4.1 T4.2 T4.3 T4.4 T5 T6 T7 "
        "L0 L0.1 L0.2 L0.3 L0.4 L0.5 L0.6 L1 L1.1 L1.2 L1.3 L1.4 L1.5 L1.6 L2 L3 L3.1 L3.2 "
        "L3.3 L4 L4.1 L4.2 L5 L6 L7 L7.1 L7.2 L7.3 L7.4 L7.5 L7.6 L8 L9"
    )
    expected_keys = expected.split(" ")
    missing = [k for k in expected_keys if k not in section_keys()]
    assert not missing, missing


def test_migration_tool_rewrites_the_old_forms() -> None:
    """tools/migrate_citations.py turns the old forms into keys: a name followed by a chain
    of sections, ``§0 item N`` into ``§M0.N``, and leaves keyed citations alone."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import migrate_citations as mc
    finally:
        sys.path.pop(0)
    old = ("(" + _OUTSIDE[1] + ".md §0 item 4, §4.4; " + _OUTSIDE[0] + ".md §1.3, §6.1) and "
           + _OUTSIDE[2] + ".md §4.3 #12")
    assert mc.rewrite_text(old) == ("(docs/sources.md §M0.4, §M4.4; docs/sources.md §K1.3, "
                                    "§K6.1) and docs/sources.md §T4.3 #12")
    done = "docs/sources.md §K1.3"
    assert mc.rewrite_text(done) == done
