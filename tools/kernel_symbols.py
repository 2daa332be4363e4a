"""Check every ``Kernel: path:function()`` citation of the package against Linux v6.18.

Not kernel code. Three parts, shared by ``tests/test_kernel_lines.py``:

* :func:`citations` reads every docstring of ``mrelease_ref`` and returns the
  (path, name) pairs its ``Kernel:`` paragraphs cite, in the two forms the package uses:
  ``path:name()`` and ``path (name(), name())``; ``SYSCALL_DEFINEn(name)`` counts as
  ``name``.
* :func:`defined_in` decides whether ``name`` is defined at ``path`` in a v6.18 tree: a
  function body at file scope (the parameter list followed by ``{``), a ``#define``, or a
  ``SYSCALL_DEFINEn(name, ...)``. A bare prototype does not count: the citation must name
  the file that holds the code.
* ``python tools/kernel_symbols.py --write`` verifies every pair against the local mirror
  (``git -C MIRROR show v6.18:<path>``) and stores the verified pairs in
  ``tests/data/kernel_symbols_v6.18.json``, so CI (a clean clone without the mirror)
  checks the docstrings against that file. Without ``--write`` it prints the mismatches.

Exceptions (pairs that are right although the check cannot see them) live in
:data:`EXCEPTIONS` with their reason: names a series version adds (reason: its
Message-ID) and names v6.18 generates with a macro.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mrelease_ref"
DATA = ROOT / "tests" / "data" / "kernel_symbols_v6.18.json"
# A git tree with the v6.18 tag: $LINUX_GIT, else a mirror beside the checkout's parent
# (``../.mirror/*linux-6.18*/repo``, as the project's machines keep one); None = not here.
_ENV = os.environ.get("LINUX_GIT")
_MIRRORS = sorted(ROOT.parent.glob(".mirror/*linux-6.18*/repo"))
MIRROR: Path | None = Path(_ENV) if _ENV else (_MIRRORS[0] if _MIRRORS else None)
TAG = "v6.18"

_PATH = r"[A-Za-z0-9_][A-Za-z0-9_/.+-]*\.[ch](?![\w.@-])"
FILE = re.compile(rf"(?<![\w/.@-])({_PATH})")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
PAIR = re.compile(rf"({_PATH}):(?:SYSCALL_DEFINE\d\(({_NAME})\)|({_NAME})\(\))")
GROUP = re.compile(rf"({_PATH})\s*\(")
CALL = re.compile(rf"\b({_NAME})\(\)")

EXCEPTIONS: dict[tuple[str, str], str] = {
    # new functions of the series (the reason is the posting that adds them)
    ("mm/swap.c", "free_file_cache"): "new in v1 1/3, 20260421230239.172582-2-minchan@kernel.org",
    ("mm/swap.c", "free_pages_and_caches"):
        "new in v1 1/3, 20260421230239.172582-2-minchan@kernel.org",
    ("mm/swap_state.c", "free_pages_and_caches"):
        "new in RFC 1/3, 20260413223948.556351-2-minchan@kernel.org",
    ("mm/oom_kill.c", "kill_all_shared_mm"):
        "new in v3, 20260511214226.937793-1-minchan@kernel.org",
    ("kernel/signal.c", "do_pidfd_send_signal_pidns"):
        "new in v3, 20260511214226.937793-1-minchan@kernel.org",
}
"""(path, name) pairs accepted without a definition at v6.18, with the reason."""


def _kernel_paragraphs(doc: str) -> Iterator[str]:
    """The text of each ``Kernel:`` paragraph of ``doc`` (up to a blank line)."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        pos = line.find("Kernel:")
        if pos < 0:
            continue
        para = [line[pos + len("Kernel:"):]]
        for nxt in lines[i + 1:]:
            if not nxt.strip() or nxt.strip().startswith(("Kernel:", "Variants:", "-")):
                break
            para.append(nxt)
        yield " ".join(para)


def _group_names(text: str, start: int) -> tuple[list[str], int]:
    """The ``name()`` calls inside the parenthesis opened just before ``start``."""
    depth, i = 1, start
    while i < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    inner = text[start:i - 1]
    names = [m.group(1) for m in CALL.finditer(inner)]
    return names, i


def pairs_in(text: str) -> list[tuple[str, str]]:
    """The (path, name) pairs one ``Kernel:`` paragraph cites."""
    out: list[tuple[str, str]] = []
    for m in PAIR.finditer(text):
        out.append((m.group(1), m.group(2) or m.group(3)))
    for m in GROUP.finditer(text):
        # "path (a(), b())" -- but not "path:name() (comment)"
        before = text[:m.start()]
        if before.rstrip().endswith(":") and not before.rstrip().endswith("Kernel:"):
            continue
        names, _ = _group_names(text, m.end())
        if names and re.match(rf"\s*{_NAME}\(\)", text[m.end():]):  # a list, not prose
            out += [(m.group(1), n) for n in names]
    return list(dict.fromkeys(out))


def _docstrings(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield getattr(node, "lineno", 1), doc


def citations(package: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """Every cited (path, name) pair -> where it is cited (``file:line``)."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent)
        for lineno, doc in _docstrings(path):
            for para in _kernel_paragraphs(doc):
                for pair in pairs_in(para):
                    found.setdefault(pair, []).append(f"{rel}:{lineno}")
    return found


def cited_files(package: Path = PACKAGE) -> dict[str, list[str]]:
    """Every kernel file a ``Kernel:`` paragraph names (with a directory) -> where."""
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent)
        for lineno, doc in _docstrings(path):
            for para in _kernel_paragraphs(doc):
                for m in FILE.finditer(para):
                    if "/" in m.group(1):
                        found.setdefault(m.group(1), []).append(f"{rel}:{lineno}")
    return found


@cache
def kernel_file(path: str, mirror: Path | None = MIRROR) -> str | None:
    """``path`` at v6.18 from the mirror; None when it does not exist there (or no mirror)."""
    if mirror is None:
        return None
    res = subprocess.run(["git", "-C", str(mirror), "show", f"{TAG}:{path}"],
                         capture_output=True, text=True, check=False)
    return res.stdout if res.returncode == 0 else None


def _strip_comments(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), src, flags=re.S)
    return re.sub(r"//[^\n]*", "", src)


def defined_in(name: str, src: str) -> bool:
    """Whether ``src`` (one C file) defines ``name``: see the module docstring."""
    src = _strip_comments(src)
    if re.search(rf"^\s*#\s*define\s+{re.escape(name)}\b", src, re.M):
        return True
    if re.search(rf"SYSCALL_DEFINE\d\(\s*{re.escape(name)}\s*[,)]", src):
        return True
    flag = re.fullmatch(r"folio_(?:test_clear_|test_set_|test_|set_|clear_)(\w+)", name)
    if flag and re.search(rf"\b[A-Z_]*FLAG[A-Z_]*\((?:\s*\w+,)?\s*{flag.group(1)}\s*[,)]",
                          src):
        return True  # generated by a page-flags.h macro: PAGEFLAG(LRU, lru, ...) etc.
    for m in re.finditer(rf"(?<![\w.>])({re.escape(name)})\s*\(", src):
        line_start = src.rfind("\n", 0, m.start()) + 1
        prefix = src[line_start:m.start()]
        if prefix[:1].isspace() or any(c in prefix for c in "=;,(){}.-+!&|?"):
            continue  # indented (a call or a statement), or inside an expression
        depth, i = 0, m.end(1)
        while i < len(src):
            c = src[i]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        rest = src[i + 1:i + 400].lstrip()
        # a body: "{" directly, or after attributes / K&R-free trailers such as __releases()
        rest = re.sub(r"^(?:__\w+(?:\([^)]*\))?\s*)*", "", rest)
        if rest.startswith("{"):
            return True
    return False


def check(pairs: list[tuple[str, str]], mirror: Path | None = MIRROR) -> dict[tuple[str, str], str]:
    """Pairs that fail against the mirror -> why."""
    bad: dict[tuple[str, str], str] = {}
    for path, name in pairs:
        if (path, name) in EXCEPTIONS:
            continue
        src = kernel_file(path, mirror)
        if src is None:
            bad[(path, name)] = f"{path} does not exist at {TAG}"
        elif not defined_in(name, src):
            bad[(path, name)] = f"{name}() is not defined in {path} at {TAG}"
    return bad


def mirror_available(mirror: Path | None = MIRROR) -> bool:
    """Whether the v6.18 mirror can be read."""
    if mirror is None or not (mirror / "HEAD").exists():
        return False
    return kernel_file("Makefile", mirror) is not None


def main(argv: list[str] | None = None) -> int:
    """Print mismatches; with ``--write`` store the verified pairs (fails on mismatches)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write", action="store_true", help=f"write {DATA.relative_to(ROOT)}")
    args = p.parse_args(argv)
    if not mirror_available():
        print(f"no v6.18 mirror at {MIRROR} (set LINUX_GIT)", file=sys.stderr)
        return 2
    cited, files = citations(), cited_files()
    bad = check(sorted(cited))
    for (path, name), why in sorted(bad.items()):
        print(f"{path}:{name}(): {why}; cited at {', '.join(cited[(path, name)])}")
    missing = [f for f in sorted(files) if kernel_file(f) is None]
    for f in missing:
        print(f"{f}: no such file at {TAG}; cited at {', '.join(files[f])}")
    if args.write and not bad and not missing:
        pairs = [f"{path}:{name}" for path, name in sorted(cited)
                 if (path, name) not in EXCEPTIONS]
        DATA.parent.mkdir(parents=True, exist_ok=True)
        data = {"tag": TAG, "files": sorted(files), "verified": pairs}
        DATA.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"{len(pairs)} pairs, {len(files)} files written to {DATA.relative_to(ROOT)}")
    print(f"{len(cited)} cited pairs, {len(bad)} mismatches; {len(files)} files, "
          f"{len(missing)} missing")
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())
