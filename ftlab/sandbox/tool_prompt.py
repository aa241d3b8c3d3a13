"""The sandbox's one prompt template for function calling, used alike at training and inference.

The stand-in (SmolLM2) has no native tool template, so conversations with tools are rewritten
into plain ChatML turns before the tokenizer's own chat template renders them:

* the functions go at the end of the system message (one is added if the conversation has none),
  one compact signature per function, TypeScript-like as OpenAI renders functions to its own
  models, with the description as a comment::

      # Strumenti
      <tools>
      // Cerca un ordine per numero.
      cerca_ordine(numero_ordine: string)
      avvia_reso(numero_ordine: string, motivo: "difettoso" | "taglia", note?: string)
      </tools>
      Per chiamare una funzione rispondi solo con <tool_call>{"name": ..., "arguments": {...}}</tool_call>.

  (compact on purpose: every prompt token costs CPU time at training and inference, so the
  parameters' own descriptions and ``strict`` are not shown; types, enums and required are);
* an assistant turn that calls functions is its text (if any) followed by one
  ``<tool_call>{"name": "...", "arguments": {...}}</tool_call>`` per call (Hermes / Qwen style);
* a tool result (``role: "tool"``, or the legacy ``role: "function"``) is a user turn
  ``<tool_response>{"tool_call_id": "...", "content": ...}</tool_response>``.

Legacy ``functions`` / ``function_call`` map onto the same text. ``parse_calls`` reads the calls
back from a reply; ``call_schema`` is the JSON schema the constrained decoder enforces after the
``CALL_OPEN`` prefix when a call is required.
"""
from __future__ import annotations

import json
import re

from ftlab.openai_spec import content_text

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_CALLS = re.compile(re.escape(CALL_OPEN) + r"\s*(.*?)\s*(?:" + re.escape(CALL_CLOSE) + r"|$)", re.S)
INSTRUCTION = ('Per chiamare una funzione rispondi solo con '
               '<tool_call>{"name": ..., "arguments": {...}}</tool_call>.')


def functions_of(tools=None, functions=None) -> list[dict]:
    """The function definitions ({name, description?, parameters?}) of ``tools`` or legacy ``functions``."""
    out = [t["function"] for t in tools or () if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    return out + [f for f in functions or () if isinstance(f, dict)]


def _type(schema: dict) -> str:
    """A parameter's JSON schema as a short TypeScript-like type."""
    if not isinstance(schema, dict):
        return "any"
    if "enum" in schema:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(_type({**schema, "type": k}) for k in kind)
    if kind == "array":
        return f"{_type(schema.get('items', {}))}[]"
    if kind == "object" and "properties" in schema:
        return "{" + _fields(schema) + "}"
    return {"integer": "number"}.get(kind, kind or "any")


def _fields(schema: dict) -> str:
    required = set(schema.get("required", ()))
    return ", ".join(f"{name}{'' if name in required else '?'}: {_type(prop)}"
                     for name, prop in (schema.get("properties") or {}).items())


def signature(function: dict) -> str:
    """One function as ``// description`` + ``name(arg: type, opt?: type)``."""
    head = f"// {function['description'].strip()}\n" if function.get("description") else ""
    return f"{head}{function['name']}({_fields(function.get('parameters') or {})})"


def tools_block(functions: list[dict]) -> str:
    """The text appended to the system message."""
    body = "\n".join(signature(f) for f in functions)
    return f"# Strumenti\n<tools>\n{body}\n</tools>\n{INSTRUCTION}"


def _arguments(raw) -> object:
    """Arguments as an object when they are a JSON string (as OpenAI sends them), else as given."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def call_text(name: str, arguments) -> str:
    """One call as the model writes it."""
    payload = {"name": name, "arguments": _arguments(arguments)}
    return f"{CALL_OPEN}{json.dumps(payload, ensure_ascii=False)}{CALL_CLOSE}"


def assistant_text(message: dict) -> str:
    """An assistant message's text: its content, then its calls (tool_calls or function_call)."""
    text = content_text(message.get("content")) or ""
    calls = [c.get("function") or {} for c in message.get("tool_calls") or () if isinstance(c, dict)]
    if isinstance(message.get("function_call"), dict):
        calls.append(message["function_call"])
    return text + "".join(call_text(c.get("name"), c.get("arguments")) for c in calls)


def _turn(message: dict) -> dict:
    """One message as a plain {role, content} turn of the template."""
    role = message.get("role", "user")
    if role in ("tool", "function"):   # which call it answers: its id, or (legacy) the function's name
        key = "tool_call_id" if role == "tool" else "name"
        result = {key: message.get(key), "content": content_text(message.get("content")) or ""}
        return {"role": "user", "content": f"<tool_response>{json.dumps(result, ensure_ascii=False)}</tool_response>"}
    if role == "assistant":
        return {"role": "assistant", "content": assistant_text(message)}
    return {"role": "system" if role == "developer" else role, "content": content_text(message.get("content")) or ""}


def template_messages(messages: list[dict], functions: list[dict] | None = None) -> list[dict]:
    """``messages`` (OpenAI's shapes) as plain {role, content} turns, the functions in the system turn."""
    turns = [_turn(m) for m in messages]
    if functions:
        block = tools_block(functions)
        if turns and turns[0]["role"] == "system":
            turns[0] = {"role": "system", "content": f"{turns[0]['content']}\n\n{block}".lstrip()}
        else:
            turns.insert(0, {"role": "system", "content": block})
    return turns


def parse_calls(text: str, functions: list[dict]) -> list[dict] | None:
    """The calls in a reply, as [{"name", "arguments": JSON string}], or None when the reply is
    not made only of valid calls of the defined functions (then it is plain text)."""
    if not text.lstrip().startswith(CALL_OPEN):
        return None
    names = {f["name"] for f in functions}
    calls = []
    for raw in _CALLS.findall(text):
        try:
            call = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(call, dict) or call.get("name") not in names or not isinstance(call.get("arguments", {}), dict):
            return None
        calls.append({"name": call["name"], "arguments": json.dumps(call.get("arguments", {}), ensure_ascii=False)})
    return calls or None


def call_schema(functions: list[dict]) -> dict:
    """JSON schema of one call ``{"name", "arguments"}`` of any of ``functions``."""
    options = [{"type": "object",
                "properties": {"name": {"const": f["name"]},
                               "arguments": f.get("parameters") or {"type": "object"}},
                "required": ["name", "arguments"], "additionalProperties": False} for f in functions]
    return options[0] if len(options) == 1 else {"anyOf": options}


class ToolUse:
    """A request's functions and ``tool_choice``: what the prompt shows, what decoding must
    produce, and how the reply reads back. ``choice``: "auto" | "none" | "required" | a name."""

    def __init__(self, functions: list[dict], choice: str = "auto", parallel: bool = True):
        self.functions, self.choice, self.parallel = functions, choice, parallel

    @property
    def shown(self) -> list[dict]:
        """Functions in the prompt: none for "none", whose reply is plain text (a fine-tuned
        model shown its functions would write a call as text)."""
        return [] if self.choice == "none" else self.functions

    @property
    def forced(self) -> list[dict] | None:
        """The functions one of which the reply must call (constrained decoding), or None."""
        if self.choice == "required":
            return self.functions
        if self.choice not in ("auto", "none"):
            return [f for f in self.functions if f["name"] == self.choice]
        return None

    @property
    def prefix(self) -> str:
        """Text put after the generation prompt: a forced reply starts inside its call."""
        return CALL_OPEN if self.forced else ""

    def calls(self, text: str) -> list[dict] | None:
        """The reply's calls (see ``parse_calls``; the first only without ``parallel``), or None."""
        if not self.shown:
            return None
        calls = parse_calls(self.prefix + text, self.forced or self.functions)
        return calls[:1] if calls and not self.parallel else calls
