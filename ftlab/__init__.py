"""ftlab: the helpers the course notebooks call.

Names are re-exported lazily so that ``import ftlab`` stays fast (no pandas, torch or openai
until a helper that needs them is used).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

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
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ftlab' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__():
    return sorted(list(globals()) + __all__)
