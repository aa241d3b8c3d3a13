"""The server's one engine, started on first use, in a process of its own (``engine_process``).

``inference`` (and with it torch, ~200 MB) is imported only there: a server that serves files and
jobs, and the worker between trainings, never load it, and the API's own process never does.
"""
from __future__ import annotations

import logging
import threading

log = logging.getLogger("ftlab.sandbox")


class LazyEngine:
    """The server's one engine, started on first use (one model in memory for every request)
    and started again on the next request if its process has died."""

    def __init__(self):
        self._engine = None
        self._lock = threading.Lock()

    def get(self):
        """The running ``engine_process.EngineProcess``, starting it when there is none."""
        with self._lock:
            if self._engine is not None and not self._engine.alive():
                log.warning("the inference engine's process (pid %s) has ended; starting a new one", self._engine.pid)
                self._engine = None
            if self._engine is None:
                from .engine_process import EngineProcess
                self._engine = EngineProcess()
        return self._engine

    def chat(self, messages: list[dict], **settings):
        """``Engine.chat``; asked again of a new engine if the process died before answering
        (nothing was sent to the client yet, and a second death is the caller's error)."""
        from .engine_process import EngineGone
        try:
            return self.get().chat(messages, **settings)
        except EngineGone:
            return self.get().chat(messages, **settings)

    def stream_detached(self, messages: list[dict], **settings):
        """``Engine.stream_detached``; started again on a new engine if the process died before
        the first delta (after it, the client has text and the stream fails)."""
        from .engine_process import EngineGone
        from .replies import Stream

        def deltas():
            stream, sent = self.get().stream_detached(messages, **settings), False
            try:
                for delta in stream:
                    sent = True
                    yield delta
            except EngineGone:
                if sent:
                    raise
                stream = self.get().stream_detached(messages, **settings)
                yield from stream
            return stream.result

        return Stream(deltas())

    def close(self) -> None:
        """Stop the engine's process, if one was started."""
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
