"""Run an exported GGUF with llama.cpp itself (llama-cpp-python), where it can run safely.

``open_llama(path)`` loads the file as ``llama_cpp.Llama`` does, except on CPUs with AMX: there
llama.cpp's "extra buffer types" (weights repacked for its AMX / q8_0 kernels at load time) crash
the process in ``llama_decode`` for any batch of more than one token (checked with llama-cpp-python
0.3.36 on a Xeon with AMX: f16 works, q8_0 segfaults on the first prompt). With
``use_extra_bufts=False`` the weights stay as the file has them and the plain CPU kernels run.
``Llama`` has no argument for it, so the model's default parameters are patched for the load.

``serve`` / ``python -m ftlab.llamacpp FILE.gguf`` runs llama-cpp-python's own OpenAI-compatible
server (``llama_cpp.server``, the ``[server]`` extra) on that file with the same fix; ``server()``
starts it in a child process for a notebook and yields an ``openai`` client for it.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

def needs_plain_buffers(flags: set[str] | None = None) -> bool:
    """True on CPUs with AMX, where llama.cpp's repacked weight buffers crash (see the module doc)."""
    if flags is None:
        from ftlab.sandbox.cpu import cpu_flags
        flags = cpu_flags()
    return "amx_tile" in flags


@contextlib.contextmanager
def _plain_buffers(llama_cpp):
    """While active, every model llama-cpp-python loads has ``use_extra_bufts=False``."""
    low = llama_cpp.llama_cpp
    default = low.llama_model_default_params

    def params():
        p = default()
        p.use_extra_bufts = False
        return p
    low.llama_model_default_params = params
    try:
        yield
    finally:
        low.llama_model_default_params = default


def open_llama(path, *, n_ctx: int = 2048, n_threads: int | None = None, flags: set[str] | None = None):
    """``llama_cpp.Llama`` for the GGUF ``path``, greedy-ready; plain weight buffers on AMX CPUs."""
    import llama_cpp

    keep = _plain_buffers(llama_cpp) if needs_plain_buffers(flags) else contextlib.nullcontext()
    with keep:
        return llama_cpp.Llama(model_path=str(Path(path)), n_ctx=n_ctx, verbose=False,
                               n_threads=n_threads or os.cpu_count(), n_threads_batch=n_threads or os.cpu_count())


def greedy_answers(llama, conversations: list[list[dict]], *, max_tokens: int = 64) -> list[str]:
    """llama.cpp's greedy answers, through its own chat template handling (the GGUF's template)."""
    return [llama.create_chat_completion(messages=m, temperature=0.0, max_tokens=max_tokens)
            ["choices"][0]["message"]["content"] for m in conversations]


def serve(path, *, host: str = "127.0.0.1", port: int = 8000, alias: str | None = None,
          n_ctx: int = 2048, flags: set[str] | None = None) -> None:
    """llama.cpp's OpenAI-compatible server for the GGUF ``path`` (blocks; key from env ``API_KEY``)."""
    import llama_cpp
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    model = ModelSettings(model=str(Path(path)), model_alias=alias or Path(path).stem, n_ctx=n_ctx,
                          n_threads=os.cpu_count(), n_threads_batch=os.cpu_count(), verbose=False)
    _openai_defaults()
    keep = _plain_buffers(llama_cpp) if needs_plain_buffers(flags) else contextlib.nullcontext()
    with keep:   # the proxy loads the model here, inside create_app
        app = create_app(server_settings=ServerSettings(host=host, port=port), model_settings=[model])
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _openai_defaults() -> None:
    """Requests that name no ``repeat_penalty`` get 1.0 (none), as on OpenAI's API.

    llama_cpp.server defaults it to 1.1, so code written for OpenAI (which has no such parameter)
    would get other answers than it asked for, even at temperature 0. Clients may still send it.
    """
    from llama_cpp.server import types

    for request in (types.CreateChatCompletionRequest, types.CreateCompletionRequest):
        request.model_fields["repeat_penalty"].default = 1.0
        request.model_rebuild(force=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(path, *, alias: str, timeout: float = 180.0):
    """llama.cpp's server for ``path`` on 127.0.0.1 in a child process; yields an ``openai.OpenAI``.

    The child gets a fresh key through its environment (never on its command line or in output) and
    is stopped on exit. Waits until ``/v1/models`` answers, or raises if the child dies first.
    """
    import httpx
    import openai

    port, key = _free_port(), secrets.token_urlsafe(24)
    cmd = [sys.executable, "-m", "ftlab.llamacpp", str(Path(path)), "--port", str(port), "--alias", alias]
    child = subprocess.Popen(cmd, env={**os.environ, "API_KEY": key}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {child.returncode}: {child.stderr.read()[-2000:]}")
            try:
                if httpx.get(f"{base}/models", headers={"Authorization": f"Bearer {key}"}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"llama.cpp server did not answer within {timeout:.0f} s")
            time.sleep(0.2)   # polling a condition: the server is up when /v1/models answers
        yield openai.OpenAI(base_url=base, api_key=key)
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ftlab.llamacpp",
                                     description="llama.cpp's OpenAI-compatible server for one GGUF file")
    parser.add_argument("gguf")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--alias", help="the model name clients ask for (default: the file's stem)")
    parser.add_argument("--n-ctx", type=int, default=2048)
    args = parser.parse_args(argv)
    serve(args.gguf, host=args.host, port=args.port, alias=args.alias, n_ctx=args.n_ctx)


if __name__ == "__main__":
    main()
