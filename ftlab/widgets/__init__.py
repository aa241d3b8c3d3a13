"""ipywidgets forms for the notebooks, one module per form.

Each form keeps its logic in plain methods (``editor.add()``, ``viewer.run(path)``) that its
buttons call, so tests and notebook cells can drive it without a browser. Names are exported
lazily: importing ``ftlab.widgets`` does not import pandas or matplotlib.
"""
from __future__ import annotations

import importlib

# public name -> module that defines it (chapter owners add their forms here)
_EXPORTS = {
    "ExampleEditor": "ftlab.widgets.editor",
    "ReportViewer": "ftlab.widgets.report",
    "JobForm": "ftlab.widgets.job_form",
    "JobMonitor": "ftlab.widgets.monitor",
    "ABComparison": "ftlab.widgets.ab",
    "BiasProbe": "ftlab.widgets.bias",
    "RegistryBrowser": "ftlab.widgets.registry_browser",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ftlab.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__():
    return sorted(list(globals()) + __all__)
