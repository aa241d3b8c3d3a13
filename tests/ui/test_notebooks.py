"""Every course notebook in a real JupyterLab: Run All, no errors, widgets rendered, a screenshot.

Notebooks run in chapter order in one JupyterLab (one sandbox home), as a student would go through
the course: later chapters reuse the model the job chapter trained.
"""
from __future__ import annotations

import pytest

from ftlab import paths

NOTEBOOKS = sorted(p.name for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_clean_in_the_browser(notebook, name):
    nb = notebook(name)
    seconds = nb.run_all()
    print(f"{name}: Run All took {seconds:.0f} s in the browser")
    shot = nb.screenshot()
    print(f"screenshot: {shot}")
    nb.assert_clean()
