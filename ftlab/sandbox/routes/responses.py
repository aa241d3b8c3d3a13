"""``/v1/responses``: the Responses API on the stand-in or a fine-tuned adapter, streamed or not, with
function tools; ``store`` keeps the conversation so ``previous_response_id`` can continue it."""
from __future__ import annotations

import json

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from .. import responses as shapes
from ..dependencies import get_engine, get_store
from ..errors import not_found
from ..responses import ResponseRequest
from ..store import Store
from .chat import _closing, adapter_of

router = APIRouter(prefix="/v1/responses")


def history_of(store: Store, previous: str | None) -> list[dict]:
    if previous is None:
        return []
    found = store.get_response(previous)
    if found is None:
        raise not_found(f"Previous response with id '{previous}' not found.", "previous_response_id",
                        "previous_response_not_found")
    return found[1]


def remember(store: Store, body: ResponseRequest, history: list[dict], response: dict, text: str) -> None:
    if body.store:
        store.add_response(response, history + body.input + [shapes.assistant_turn(text, response["output"])])


def output_items(msg_id: str, text: str, calls, status: str) -> list[dict]:
    """The reply as output items: its function calls, or one assistant message."""
    return shapes.function_call_items(calls) if calls else [shapes.output_message(msg_id, text, status)]


@router.post("")
async def create_response(body: ResponseRequest, store: Store = Depends(get_store), engine=Depends(get_engine)):
    adapter = adapter_of(store, body.model)
    history = history_of(store, body.previous_response_id)
    settings = body.generation(history)
    if body.stream:
        events = _sse(store, engine, body, adapter, history, settings)
        return StreamingResponse(_closing(events), media_type="text/event-stream")
    result = await run_in_threadpool(lambda: engine.chat(adapter_dir=adapter, n=1, **settings))
    choice = result.choices[0]
    resp_id, msg_id = shapes.new_ids()
    status = "incomplete" if choice.finish_reason == "length" else "completed"
    response = shapes.response_object(body, resp_id, shapes.now(), status=status,
                                      output=output_items(msg_id, choice.text, choice.tool_calls, status),
                                      usage_=shapes.usage(result.prompt_tokens, choice.completion_tokens),
                                      finish_reason=choice.finish_reason)
    remember(store, body, history, response, choice.text)
    return response


@router.get("/{response_id}")
def retrieve_response(response_id: str, store: Store = Depends(get_store)):
    found = store.get_response(response_id)
    if found is None:
        raise not_found(f"Response with id '{response_id}' not found.", "response_id", "response_not_found")
    return found[0]


@router.delete("/{response_id}")
def delete_response(response_id: str, store: Store = Depends(get_store)):
    if not store.delete_response(response_id):
        raise not_found(f"Response with id '{response_id}' not found.", "response_id", "response_not_found")
    return {"id": response_id, "object": "response", "deleted": True}


def _sse(store: Store, engine, body: ResponseRequest, adapter, history: list[dict], settings: dict):
    """OpenAI's Responses stream: created, in_progress, output item and content part added, text
    deltas, their done events, then completed (or incomplete); each ``event:`` names its type.
    With tools the reply is sent once it is known to be text or calls (see ``_sse_tools``)."""
    resp_id, msg_id = shapes.new_ids()
    created, seq = shapes.now(), iter(range(1 << 30))

    def event(kind: str, **fields) -> str:
        data = {"type": kind, "sequence_number": next(seq), **fields}
        return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    def snapshot(status, output=(), **kw):
        return shapes.response_object(body, resp_id, created, status=status, output=list(output), **kw)

    at = {"output_index": 0, "item_id": msg_id, "content_index": 0}
    yield event("response.created", response=snapshot("in_progress"))
    yield event("response.in_progress", response=snapshot("in_progress"))
    if settings.get("tools") is not None:
        yield from _sse_tools(store, engine, body, adapter, history, settings, event, snapshot, msg_id)
        return
    yield event("response.output_item.added", output_index=0, item=shapes.output_message(msg_id, None, "in_progress"))
    yield event("response.content_part.added", **at, part=shapes.output_text(""))
    stream = engine.stream_detached(adapter_dir=adapter, **settings)
    for delta in stream:
        yield event("response.output_text.delta", **at, delta=delta, logprobs=[])
    r = stream.result
    status = "incomplete" if r.finish_reason == "length" else "completed"
    yield event("response.output_text.done", **at, text=r.text, logprobs=[])
    yield event("response.content_part.done", **at, part=shapes.output_text(r.text))
    message = shapes.output_message(msg_id, r.text, status)
    yield event("response.output_item.done", output_index=0, item=message)
    final = snapshot(status, [message], usage_=shapes.usage(r.prompt_tokens, r.completion_tokens),
                     finish_reason=r.finish_reason)
    remember(store, body, history, final, r.text)
    yield event(f"response.{status}", response=final)


def _sse_tools(store, engine, body, adapter, history, settings, event, snapshot, msg_id):
    """The rest of a stream whose request has tools: the reply is generated first (a call cannot be
    told from text by its first tokens), then sent as OpenAI streams it: each call as an output item
    with its arguments in ``function_call_arguments`` delta/done events, or the text as one delta."""
    r = engine.chat(adapter_dir=adapter, n=1, **settings)
    choice = r.choices[0]
    status = "incomplete" if choice.finish_reason == "length" else "completed"
    output = output_items(msg_id, choice.text, choice.tool_calls, status)
    for index, item in enumerate(output):
        if item["type"] == "function_call":
            yield event("response.output_item.added", output_index=index, item={**item, "arguments": "", "status": "in_progress"})
            at = {"output_index": index, "item_id": item["id"]}
            yield event("response.function_call_arguments.delta", **at, delta=item["arguments"])
            yield event("response.function_call_arguments.done", **at, name=item["name"], arguments=item["arguments"])
        else:
            at = {"output_index": index, "item_id": msg_id, "content_index": 0}
            yield event("response.output_item.added", output_index=index, item=shapes.output_message(msg_id, None, "in_progress"))
            yield event("response.content_part.added", **at, part=shapes.output_text(""))
            yield event("response.output_text.delta", **at, delta=choice.text, logprobs=[])
            yield event("response.output_text.done", **at, text=choice.text, logprobs=[])
            yield event("response.content_part.done", **at, part=shapes.output_text(choice.text))
        yield event("response.output_item.done", output_index=index, item=item)
    final = snapshot(status, output, usage_=shapes.usage(r.prompt_tokens, choice.completion_tokens),
                     finish_reason=choice.finish_reason)
    remember(store, body, history, final, choice.text)
    yield event(f"response.{status}", response=final)
