"""``POST /v1/chat/completions``: answers from the stand-in or a fine-tuned adapter, streamed or not.

The engine generates (``inference``); this module only picks the adapter and writes OpenAI's
response or its server-sent events. With tools, a streamed reply's first text is held until it is
clear whether it is a call; calls are sent as OpenAI streams them (ChatCompletionChunk's
``delta.tool_calls``: first the index, id, type and name with empty arguments, then the arguments
in pieces that the SDK concatenates).
"""
from __future__ import annotations

import json
import logging
import secrets
import time

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from .. import catalog
from ..dependencies import get_engine, get_store
from ..errors import envelope, not_found
from ..store import Store
from ..tool_prompt import CALL_OPEN
from ..types import ChatCompletion, ChatCompletionChunk, ChatRequest, ChunkChoice, Usage, new_call_id

log = logging.getLogger("ftlab.sandbox")
ARGUMENT_PIECE = 12   # characters of arguments per streamed chunk (OpenAI sends about a token each)

router = APIRouter(prefix="/v1/chat")


def adapter_of(store: Store, model: str):
    """The adapter dir of a fine-tuned or checkpoint model; None for a base model."""
    if catalog.is_base(model):
        return None
    adapter = store.adapter_for(model)
    if adapter is None:
        raise not_found(f"The model `{model}` does not exist or you do not have access to it.",
                        "model", "model_not_found")
    return adapter


@router.post("/completions")
async def chat(body: ChatRequest, store: Store = Depends(get_store), engine=Depends(get_engine)):
    adapter = adapter_of(store, body.model)
    settings = body.generation()
    if body.stream:
        events = _sse(engine, body.model, adapter, settings, body.include_usage, body.legacy_functions)
        return StreamingResponse(_closing(events), media_type="text/event-stream")
    choices, prompt_tokens = await run_in_threadpool(lambda: engine.chat(adapter_dir=adapter, **settings))
    return ChatCompletion.of(body.model, choices, prompt_tokens, body.legacy_functions)


async def _closing(events):
    """Iterate a blocking generator in worker threads and always close it, also when the client
    goes away mid-stream. An error after the first chunk (the status is sent) goes out as an
    ``error`` chunk in OpenAI's envelope, which the SDK raises as ``APIError``."""
    try:
        while (chunk := await run_in_threadpool(next, events, None)) is not None:
            yield chunk
    except Exception as exc:
        log.exception("stream failed")
        body = envelope(f"The sandbox server had an error: {type(exc).__name__}: {exc}", "server_error")
        yield f"data: {json.dumps(body)}\n\n"
    finally:
        events.close()


def _sse(engine, model: str, adapter, settings: dict, include_usage: bool, legacy: bool = False):
    """Server-sent events in OpenAI's chunk format, ending with ``data: [DONE]``."""
    cid, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())

    def event(choices=(), usage=None) -> str:
        chunk = ChatCompletionChunk(id=cid, created=created, model=model, choices=list(choices), usage=usage)
        return f"data: {json.dumps(chunk.model_dump(), ensure_ascii=False)}\n\n"

    n, tools = settings.pop("n"), settings.get("tools")
    prompt_tokens = completion_tokens = 0
    for index in range(n):
        stream = engine.stream_detached(adapter_dir=adapter, **settings)
        for delta in _deltas(stream, tools if tools and tools.shown else None, legacy):
            yield event([ChunkChoice(index=index, delta=delta)])
        result = stream.result
        prompt_tokens = result.prompt_tokens
        completion_tokens += result.completion_tokens
        reason = "function_call" if legacy and result.tool_calls else result.finish_reason
        yield event([ChunkChoice(index=index, delta={}, finish_reason=reason)])
    if include_usage:
        yield event(usage=Usage.of(prompt_tokens, completion_tokens))
    yield "data: [DONE]\n\n"


def _deltas(stream, tools, legacy: bool):
    """One choice's deltas: text as it comes; with tools, text that may begin a call is held
    until the reply is known to be text, or sent as calls once complete."""
    if tools is None:
        yield {"role": "assistant", "content": ""}
        yield from ({"content": d} for d in stream)
        return
    held, text = "", False
    for delta in stream:
        if text:
            yield {"content": delta}
            continue
        held += delta
        start = held.lstrip()
        if not tools.forced and not (CALL_OPEN.startswith(start) or start.startswith(CALL_OPEN)):
            text = True
            yield {"role": "assistant", "content": held}
    if stream.result.tool_calls:
        yield from _call_deltas(stream.result.tool_calls, legacy)
    elif not text:
        yield {"role": "assistant", "content": held}


def _call_deltas(calls: list[dict], legacy: bool):
    """Calls as OpenAI streams them: a head (id, type, name; arguments "") then argument pieces."""
    for i, call in enumerate(calls[:1] if legacy else calls):
        args = call["arguments"]
        pieces = [args[k:k + ARGUMENT_PIECE] for k in range(0, len(args), ARGUMENT_PIECE)]
        head = {"name": call["name"], "arguments": ""}
        first = {"role": "assistant", "content": None} if i == 0 else {}
        if legacy:
            yield {**first, "function_call": head}
            yield from ({"function_call": {"arguments": p}} for p in pieces)
        else:
            yield {**first, "tool_calls": [{"index": i, "id": new_call_id(), "type": "function", "function": head}]}
            yield from ({"tool_calls": [{"index": i, "function": {"arguments": p}}]} for p in pieces)
