"""The Responses API's shapes (``POST /v1/responses``) for text: the request, the conversation it
becomes for the stand-in, the ``Response`` object and its stream events.

Sources: the OpenAPI spec (``CreateResponse``, ``Response``, ``ResponseStreamEvent``) and the SDK's
types (``openai.types.responses``), which the tests validate against. Only text is supported:
tools, images and other item types are refused with a clear 400, not ignored.
"""
from __future__ import annotations

import secrets
import time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator

from ftlab.openai_spec import CHAT_ROLES

from .types import _chat_seed, _number, _required, invalid

MIN_OUTPUT_TOKENS = 16   # CreateResponse.max_output_tokens: minimum 16
TEXT_PARTS = ("input_text", "output_text", "text")


def _part_text(part, where: str) -> str:
    if isinstance(part, dict) and part.get("type") in TEXT_PARTS and isinstance(part.get("text"), str):
        return part["text"]
    kind = part.get("type") if isinstance(part, dict) else type(part).__name__
    raise invalid("unsupported_value", f"Invalid '{where}': the sandbox answers text only, not '{kind}'.",
                  where)


def _message(item, i: int) -> dict:
    """One input item → a chat message (role, text)."""
    where = f"input[{i}]"
    if not isinstance(item, dict):
        raise invalid("invalid_type", f"Invalid type for '{where}': expected an object.", where)
    if item.get("type", "message") != "message":
        raise invalid("unsupported_value", f"Invalid '{where}.type': the sandbox supports message items "
                      f"only, not '{item.get('type')}'.", f"{where}.type")
    role, content = item.get("role"), item.get("content")
    if role not in CHAT_ROLES or role in ("tool", "function"):
        raise invalid("invalid_value", f"Invalid value for '{where}.role': '{role}'.", f"{where}.role")
    if isinstance(content, list):
        content = "".join(_part_text(p, f"{where}.content[{k}]") for k, p in enumerate(content))
    if not isinstance(content, str):
        raise invalid("invalid_type", f"Invalid type for '{where}.content'.", f"{where}.content")
    return {"role": "system" if role == "developer" else role, "content": content}


def _input(value):
    value = _required(value)
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise invalid("invalid_value", "Invalid 'input': expected a string or a non-empty array of messages.")
    return [_message(item, i) for i, item in enumerate(value)]


def _max_output_tokens(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < MIN_OUTPUT_TOKENS):
        raise invalid("integer_below_min_value", "Invalid 'max_output_tokens': integer below minimum value. "
                      f"Expected a value >= {MIN_OUTPUT_TOKENS}, but got {value} instead.")
    return value


def _no_tools(value):
    if value:
        raise invalid("unsupported_value", "Invalid 'tools': the sandbox's Responses API answers text only.")
    return []


def _text_format(value):
    fmt = ((value or {}).get("format") or {}).get("type", "text") if isinstance(value, dict) else None
    if fmt != "text":
        raise invalid("unsupported_value", "Invalid 'text.format': the sandbox's Responses API supports "
                      "{'type': 'text'} only.", "text.format")
    return {"format": {"type": "text"}}


class ResponseRequest(BaseModel):
    """``POST /v1/responses`` (CreateResponse): what the sandbox uses of it."""
    model: Annotated[str, BeforeValidator(lambda v: str(_required(v)))]
    input: Annotated[list[dict], BeforeValidator(_input)]
    instructions: str | None = None
    max_output_tokens: Annotated[Any, BeforeValidator(_max_output_tokens)] = None
    temperature: _number(0, 2) = None
    top_p: _number(0, 1) = None
    stream: bool | None = False
    store: bool | None = True
    previous_response_id: str | None = None
    metadata: dict | None = None
    seed: Annotated[Any, BeforeValidator(_chat_seed)] = None   # not OpenAI's; for repeatable runs
    tools: Annotated[list, BeforeValidator(_no_tools)] = []
    text: Annotated[dict, BeforeValidator(_text_format)] = {"format": {"type": "text"}}

    def messages(self, history: list[dict]) -> list[dict]:
        """The conversation for the engine: instructions (not carried over from the previous
        response, as OpenAI documents), the previous turns, this input."""
        system = [{"role": "system", "content": self.instructions}] if self.instructions else []
        return system + history + self.input

    def generation(self, history: list[dict]) -> dict:
        return {"messages": self.messages(history),
                "temperature": 1.0 if self.temperature is None else self.temperature,
                "top_p": 1.0 if self.top_p is None else self.top_p,
                "max_tokens": self.max_output_tokens, "stop": None, "seed": self.seed}


def new_ids() -> tuple[str, str]:
    return "resp_" + secrets.token_hex(24), "msg_" + secrets.token_hex(24)


def output_message(msg_id: str, text: str | None, status: str) -> dict:
    """An assistant message output item (``ResponseOutputMessage``); text None: no part yet."""
    content = [] if text is None else [output_text(text)]
    return {"type": "message", "id": msg_id, "status": status, "role": "assistant", "content": content}


def output_text(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def usage(input_tokens: int, output_tokens: int) -> dict:
    return {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens}


def response_object(body: ResponseRequest, resp_id: str, created_at: int, *, status: str,
                    output: list[dict], usage_: dict | None = None, finish_reason: str | None = None) -> dict:
    """The ``Response`` object; ``finish_reason == "length"`` makes it incomplete, as OpenAI reports
    a reply cut at ``max_output_tokens``."""
    if finish_reason == "length":
        status = "incomplete"
    return {
        "id": resp_id, "object": "response", "created_at": created_at, "status": status,
        "background": False, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.instructions, "max_output_tokens": body.max_output_tokens,
        "model": body.model, "output": output, "parallel_tool_calls": True,
        "previous_response_id": body.previous_response_id, "reasoning": {"effort": None, "summary": None},
        "store": bool(body.store), "temperature": 1.0 if body.temperature is None else body.temperature,
        "text": body.text, "tool_choice": "auto", "tools": [],
        "top_p": 1.0 if body.top_p is None else body.top_p, "truncation": "disabled",
        "usage": usage_, "user": None, "metadata": body.metadata or {},
    }


def now() -> int:
    return int(time.time())
