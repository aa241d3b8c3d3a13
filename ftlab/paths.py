"""Where the course keeps things: project data, the sandbox home and the model cache."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"


def home() -> Path:
    """The sandbox data dir: ``$FTLAB_HOME``, else ``~/.ftlab``."""
    return Path(os.environ.get("FTLAB_HOME") or Path.home() / ".ftlab").expanduser()


def cache_dir() -> Path:
    """Where the prepared stand-in model is cached, shared by every sandbox home."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ftlab"
    return Path(os.environ.get("FTLAB_CACHE") or default).expanduser()
