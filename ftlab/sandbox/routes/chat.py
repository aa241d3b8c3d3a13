"""``POST /v1/chat/completions``: answers from the stand-in or a fine-tuned adapter, streamed or not.

The engine generates (``inference``); this module only picks the adapter and writes OpenAI's
response or its server-sent events.
"""
from __future__ import annotations

import json
import secrets
import time

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from .. import catalog
from ..dependencies import get_engine, get_store
from ..errors import not_found
from ..store import Store
from ..types import ChatCompletion, ChatCompletionChunk, ChatRequest, ChunkChoice, Usage

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
        events = _sse(engine, body.model, adapter, settings, body.include_usage)
        return StreamingResponse(_closing(events), media_type="text/event-stream")
    choices, prompt_tokens = await run_in_threadpool(lambda: engine.get().chat(adapter_dir=adapter, **settings))
    return ChatCompletion.of(body.model, choices, prompt_tokens)


async def _closing(events):
    """Iterate a blocking generator in worker threads and always close it, also when the client
    goes away mid-stream."""
    try:
        while (chunk := await run_in_threadpool(next, events, None)) is not None:
            yield chunk
    finally:
        events.close()


def _sse(engine, model: str, adapter, settings: dict, include_usage: bool):
    """Server-sent events in OpenAI's chunk format, ending with ``data: [DONE]``."""
    cid, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())

    def event(choices=(), usage=None) -> str:
        chunk = ChatCompletionChunk(id=cid, created=created, model=model, choices=list(choices), usage=usage)
        return f"data: {json.dumps(chunk.model_dump(), ensure_ascii=False)}\n\n"

    n = settings.pop("n")
    prompt_tokens = completion_tokens = 0
    for index in range(n):
        yield event([ChunkChoice(index=index, delta={"role": "assistant", "content": ""})])
        stream = engine.get().stream_detached(adapter_dir=adapter, **settings)
        for delta in stream:
            yield event([ChunkChoice(index=index, delta={"content": delta})])
        prompt_tokens = stream.result.prompt_tokens
        completion_tokens += stream.result.completion_tokens
        yield event([ChunkChoice(index=index, delta={}, finish_reason=stream.result.finish_reason)])
    if include_usage:
        yield event(usage=Usage.of(prompt_tokens, completion_tokens))
    yield "data: [DONE]\n\n"
