"""The inference engine in a process of its own, behind the same ``chat`` / ``stream_detached``.

Why: generating runs Python between ~200 tensor operations a token and, on first use, imports
torch and loads the model (seconds holding the interpreter lock). In the API's process that makes
every GET of a class wait behind the chat of another student; in a process of its own it only
takes the cores, which the scheduler shares. The routes see no difference: ``chat`` returns the
engine's ``ChatResult``, ``stream_detached`` a ``Stream`` of text deltas, and an error the engine
raises is raised here. One pipe carries every request; a reader thread hands each message to the
request it belongs to. The child batches concurrent requests exactly as before (a thread each).
"""
from __future__ import annotations

import itertools
import logging
import queue
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

from .replies import Stream

log = logging.getLogger("ftlab.sandbox")


class EngineGone(RuntimeError):
    """The engine's process ended while a request was waiting for it."""


class EngineProcess:
    """A child process running ``inference.Engine``; requests and answers go through one pipe."""

    def __init__(self):
        # A plain `python -m` child on one end of a socket pair: multiprocessing's spawn would
        # re-import the parent's main module (a notebook's, a test's), and a fork would copy a
        # threaded server.
        mine, theirs = socket.socketpair()
        self._proc = subprocess.Popen([sys.executable, "-m", "ftlab.sandbox.engine_process", str(theirs.fileno())],
                                      pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(mine.detach())
        self._send_lock, self._ids = threading.Lock(), itertools.count()
        self._waiting: dict[int, queue.Queue] = {}
        self._gone = False   # the pipe broke: the process is ending even if not yet reaped
        threading.Thread(target=self._read, daemon=True, name="ftlab-engine-reader").start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return not self._gone and self._proc.poll() is None

    def chat(self, messages: list[dict], **settings):
        """``Engine.chat`` in the child: its ``ChatResult``, or the error it raised."""
        return _result(self._ask("chat", messages, settings).get())

    def stream_detached(self, messages: list[dict], **settings) -> Stream:
        """``Engine.stream_detached`` in the child (it generates to the end whatever the reader does)."""
        answers = self._ask("stream", messages, settings)

        def deltas():
            while isinstance(item := answers.get(), str):
                yield item
            return _result(item)

        return Stream(deltas())

    def close(self) -> None:
        self._conn.close()   # the child ends when its end of the pipe closes
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def _ask(self, kind: str, messages: list[dict], settings: dict) -> queue.Queue:
        rid, answers = next(self._ids), queue.Queue()
        self._waiting[rid] = answers
        try:
            with self._send_lock:
                self._conn.send((kind, rid, messages, settings))
        except (OSError, ValueError):
            self._gone = True
            self._waiting.pop(rid, None)
            answers.put(EngineGone("the inference engine's process has ended"))
        return answers

    def _read(self) -> None:
        while True:
            try:
                rid, item, last = self._conn.recv()
            except (EOFError, OSError):
                self._gone = True
                break
            answers = self._waiting.pop(rid) if last else self._waiting[rid]
            answers.put(item)
        for answers in list(self._waiting.values()):   # nobody waits forever for a dead engine
            answers.put(EngineGone("the inference engine's process has ended"))
        self._waiting.clear()


def _result(item):
    if isinstance(item, BaseException):
        raise item
    return item


def serve(conn) -> None:
    """The child's loop: answer each request in a thread of its own (the engine's batcher joins
    concurrent ones) while the engine loads in another; end when the parent closes the pipe."""
    send_lock, load_lock, loaded = threading.Lock(), threading.Lock(), []

    def engine():
        with load_lock:   # loaded once; a failure to load is every request's answer
            if not loaded:
                try:
                    from .inference import Engine
                    loaded.append(Engine())
                except Exception as exc:
                    loaded.append(exc)
        return _result(loaded[0])

    def send(rid: int, item, last: bool) -> None:
        with send_lock:
            conn.send((rid, item, last))

    def answer(kind: str, rid: int, messages: list[dict], settings: dict) -> None:
        try:
            if kind == "chat":
                send(rid, engine().chat(messages, **settings), True)
                return
            stream = engine().stream(messages, **settings)   # this thread reads it to the end: no detaching
            for delta in stream:
                send(rid, delta, False)
            send(rid, stream.result, True)
        except Exception as exc:   # the request's error goes back to its caller
            send(rid, _picklable(exc), True)

    threading.Thread(target=engine, daemon=True, name="ftlab-engine-load").start()
    while True:
        try:
            kind, rid, messages, settings = conn.recv()
        except (EOFError, OSError):
            return
        threading.Thread(target=answer, args=(kind, rid, messages, settings), daemon=True).start()


def _picklable(exc: Exception) -> Exception:
    """``exc`` if it survives the pipe, else a RuntimeError with its message."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
