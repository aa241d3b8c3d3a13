"""The Responses API's shapes (``POST /v1/responses``): the request, the conversation it becomes
for the stand-in, the ``Response`` object and its stream events.

Sources: the OpenAPI spec (``CreateResponse``, ``Response``, ``ResponseStreamEvent``) and the SDK's
types (``openai.types.responses``), which the tests validate against. Text and function tools are
supported: ``function_call`` items out, ``function_call`` / ``function_call_output`` items back in
(rendered with the same tool template as chat completions); images, hosted tools and other item
types are refused with a clear 400, not ignored.
"""
from __future__ import annotations

import secrets
import time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, PrivateAttr, model_validator

from ftlab.openai_spec import CHAT_ROLES

from .errors import bad_request
from .tool_prompt import ToolUse
from ftlab.openai_spec import TOOL_CALL_ID_PREFIX

from .types import _boolean, _chat_seed, _choice_name, _number, _required, _tools, invalid

MIN_OUTPUT_TOKENS = 16   # CreateResponse.max_output_tokens: minimum 16
TEXT_PARTS = ("input_text", "output_text", "text")


def _part_text(part, where: str) -> str:
    if isinstance(part, dict) and part.get("type") in TEXT_PARTS and isinstance(part.get("text"), str):
        return part["text"]
    kind = part.get("type") if isinstance(part, dict) else type(part).__name__
    raise invalid("unsupported_value", f"Invalid '{where}': the sandbox answers text only, not '{kind}'.",
                  where)


def _message(item, i: int) -> dict:
    """One input item → a chat message: a message (role, text), a ``function_call`` (an assistant
    turn with one call) or a ``function_call_output`` (a tool turn answering a call)."""
    where = f"input[{i}]"
    if not isinstance(item, dict):
        raise invalid("invalid_type", f"Invalid type for '{where}': expected an object.", where)
    kind = item.get("type", "message")
    if kind in ("function_call", "function_call_output"):
        return _call_item(item, where)
    if kind != "message":
        raise invalid("unsupported_value", f"Invalid '{where}.type': the sandbox supports message, function_call "
                      f"and function_call_output items only, not '{kind}'.", f"{where}.type")
    role, content = item.get("role"), item.get("content")
    if role not in CHAT_ROLES or role in ("tool", "function"):
        raise invalid("invalid_value", f"Invalid value for '{where}.role': '{role}'.", f"{where}.role")
    if isinstance(content, list):
        content = "".join(_part_text(p, f"{where}.content[{k}]") for k, p in enumerate(content))
    if not isinstance(content, str):
        raise invalid("invalid_type", f"Invalid type for '{where}.content'.", f"{where}.content")
    return {"role": "system" if role == "developer" else role, "content": content}


def _call_item(item: dict, where: str) -> dict:
    """A ``function_call`` or ``function_call_output`` input item as the chat turn it stands for."""
    needed = ("call_id", "name", "arguments") if item["type"] == "function_call" else ("call_id", "output")
    for key in needed:
        if not isinstance(item.get(key), str):
            raise invalid("missing_required_parameter", f"Missing required parameter: '{where}.{key}'.",
                          f"{where}.{key}")
    if item["type"] == "function_call":
        call = {"id": item["call_id"], "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "tool", "tool_call_id": item["call_id"], "content": item["output"]}


def _merge_calls(messages: list[dict]) -> list[dict]:
    """Consecutive ``function_call`` items are one assistant turn with parallel calls, as in chat."""
    out: list[dict] = []
    for m in messages:
        if m.get("tool_calls") and out and out[-1].get("tool_calls") and out[-1].get("content") is None:
            out[-1] = {**out[-1], "tool_calls": out[-1]["tool_calls"] + m["tool_calls"]}
        else:
            out.append(m)
    return out


def _input(value):
    value = _required(value)
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise invalid("invalid_value", "Invalid 'input': expected a string or a non-empty array of messages.")
    return _merge_calls([_message(item, i) for i, item in enumerate(value)])


def _max_output_tokens(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < MIN_OUTPUT_TOKENS):
        raise invalid("integer_below_min_value", "Invalid 'max_output_tokens': integer below minimum value. "
                      f"Expected a value >= {MIN_OUTPUT_TOKENS}, but got {value} instead.")
    return value


def _function_tools(value):
    """``tools``: FunctionTool items ({type: function, name, parameters?, description?, strict?}) as
    chat tools, checked by the same rules; hosted tools (web search, file search…) are refused."""
    if not value:
        return []
    if not isinstance(value, list):
        raise invalid("invalid_type", "Invalid type for 'tools': expected an array.", "tools")
    chat = []
    for i, tool in enumerate(value):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else type(tool).__name__
            raise invalid("unsupported_value", f"Invalid 'tools[{i}].type': the sandbox supports function tools "
                          f"only, not '{kind}'.", f"tools[{i}].type")
        keys = ("name", "description", "parameters", "strict")
        chat.append({"type": "function", "function": {k: tool[k] for k in keys if tool.get(k) is not None}})
    _tools(chat)
    return value


def _response_choice(choice, functions: list[dict]) -> str:
    """``tool_choice``: "auto" | "none" | "required" | {"type": "function", "name": ...}."""
    if isinstance(choice, dict) and choice.get("type") == "function" and "function" not in choice:
        choice = {"type": "function", "function": {"name": choice.get("name")}}
    return _choice_name(choice, "tool_choice", [f["name"] for f in functions])


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
    tools: Annotated[list, BeforeValidator(_function_tools)] = []
    tool_choice: Any = None
    parallel_tool_calls: Annotated[Any, BeforeValidator(_boolean)] = None
    text: Annotated[dict, BeforeValidator(_text_format)] = {"format": {"type": "text"}}
    _tool_use: ToolUse | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _tool_choice(self):
        self._tool_use = self.tool_use()
        return self

    @property
    def functions(self) -> list[dict]:
        keys = ("name", "description", "parameters")
        return [{k: t[k] for k in keys if t.get(k) is not None} for t in self.tools]

    def tool_use(self) -> ToolUse | None:
        """The request's functions and choice, as chat completions reads them (None: no tools)."""
        if not self.tools:
            if self.tool_choice not in (None, "auto", "none"):
                raise invalid("invalid_value", "Invalid value for 'tool_choice': 'tool_choice' is only allowed "
                              "when 'tools' are specified.", "tool_choice")
            return None
        mode = _response_choice("auto" if self.tool_choice is None else self.tool_choice, self.functions)
        return ToolUse(self.functions, mode, parallel=self.parallel_tool_calls is not False)

    def messages(self, history: list[dict]) -> list[dict]:
        """The conversation for the engine: instructions (not carried over from the previous
        response, as OpenAI documents), the previous turns, this input."""
        system = [{"role": "system", "content": self.instructions}] if self.instructions else []
        _check_outputs(history + self.input)
        return system + history + self.input

    def generation(self, history: list[dict]) -> dict:
        return {"messages": self.messages(history), "tools": self._tool_use,
                "temperature": 1.0 if self.temperature is None else self.temperature,
                "top_p": 1.0 if self.top_p is None else self.top_p,
                "max_tokens": self.max_output_tokens, "stop": None, "seed": self.seed}


def _check_outputs(turns: list[dict]) -> None:
    """Each ``function_call_output`` answers a call made earlier in the conversation (OpenAI's rule)."""
    calls: set[str] = set()
    for m in turns:
        calls.update(c["id"] for c in m.get("tool_calls") or ())
        if m.get("role") == "tool" and m["tool_call_id"] not in calls:
            raise bad_request(f"No tool call found for function call output with call_id {m['tool_call_id']}.",
                              "input", "invalid_value")


def new_ids() -> tuple[str, str]:
    return "resp_" + secrets.token_hex(24), "msg_" + secrets.token_hex(24)


def output_message(msg_id: str, text: str | None, status: str) -> dict:
    """An assistant message output item (``ResponseOutputMessage``); text None: no part yet."""
    content = [] if text is None else [output_text(text)]
    return {"type": "message", "id": msg_id, "status": status, "role": "assistant", "content": content}


def function_call_items(calls: list[dict]) -> list[dict]:
    """The reply's calls as ``function_call`` output items (ResponseFunctionToolCall)."""
    return [{"type": "function_call", "id": "fc_" + secrets.token_hex(24),
             "call_id": TOOL_CALL_ID_PREFIX + secrets.token_hex(12), "name": c["name"],
             "arguments": c["arguments"], "status": "completed"} for c in calls]


def assistant_turn(text: str, output: list[dict]) -> dict:
    """What the stored conversation keeps of a reply: its text, or its calls (ids kept, so a later
    ``function_call_output`` can answer them through ``previous_response_id``)."""
    calls = [{"id": o["call_id"], "type": "function", "function": {"name": o["name"], "arguments": o["arguments"]}}
             for o in output if o["type"] == "function_call"]
    return {"role": "assistant", "content": None, "tool_calls": calls} if calls else {"role": "assistant", "content": text}


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
        "model": body.model, "output": output, "parallel_tool_calls": body.parallel_tool_calls is not False,
        "previous_response_id": body.previous_response_id, "reasoning": {"effort": None, "summary": None},
        "store": bool(body.store), "temperature": 1.0 if body.temperature is None else body.temperature,
        "text": body.text, "tool_choice": _choice_echo(body.tool_choice), "tools": [_tool_echo(t) for t in body.tools],
        "top_p": 1.0 if body.top_p is None else body.top_p, "truncation": "disabled",
        "usage": usage_, "user": None, "metadata": body.metadata or {},
    }


def _choice_echo(choice):
    if isinstance(choice, dict):
        return {"type": "function", "name": choice.get("name") or (choice.get("function") or {}).get("name")}
    return choice or "auto"


def _tool_echo(tool: dict) -> dict:
    return {"type": "function", "name": tool["name"], "description": tool.get("description"),
            "parameters": tool.get("parameters"), "strict": tool.get("strict")}


def now() -> int:
    return int(time.time())
