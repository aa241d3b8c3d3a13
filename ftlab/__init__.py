"""ftlab: the helpers the course notebooks call.

Names are re-exported lazily so that ``import ftlab`` stays fast (no pandas, torch or openai
until a helper that needs them is used) and has no side effect. Submodules load on first use
too: ``import ftlab; ftlab.datasets`` works.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:  # what editors and type checkers see: go-to-definition finds each helper
    from ftlab.backend import backend_name, connect, is_sandbox
    from ftlab.datasets import convert_legacy, find_duplicates, iter_jsonl, read_jsonl, split, write_jsonl
    from ftlab.tokens import default_epochs, estimate_training, example_tokens, token_stats
    from ftlab.validation import FirstLineLabel, validate

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
    if module is not None:
        return getattr(importlib.import_module(module), name)
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")  # a submodule: ftlab.datasets
    raise AttributeError(f"module 'ftlab' has no attribute {name!r}")


def __dir__():
    submodules = {m.name for m in pkgutil.iter_modules(__path__)}
    return sorted(set(globals()) | set(__all__) | submodules)
