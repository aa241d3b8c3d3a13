"""The server's one engine, loaded on first use.

``inference`` (and with it torch, ~200 MB) is imported only then: a server that serves files and
jobs, and the worker between trainings, never load it.
"""
from __future__ import annotations

import threading


class LazyEngine:
    """The server's one engine, loaded on first use (one model in memory for every request)."""

    def __init__(self):
        self._engine = None
        self._lock = threading.Lock()

    def get(self):
        """The ``inference.Engine``, loading it on the first call."""
        with self._lock:
            if self._engine is None:
                from .inference import Engine
                self._engine = Engine()
        return self._engine
