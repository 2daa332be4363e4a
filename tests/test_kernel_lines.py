"""Every ``Kernel: path:function()`` line names a function that v6.18 defines at that path.

Rule (house style, "Docstrings cite the source"): a model function's ``Kernel:`` line is
the v6.18 file and name a reader opens next to it. The check is in
``tools/kernel_symbols.py``; with the local v6.18 mirror it reads the C directly, and on a
clean clone (CI) it checks against ``tests/data/kernel_symbols_v6.18.json``, the pairs that
tool verified against the mirror (``python tools/kernel_symbols.py --write``).
"""

from __future__ import annotations

import json
import re

import pytest

from tools import kernel_symbols as ks

DATA = json.loads(ks.DATA.read_text(encoding="utf-8"))
CITED = ks.citations()
FILES = ks.cited_files()
MIRROR_SKIP = pytest.mark.skipif(not ks.mirror_available(),
                                 reason=f"no v6.18 kernel mirror at {ks.MIRROR}")


def test_the_checker_sees_the_packages_citations() -> None:
    """Guard: the parser finds the citations (hundreds of them), in both forms."""
    assert len(CITED) > 300
    assert ("mm/oom_kill.c", "__oom_reap_task_mm") in CITED  # path:name()
    assert ("mm/oom_kill.c", "process_mrelease") in CITED  # SYSCALL_DEFINE2(name)
    assert ("mm/mlock.c", "mlock_folio") in CITED


def test_parser_reads_both_citation_forms() -> None:
    """``path:name()``, ``path (a(), b())`` lists; prose in parentheses is not a list."""
    text = ("mm/madvise.c (madvise_cold(), madvise_pageout()), include/linux/mm.h:"
            "folio_maybe_mapped_shared() (see mm/rmap.c for why), "
            "include/uapi/linux/mman.h (v1 of the series; no process_mrelease() flag)")
    assert ks.pairs_in(text) == [
        ("include/linux/mm.h", "folio_maybe_mapped_shared"),
        ("mm/madvise.c", "madvise_cold"),
        ("mm/madvise.c", "madvise_pageout"),
    ]


def test_definition_rule_rejects_prototypes_and_calls() -> None:
    """A citation must name the file with the code: a body, a ``#define`` or a
    ``SYSCALL_DEFINEn``; an ``extern`` prototype or a call elsewhere does not count."""
    src = ("int foo(int a);\n"
           "static void bar(void)\n{\n\tfoo(1);\n}\n"
           "static inline bool baz(struct folio *f)\n{\n\treturn true;\n}\n"
           "#define qux(x) (x)\n"
           "SYSCALL_DEFINE2(process_mrelease, int, pidfd, unsigned int, flags)\n{\n}\n"
           "PAGEFLAG(LRU, lru, PF_HEAD) __CLEARPAGEFLAG(LRU, lru, PF_HEAD)\n")
    assert not ks.defined_in("foo", src)
    assert ks.defined_in("bar", src)
    assert ks.defined_in("baz", src)
    assert ks.defined_in("qux", src)
    assert ks.defined_in("process_mrelease", src)
    assert ks.defined_in("folio_test_lru", src)
    assert not ks.defined_in("folio_test_dirty", src)


def test_every_citation_was_verified_against_v6_18() -> None:
    """Each cited (path, function) is in the verified data (or a listed exception); a new
    or changed ``Kernel:`` line needs ``python tools/kernel_symbols.py --write`` on a
    machine with the mirror."""
    verified = set(DATA["verified"])
    missing = [f"{p}:{n}() cited at {', '.join(CITED[(p, n)])}"
               for p, n in sorted(CITED)
               if f"{p}:{n}" not in verified and (p, n) not in ks.EXCEPTIONS]
    assert not missing, "not verified against v6.18:\n" + "\n".join(missing)


def test_every_cited_file_exists_in_v6_18() -> None:
    """Each kernel file a ``Kernel:`` paragraph names exists at v6.18 (verified data)."""
    known = set(DATA["files"])
    assert not [f for f in FILES if f not in known]


def test_exceptions_are_series_functions_with_a_message_id() -> None:
    """Only functions a posted series version adds may skip the check, each with the
    posting's Message-ID, and only where a series copy cites them."""
    for (path, name), reason in ks.EXCEPTIONS.items():
        assert re.search(r"\S+@\S+\.\w+", reason), (path, name, reason)
        where = CITED.get((path, name), [])
        assert where, f"stale exception {path}:{name}(): no docstring cites it"
        assert all("/series/" in w for w in where), (path, name, where)


@MIRROR_SKIP
def test_citations_match_the_v6_18_mirror() -> None:
    """With the mirror: every cited pair is defined at its path in v6.18 (the live check
    behind the stored data)."""
    bad = ks.check(sorted(CITED))
    assert not bad, "\n".join(f"{p}:{n}(): {why}" for (p, n), why in sorted(bad.items()))


@MIRROR_SKIP
def test_stored_data_matches_the_mirror() -> None:
    """With the mirror: the stored data holds only pairs and files that v6.18 has."""
    pairs = [tuple(s.split(":", 1)) for s in DATA["verified"]]
    assert not ks.check(pairs)  # type: ignore[arg-type]
    assert not [f for f in DATA["files"] if ks.kernel_file(f) is None]
