"""ftlab: the helpers the course notebooks call.

Names are re-exported lazily so that ``import ftlab`` stays fast (no pandas, torch or openai
until a helper that needs them is used).
"""
from __future__ import annotations

import importlib
import os

__version__ = "0.1.0"

# Same seed, same losses, whatever the thread count (the sandbox picks 1 or 2 threads by the
# machine's load): MKL's strict reproducibility mode makes its matrix products independent of it.
# Read when torch loads MKL, so it is set here, before any torch import; a user's own value wins.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

# public name -> module that defines it
_EXPORTS = {
    "connect": "ftlab.backend",
    "is_sandbox": "ftlab.backend",
    "backend_name": "ftlab.backend",
    "read_jsonl": "ftlab.datasets",
    "write_jsonl": "ftlab.datasets",
    "iter_jsonl": "ftlab.datasets",
    "convert_legacy": "ftlab.datasets",
    "split": "ftlab.datasets",
    "find_duplicates": "ftlab.datasets",
    "validate": "ftlab.validation",
    "FirstLineLabel": "ftlab.validation",
    "example_tokens": "ftlab.tokens",
    "token_stats": "ftlab.tokens",
    "default_epochs": "ftlab.tokens",
    "estimate_training": "ftlab.tokens",
    "export": "ftlab.export",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ftlab' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__():
    return sorted(list(globals()) + __all__)
