"""environment.yml (conda users) and pyproject.toml (everyone) agree; pins live in pyproject.

environment.yml is a thin wrapper: conda supplies python and pip, and its pip section installs
`-e .[extra]` from pyproject.toml, the single list of dependencies (docs/conventions.md §C6).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
ENV: dict[str, Any] = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
PROJECT: dict[str, Any] = PYPROJECT["project"]
NAME = canonicalize_name(PROJECT["name"])
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
EDITABLE = re.compile(r"^-e\s+\.\[(?P<extras>[A-Za-z0-9_,-]+)\]$")

# Packages whose output is stored in notebooks/figures or that decide a check: pinned with ==.
MUST_PIN = {
    "numpy", "pandas", "matplotlib", "ipython", "ipywidgets", "ipykernel", "jupytext",
    "nbval", "nbclient", "nbformat", "nbconvert", "pytest", "hypothesis", "ruff", "mypy",
}


def _conda_specs() -> list[str]:
    return [d for d in ENV["dependencies"] if isinstance(d, str)]


def _pip_lines() -> list[str]:
    sections = [d["pip"] for d in ENV["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one pip: section"
    return [str(line).strip() for line in sections[0]]


def _closure(extra: str, seen: tuple[str, ...] = ()) -> list[Requirement]:
    """All third-party requirements of `extra`, following self-references like name[test]."""
    assert extra in EXTRAS, f"extra {extra!r} is referenced but not defined in pyproject.toml"
    assert extra not in seen, f"extra cycle: {' -> '.join((*seen, extra))}"
    reqs: list[Requirement] = []
    for line in EXTRAS[extra]:
        req = Requirement(line)
        if canonicalize_name(req.name) == NAME:
            for sub in sorted(req.extras):
                reqs += _closure(sub, (*seen, extra))
        else:
            reqs.append(req)
    return reqs


def _pins(reqs: list[Requirement]) -> dict[str, str]:
    """name -> pinned version for every `==` requirement; conflicting pins fail."""
    pins: dict[str, str] = {}
    for req in reqs:
        for spec in req.specifier:
            if spec.operator == "==":
                name = canonicalize_name(req.name)
                assert pins.setdefault(name, spec.version) == spec.version, (
                    f"{name} pinned to both {pins[name]} and {spec.version}"
                )
    return pins


def _editable_extras() -> list[str]:
    matches = [m for m in map(EDITABLE.match, _pip_lines()) if m]
    assert len(matches) == 1
    return matches[0]["extras"].split(",")


def test_conda_part_holds_only_python_and_pip() -> None:
    """Conda supplies the interpreter and pip only; every other package comes from pyproject."""
    names = [re.split(r"[=<>!~ ]", spec, maxsplit=1)[0] for spec in _conda_specs()]
    assert sorted(names) == ["pip", "python"]


def test_conda_python_satisfies_requires_python() -> None:
    """The python=X.Y in environment.yml is allowed by [project] requires-python."""
    (spec,) = [s for s in _conda_specs() if s.startswith("python")]
    m = re.fullmatch(r"python\s*=+\s*(\d+\.\d+(?:\.\d+)?)(?:\.\*)?", spec)
    assert m, f"write the conda python as python=X.Y, got {spec!r}"
    assert Version(m[1]) in SpecifierSet(PROJECT["requires-python"])


def test_pip_section_is_exactly_one_editable_install_of_an_existing_extra() -> None:
    """The pip section is one `-e .[extra]` line (no constraints file, no other packages), and
    the extra exists in pyproject.toml."""
    lines = _pip_lines()
    assert len(lines) == 1, f"pins live in pyproject.toml; pip section must be one line: {lines}"
    for extra in _editable_extras():
        assert extra in EXTRAS


def test_core_package_has_no_runtime_dependencies() -> None:
    """The model is pure stdlib: [project] dependencies is empty."""
    assert PROJECT.get("dependencies", []) == []


def test_every_extra_resolves_without_conflicting_pins() -> None:
    """Every extra's self-references name existing extras, with no cycle and no package pinned
    to two versions."""
    for extra in EXTRAS:
        _pins(_closure(extra))


def test_output_affecting_packages_are_pinned_exactly() -> None:
    """Packages whose output is stored or that decide a check are pinned with == in the extra
    that environment.yml installs."""
    pins = _pins([r for e in _editable_extras() for r in _closure(e)])
    assert pins.keys() >= MUST_PIN, f"not pinned with ==: {sorted(MUST_PIN - pins.keys())}"


def test_installed_versions_match_the_pins() -> None:
    """The running environment has exactly the pinned versions (else stored outputs may
    differ; `make test` reinstalls .venv when pyproject.toml changes)."""
    pins = _pins([r for e in _editable_extras() for r in _closure(e)])
    wrong = {
        name: (want, metadata.version(name))
        for name, want in pins.items()
        if metadata.version(name) != want
    }
    assert not wrong, f"installed versions differ from pins (want, have): {wrong}"
