"""Course notebooks in a real JupyterLab: Run All, no errors, widgets rendered, a screenshot.

Notebooks run in chapter order in one JupyterLab (one sandbox home), as a student would go through
the course: later chapters reuse the model the job chapter trained. Under `make test` that home is
the one the nbval run just used (``FTLAB_TEST_HOME``), so the course models are trained and the
evaluations answered, as after ``ftlab prepare``.

Chapters 04, 05, 09 and 10 are not run whole in the browser by default: each starts new training
jobs or long generations (minutes each on 2 cores: the README's chapter table) that nbval has
just executed in the same CI run; their forms (job form, monitor) are driven in the browser by test_interactions.
``FTLAB_UI_ALL=1 make test-ui`` runs every chapter here.
"""
from __future__ import annotations

import os

import pytest

from ftlab import paths

NOTEBOOKS = sorted(p.name for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
TRAINING_CHAPTERS = ("04_", "05_", "09_", "10_")


def browser_notebooks(names: list[str], run_all: bool) -> list[str]:
    """The notebooks Run All covers in the browser: all, or all but the training chapters."""
    return names if run_all else [n for n in names if not n.startswith(TRAINING_CHAPTERS)]


@pytest.mark.slow
@pytest.mark.parametrize("name", browser_notebooks(NOTEBOOKS, os.environ.get("FTLAB_UI_ALL") == "1"))
def test_notebook_runs_clean_in_the_browser(notebook, name):
    nb = notebook(name)
    seconds = nb.run_all()
    print(f"{name}: Run All took {seconds:.0f} s in the browser")
    shot = nb.screenshot()
    print(f"screenshot: {shot}")
    nb.assert_clean()
