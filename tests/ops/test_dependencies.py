"""pyproject.toml names every package requirements.in names, with the same version bounds: setup
installs the project with --no-deps, so nothing else notices when the two drift apart."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def requirements_in() -> dict[str, Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / "requirements.in").read_text(encoding="utf-8").splitlines())
    reqs = [Requirement(line) for line in lines if line]
    return {canonicalize_name(r.name): r for r in reqs}


def pyproject() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = list(project["dependencies"]) + [d for extra in project.get("optional-dependencies", {}).values() for d in extra]
    reqs = [Requirement(d) for d in names]
    return {canonicalize_name(r.name): r for r in reqs}


def test_pyproject_names_every_package_requirements_in_names() -> None:
    wanted, declared = requirements_in(), pyproject()
    assert sorted(set(wanted) - set(declared)) == [], "requirements.in names packages pyproject.toml lacks"
    assert sorted(set(declared) - set(wanted)) == [], "pyproject.toml names packages requirements.in lacks"
    for name, req in wanted.items():
        assert (str(declared[name].specifier), declared[name].extras) == (str(req.specifier), req.extras), name


def test_the_runtime_packages_are_project_dependencies() -> None:
    """What the product imports at run time is a dependency proper, not only a test extra."""
    runtime = {canonicalize_name(Requirement(d).name)
               for d in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]}
    assert {"alembic", "psycopg", "chinesecalendar", "ortools"} <= runtime
