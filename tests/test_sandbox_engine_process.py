"""The engine generates in a process of its own: the API's process never loads torch, a killed
engine fails its requests at once (no hang) and the next request starts a new one."""
from __future__ import annotations

import os
import signal
import threading

import openai
import psutil
import pytest

from ftlab.sandbox import control
from sandbox_helpers import sandbox

pytestmark = pytest.mark.slow  # loads the stand-in model
MESSAGES = [{"role": "user", "content": "Scrivi una lunga storia su un gatto."}]


def _loads_torch(proc: psutil.Process) -> bool:
    try:
        return any("libtorch" in m.path for m in proc.memory_maps())
    except psutil.Error:   # a killed engine not yet reaped by the server
        return False


def _engine(server: psutil.Process) -> psutil.Process:
    (engine,) = [p for p in server.children() if _loads_torch(p)]
    return engine


def _wait_gone(proc: psutil.Process) -> None:
    """Until ``proc`` has exited (a zombie counts: its parent, the server, reaps it later)."""
    while proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
        psutil.wait_procs([proc], timeout=0.1)


def _ask(client, max_tokens: int = 3):
    return client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES, max_tokens=max_tokens,
                                          temperature=0)


def test_the_api_process_never_loads_torch_and_a_killed_engine_is_replaced(tmp_path):
    with sandbox(tmp_path, FTLAB_SANDBOX_WORKER=0) as client:
        server = psutil.Process(control.status(tmp_path)["pid"])
        first = _ask(client).choices[0].message.content
        assert not _loads_torch(server)
        engine = _engine(server)
        os.kill(engine.pid, signal.SIGKILL)
        _wait_gone(engine)
        again = _ask(client).choices[0].message.content
        assert again == first   # greedy: the new engine answers as the old one did
        assert _engine(server).pid != engine.pid and not _loads_torch(server)


def _kill_while_generating(server: psutil.Process, busy: threading.Thread) -> None:
    engine = _engine(server)
    while engine.cpu_percent(0.2) < 20 and busy.is_alive():   # until it is generating
        pass
    os.kill(engine.pid, signal.SIGKILL)


def test_a_request_the_dead_engine_was_answering_is_answered_by_the_next(tmp_path):
    with sandbox(tmp_path, FTLAB_SANDBOX_WORKER=0) as client:
        server = psutil.Process(control.status(tmp_path)["pid"])
        alone = _ask(client, max_tokens=120).choices[0].message.content
        outcome = {}
        asker = threading.Thread(target=lambda: outcome.update(answer=_ask(client, max_tokens=120)))
        asker.start()
        _kill_while_generating(server, asker)
        asker.join(300)
        assert outcome["answer"].choices[0].message.content == alone


def test_a_stream_cut_by_the_engine_s_death_ends_with_an_error_not_a_hang(tmp_path):
    with sandbox(tmp_path, FTLAB_SANDBOX_WORKER=0) as client:
        server = psutil.Process(control.status(tmp_path)["pid"])
        _ask(client)   # the engine is up
        outcome = {"chunks": []}

        def read():
            try:
                for chunk in client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES, max_tokens=400,
                                                            temperature=0, stream=True):
                    outcome["chunks"].append(chunk)
            except openai.APIError as exc:   # the error chunk OpenAI's streams carry
                outcome["error"] = exc

        reader = threading.Thread(target=read)
        reader.start()
        while not outcome["chunks"] and reader.is_alive():   # text has reached the client
            reader.join(0.05)
        _kill_while_generating(server, reader)
        reader.join(120)
        assert not reader.is_alive()
        reasons = [c.choices[0].finish_reason for c in outcome["chunks"] if c.choices]
        assert "error" in outcome and not any(reasons), outcome
        assert _ask(client).choices[0].finish_reason == "length"   # and the next request is served
