"""Run an exported GGUF with llama.cpp itself (llama-cpp-python), where it can run safely.

``open_llama(path)`` loads the file as ``llama_cpp.Llama`` does, except on CPUs with AMX: there
llama.cpp's "extra buffer types" (weights repacked for its AMX / q8_0 kernels at load time) crash
the process in ``llama_decode`` for any batch of more than one token (checked with llama-cpp-python
0.3.36 on a Xeon with AMX: f16 works, q8_0 segfaults on the first prompt). With
``use_extra_bufts=False`` the weights stay as the file has them and the plain CPU kernels run.
``Llama`` has no argument for it, so the model's default parameters are patched for the load.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

# the features that decide which of llama.cpp's (and torch's) CPU kernels run, in this order
FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


def instruction_set(flags: set[str] | None = None) -> str:
    """The CPU's vector extensions among ``FEATURES``, e.g. ``"avx2 avx512f amx_int8"``."""
    if flags is None:
        from ftlab.sandbox.cpu import cpu_flags
        flags = cpu_flags()
    return " ".join(f for f in FEATURES if f in flags) or "none of " + "/".join(FEATURES)


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
