"""The per-example rules: what OpenAI accepts on one line of a training file.

``check_example(obj)`` returns the line's format and the ``(code, message_index, values)`` of
every rule it breaks; codes are the ones in ``rules.py``. Message shapes follow the OpenAPI
spec's ``ChatCompletionRequest*Message`` schemas and OpenAI's fine-tuning data guide.
"""
from __future__ import annotations

import json
from typing import Any

from ftlab.openai_spec import (CHAT_KEYS, CONTENT_PART_TYPES, DPO_KEYS, IMAGE_DETAILS, MESSAGE_KEYS,
                               TRAINING_ROLES, WEIGHTS, content_text, function_name_ok)

_MESSAGE_KEYS, _CHAT_KEYS, _DPO_KEYS = set(MESSAGE_KEYS), set(CHAT_KEYS), set(DPO_KEYS)
_MARKERS = ("\n\nEND", "\n\n###\n\n", "\n\n->\n\n")  # legacy completion-model separators


def type_name(value: Any) -> str:
    """JSON's name for a value's type ("object", "array", "number", …)."""
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def detect_format(obj: Any) -> str | None:
    """"chat", "dpo", "legacy" or None for one parsed line."""
    if not isinstance(obj, dict):
        return None
    if "messages" in obj:
        return "chat"
    if "input" in obj or "preferred_output" in obj:
        return "dpo"
    if "prompt" in obj or "completion" in obj:
        return "legacy"
    return None


def _part_problem(part: Any, role: Any) -> str | None:
    """Why one content part is not one OpenAI accepts for ``role`` (None: it is fine)."""
    kind = part.get("type") if isinstance(part, dict) else None
    if not isinstance(kind, str):
        return "type"
    if kind not in CONTENT_PART_TYPES.get(role, ()):
        return f"type {kind!r}"
    value = part.get(kind)
    if kind in ("text", "refusal"):
        return None if isinstance(value, str) else kind
    if kind == "image_url":
        ok = isinstance(value, dict) and isinstance(value.get("url"), str) and value.get(
            "detail", "auto") in IMAGE_DETAILS
        return None if ok else "image_url.url"
    return None if isinstance(value, dict) else kind


def _check_parts(parts: list, role: Any, i: int, out: list) -> tuple[str, bool]:
    """Check an array of content parts; return its text and whether it has non-text parts."""
    if not parts:
        out.append(("invalid_content_part", i, {"part": 1, "detail": "empty array"}))
    unseen = []  # non-text part types: OpenAI reads them, the sandbox's stand-in does not
    for k, part in enumerate(parts, 1):
        problem = _part_problem(part, role)
        if problem:
            out.append(("invalid_content_part", i, {"part": k, "detail": problem}))
        elif part["type"] not in ("text", "refusal") and part["type"] not in unseen:
            unseen.append(part["type"])
    if unseen:
        out.append(("non_text_content", i, {"type": ", ".join(unseen)}))
    return content_text(parts), bool(unseen)


def _check_content(m: dict, role: Any, i: int, out: list) -> None:
    calls = m.get("tool_calls") or m.get("function_call")
    content = m.get("content")
    if "content" not in m and not calls:
        out.append(("message_missing_key", i, {"key": "content"}))
    elif content is None and not calls and "content" in m:
        out.append(("missing_content", i, {}))
    elif content is not None and not isinstance(content, (str, list)):
        out.append(("invalid_content_type", i, {"type": type_name(content)}))
    elif content is not None:
        text, media = _check_parts(content, role, i, out) if isinstance(content, list) else (content, False)
        if not text.strip() and not calls and not media:
            out.append(("empty_content", i, {}))
        # every marker starts with a blank line: one search skips them all in the usual case
        marker = "\n\n" in text and next((k for k in _MARKERS if k in text), None) or (
            "END" if role == "assistant" and text.rstrip().endswith("\nEND") else None)
        if marker:
            out.append(("legacy_marker", i, {"marker": marker}))


def check_messages(messages: Any, out: list) -> None:
    """Append ``(code, message_index, values)`` for every rule a messages list breaks."""
    if not isinstance(messages, list) or not messages:
        out.append(("missing_messages_list", None, {}))
        return
    call_ids, has_assistant, trainable, has_user = set(), False, False, False
    for i, m in enumerate(messages, 1):
        if not isinstance(m, dict):
            out.append(("message_not_object", i, {}))
            continue
        role = m.get("role")
        if "role" not in m:
            out.append(("message_missing_key", i, {"key": "role"}))
        elif not isinstance(role, str) or role not in TRAINING_ROLES:
            out.append(("unrecognized_role", i, {"role": json.dumps(role, ensure_ascii=False)[:40]}))
        for key in m:
            if key not in _MESSAGE_KEYS:
                out.append(("message_unrecognized_key", i, {"key": str(key)[:40]}))
        _check_content(m, role, i, out)
        if "name" in m and not isinstance(m["name"], str):
            out.append(("invalid_name", i, {}))
        elif role == "function" and "name" not in m:  # ChatCompletionRequestFunctionMessage requires it
            out.append(("message_missing_key", i, {"key": "name"}))
        if "weight" in m and (role != "assistant" or type(m["weight"]) is not int or m["weight"] not in WEIGHTS):
            out.append(("invalid_weight", i, {}))
        if "tool_calls" in m:
            _check_tool_calls(m["tool_calls"], role, i, call_ids, out)
        if "function_call" in m and not _is_call(m["function_call"]):
            out.append(("invalid_tool_calls", i, {"detail": "function_call"}))
        if role == "tool":
            if "tool_call_id" not in m:
                out.append(("message_missing_key", i, {"key": "tool_call_id"}))
            elif not isinstance(m["tool_call_id"], str) or m["tool_call_id"] not in call_ids:
                out.append(("unmatched_tool_call", i, {"id": str(m["tool_call_id"])[:40]}))
        has_user |= role == "user"
        if role == "assistant":
            has_assistant = True
            trainable |= m.get("weight", 1) == 1
    if not has_assistant:
        out.append(("example_missing_assistant_message", None, {}))
    elif not trainable:
        out.append(("no_trainable_assistant", None, {}))
    if not has_user:
        out.append(("missing_user_message", None, {}))


def _is_call(fn: Any) -> bool:
    return isinstance(fn, dict) and isinstance(fn.get("name"), str) and isinstance(fn.get("arguments"), str)


def _check_tool_calls(calls: Any, role: Any, i: int, call_ids: set, out: list) -> None:
    if role != "assistant" or not isinstance(calls, list) or not calls:
        out.append(("invalid_tool_calls", i, {"detail": "tool_calls: non-empty list on assistant messages"}))
        return
    for call in calls:
        ok = (isinstance(call, dict) and isinstance(call.get("id"), str)
              and call.get("type", "function") == "function" and _is_call(call.get("function")))
        if not ok:
            out.append(("invalid_tool_calls", i, {"detail": "{id, type: function, function: {name, arguments}}"}))
            return
        call_ids.add(call["id"])


def _tool_problem(tool: Any, legacy: bool) -> str | None:
    """Why one ``tools`` item ({type: function, function: FunctionObject}) or legacy
    ``functions`` item (a FunctionObject) is not one OpenAI accepts (None: it is fine)."""
    if not isinstance(tool, dict):
        return "not an object"
    fn = tool if legacy else tool.get("function")
    if not legacy and (tool.get("type") != "function" or not isinstance(fn, dict)):
        return '{"type": "function", "function": {...}}'
    if not function_name_ok(fn.get("name")):
        return "function.name: a-z, A-Z, 0-9, _ or -, at most 64 characters"
    if not isinstance(fn.get("parameters", {}), dict):
        return "function.parameters: a JSON schema object"
    return None


def _check_tools(obj: dict, out: list) -> None:
    for key in ("tools", "functions"):
        items = obj.get(key, [])
        if not isinstance(items, list):
            out.append(("invalid_tools", None, {"key": key, "detail": "not a list"}))
            continue
        for k, tool in enumerate(items):
            problem = _tool_problem(tool, key == "functions")
            if problem:
                out.append(("invalid_tools", None, {"key": f"{key}[{k}]", "detail": problem}))
                break
    if "parallel_tool_calls" in obj and not isinstance(obj["parallel_tool_calls"], bool):
        out.append(("invalid_tools", None, {"key": "parallel_tool_calls", "detail": "not a boolean"}))


def _defined(obj: dict) -> set[str] | None:
    """Names of the functions an example defines; None when it defines none (nothing to compare)."""
    def listed(key):
        return obj.get(key) if isinstance(obj.get(key), list) else []
    fns = [t.get("function") for t in listed("tools") if isinstance(t, dict)] + listed("functions")
    names = {f.get("name") for f in fns if isinstance(f, dict)}
    return names or None


def _check_calls_defined(messages: Any, defined: set[str] | None, out: list, offset: int = 1) -> None:
    """Warn of calls to functions the example does not define, or whose arguments are not a JSON
    object: the model would learn to invent functions (or to write broken arguments)."""
    for i, m in enumerate(messages if isinstance(messages, list) else (), offset):
        if not isinstance(m, dict) or m.get("role") != "assistant":
            continue
        calls = [c.get("function") for c in m.get("tool_calls") or () if isinstance(c, dict)]
        calls += [m["function_call"]] if "function_call" in m else []
        for fn in calls:
            if not _is_call(fn):
                continue   # malformed: invalid_tool_calls says so
            if defined is not None and fn["name"] not in defined:
                out.append(("tool_call_mismatch", i, {"name": fn["name"][:40], "detail": "not in tools"}))
            elif not isinstance(_json_or_none(fn["arguments"]), dict):
                out.append(("tool_call_mismatch", i, {"name": fn["name"][:40], "detail": "arguments"}))


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _check_dpo(obj: dict, out: list) -> None:
    for key in obj:
        if key not in _DPO_KEYS:
            out.append(("unrecognized_key", None, {"key": str(key)[:40]}))
    inp = obj.get("input")
    if not isinstance(inp, dict) or not isinstance(inp.get("messages"), list) or not inp["messages"]:
        out.append(("invalid_dpo_example", None, {"detail": "input.messages"}))
    else:
        sub: list = []
        check_messages(inp["messages"] + [{"role": "assistant", "content": "x"}], sub)
        out += [s for s in sub if s[0] != "legacy_marker"]
        _check_tools(inp, out)
        for key in ("preferred_output", "non_preferred_output"):
            _check_calls_defined(obj.get(key), _defined(inp), out, len(inp["messages"]) + 1)
    for key in ("preferred_output", "non_preferred_output"):
        value = obj.get(key)
        good = (isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict)
                and value[0].get("role") == "assistant"
                and (isinstance(value[0].get("content"), str) or value[0].get("tool_calls")))
        if not good:
            out.append(("invalid_dpo_example", None, {"detail": f"{key}: one assistant message"}))


def check_example(obj: Any) -> tuple[str | None, list]:
    """Format of one parsed line and the ``(code, message_index, values)`` it breaks."""
    out: list = []
    fmt = detect_format(obj)
    if not isinstance(obj, dict):
        out.append(("data_type", None, {"type": type_name(obj)}))
    elif fmt == "chat":
        for key in obj:
            if key == "weight":
                out.append(("example_weight", None, {}))
            elif key not in _CHAT_KEYS:
                out.append(("unrecognized_key", None, {"key": str(key)[:40]}))
        _check_tools(obj, out)
        check_messages(obj["messages"], out)
        _check_calls_defined(obj["messages"], _defined(obj), out)
    elif fmt == "dpo":
        _check_dpo(obj, out)
    elif fmt == "legacy":
        for key in ("prompt", "completion"):
            if not isinstance(obj.get(key), str):
                out.append(("invalid_content_type", None, {"type": type_name(obj.get(key))}))
    else:
        out.append(("missing_messages_list", None, {}))
    return fmt, out
