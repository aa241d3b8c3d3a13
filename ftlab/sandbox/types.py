"""Pydantic models of the sandbox's requests and responses, in OpenAI's shapes.

Each field is checked by a small validator that raises :func:`invalid` with OpenAI's error code
and message; ``{param}`` in a message becomes the field's path ("hyperparameters.n_epochs",
"messages[0].role"), filled in by the one handler in ``errors``. The ranges and limits are
OpenAI's, from ``ftlab.openai_spec``. The SDK's own types (``openai.types``) are what the
responses are tested against.
"""
from __future__ import annotations

import secrets
import time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from ftlab.openai_spec import (CHAT_ROLES, HYPERPARAMETER_RANGES, MAX_TOOLS, METADATA_KEY_MAX_LENGTH,
                               METADATA_MAX_PAIRS, METADATA_VALUE_MAX_LENGTH, METHODS, SEED_MAX,
                               SUFFIX_MAX_LENGTH, TOOL_CALL_ID_PREFIX, TOOL_CHOICE_MODES, UPLOAD_PURPOSES,
                               content_text, function_name_ok, seed_ok, suffix_ok)

from . import catalog
from .store import new_id
from .tool_prompt import ToolUse

FINGERPRINT = "fp_ftlab_sandbox"
MAX_STOP = 4        # stop strings per chat request
MAX_CHOICES = 8     # the sandbox's cap on ``n`` (each choice is a row of the batch)


def invalid(code: str, message: str, param: str | None = None) -> PydanticCustomError:
    """A validation error with OpenAI's ``code``; ``param`` only where the field's path is not it."""
    return PydanticCustomError(code, message, {"param": param} if param else None)


def _required(value):
    if value is None or value == "":
        raise invalid("missing_required_parameter", "Missing required parameter: '{param}'.")
    return value


Required = Annotated[Any, BeforeValidator(_required)]


# -- fine-tuning jobs ------------------------------------------------------------------------------
def _auto_or_number(name: str):
    """A hyperparameter: "auto" (or absent) or a number in OpenAI's range for ``name``."""
    rule = HYPERPARAMETER_RANGES[name]

    def check(value):
        if value is None or value == "auto":
            return "auto"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid("invalid_type", "Invalid type for '{param}': expected 'auto' or a number.")
        if rule.kind is int and value != int(value):
            raise invalid("invalid_value", "Invalid value for '{param}': expected an integer.")
        if not rule.contains(value):
            limits = f"between {rule.low} and {rule.high}" if rule.kind is int else "greater than 0"
            raise invalid("invalid_value", f"Invalid value for '{{param}}': must be {limits}, got {value}.")
        return rule.kind(value)
    return Annotated[Any, BeforeValidator(check)]


class _Object(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value):
        if value is not None and not isinstance(value, dict):
            raise invalid("invalid_type", "Invalid type for '{param}': expected an object.")
        return value


class SupervisedHyperparameters(_Object):
    batch_size: _auto_or_number("batch_size") = "auto"
    learning_rate_multiplier: _auto_or_number("learning_rate_multiplier") = "auto"
    n_epochs: _auto_or_number("n_epochs") = "auto"


class DpoHyperparameters(SupervisedHyperparameters):
    beta: _auto_or_number("beta") = "auto"


class _Supervised(BaseModel):
    hyperparameters: SupervisedHyperparameters | None = None


class _Dpo(BaseModel):
    hyperparameters: DpoHyperparameters | None = None


def _method_type(value):
    if not isinstance(value, dict) or value.get("type") not in METHODS:
        raise invalid("invalid_value", "Invalid value for 'method.type': expected 'supervised', 'dpo' or "
                      "'reinforcement'.", "method.type")
    if value["type"] == "reinforcement":
        raise invalid("invalid_value", "Reinforcement fine-tuning is only available for reasoning models; the "
                      "sandbox trains supervised and dpo jobs.", "method.type")
    return value


class Method(BaseModel):
    type: str
    supervised: _Supervised | None = None
    dpo: _Dpo | None = None

    def requested(self) -> dict | None:
        inner = getattr(self, self.type)
        return inner.hyperparameters.model_dump(exclude_unset=True) \
            if inner and inner.hyperparameters else None


def _metadata(value):
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > METADATA_MAX_PAIRS:
        raise invalid("invalid_value", f"Invalid 'metadata': expected an object with at most "
                      f"{METADATA_MAX_PAIRS} pairs.")
    for k, v in value.items():
        if len(k) > METADATA_KEY_MAX_LENGTH or not isinstance(v, str) or len(v) > METADATA_VALUE_MAX_LENGTH:
            raise invalid("invalid_value", f"Invalid 'metadata': keys up to {METADATA_KEY_MAX_LENGTH} "
                          f"characters, string values up to {METADATA_VALUE_MAX_LENGTH}.")
    return value


def _model(value):
    snapshot = catalog.base_of(str(_required(value)))
    if snapshot is None:
        raise invalid("model_not_available", f"Model {value} is not available for fine-tuning or does not exist.")
    return snapshot


def _suffix(value):
    if value is not None and not suffix_ok(value):
        raise invalid("invalid_value", f"Invalid 'suffix': expected a string of 1 to {SUFFIX_MAX_LENGTH} characters.")
    return value


def _seed(value):
    if value is not None and not seed_ok(value):
        raise invalid("invalid_value", f"Invalid 'seed': expected an integer between 0 and {SEED_MAX}.")
    return value


def _integrations(value):
    value = value or []
    if not isinstance(value, list) or any(not isinstance(i, dict) or i.get("type") != "wandb" for i in value):
        raise invalid("invalid_value", "Invalid 'integrations': only {'type': 'wandb', ...} is supported.")
    return value


class JobCreate(BaseModel):
    """``POST /v1/fine_tuning/jobs`` (OpenAI's CreateFineTuningJobRequest; unknown keys ignored)."""
    model: Annotated[str, BeforeValidator(_model)]
    training_file: Annotated[str, BeforeValidator(lambda v: str(_required(v)))]
    validation_file: Annotated[str | None, BeforeValidator(lambda v: str(v) if v else None)] = None
    suffix: Annotated[Any, BeforeValidator(_suffix)] = None
    seed: Annotated[Any, BeforeValidator(_seed)] = None
    integrations: Annotated[Any, BeforeValidator(_integrations)] = Field(default_factory=list)
    method: Annotated[Method | None, BeforeValidator(lambda v: None if v is None else _method_type(v))] = None
    hyperparameters: DpoHyperparameters | None = None   # deprecated; beta only with method "dpo"
    metadata: Annotated[Any, BeforeValidator(_metadata)] = None
    _method: dict = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _normalize(self):
        self._method = self.normalized_method()
        return self

    def normalized_method(self) -> dict:
        """``method`` in OpenAI's shape, every hyperparameter given ("auto" where unset)."""
        kind = self.method.type if self.method else "supervised"
        requested = self.method.requested() if self.method else None
        legacy = self.hyperparameters.model_dump(exclude_unset=True) if self.hyperparameters else None
        if legacy and requested:
            raise invalid("invalid_value", "Specify hyperparameters in 'method', not both in 'method' and "
                          "'hyperparameters'.", "hyperparameters")
        if legacy and kind != "dpo" and "beta" in legacy:
            raise invalid("unknown_parameter", "Unknown parameter: 'hyperparameters.beta'.", "hyperparameters.beta")
        model = DpoHyperparameters if kind == "dpo" else SupervisedHyperparameters
        return {"type": kind, kind: {"hyperparameters": model(**(legacy or requested or {})).model_dump()}}

    def new_job(self) -> dict:
        """The job object this request creates (status ``validating_files``)."""
        method = self._method
        return {
            "id": new_id("ftjob-"), "object": "fine_tuning.job", "created_at": int(time.time()),
            "finished_at": None, "model": self.model, "fine_tuned_model": None,
            "organization_id": catalog.ORGANIZATION_ID, "status": "validating_files",
            "hyperparameters": {k: v for k, v in method[method["type"]]["hyperparameters"].items() if k != "beta"},
            "training_file": self.training_file, "validation_file": self.validation_file,
            "result_files": [], "trained_tokens": None, "error": None,
            "seed": secrets.randbelow(SEED_MAX) if self.seed is None else self.seed,
            "estimated_finish": None, "method": method, "metadata": self.metadata,
            "integrations": self.integrations or None, "suffix": self.suffix,
        }


def public_job(job: dict) -> dict:
    """The job as clients see it: the suffix as ``user_provided_suffix`` (as OpenAI's job objects
    carry it, see the spec's examples), private keys removed."""
    out = {k: v for k, v in job.items() if k != "suffix"}
    out["user_provided_suffix"] = job.get("suffix")
    return out


def _purpose(value):
    if value not in UPLOAD_PURPOSES:
        raise invalid("invalid_value", f"Invalid value for 'purpose': '{value}'. Supported: "
                      f"{', '.join(UPLOAD_PURPOSES)}.")
    return value


Purpose = Annotated[str, BeforeValidator(_purpose)]


# -- chat completions ------------------------------------------------------------------------------
def _content_text(content):
    text = content_text(content)   # a string, or the text parts of a list joined
    if content is not None and text is None:
        raise invalid("invalid_type", "Invalid type for '{param}'.")
    return text or ""


def _role(value):
    if value not in CHAT_ROLES:
        raise invalid("invalid_value", "Invalid value for '{param}'.")
    return "system" if value == "developer" else value   # the stand-in's template knows no developer


def _field_error(code: str, message: str, field: str) -> PydanticCustomError:
    """An error on one key of a message (its param: "messages[i].<field>")."""
    return PydanticCustomError(code, message, {"field": field})


def _call(call, i: int) -> dict:
    """One ``tool_calls`` item (ChatCompletionMessageToolCall): {id, type: function, function: {name, arguments}}."""
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict) or call.get("type", "function") != "function" or not isinstance(call.get("id"), str) \
            or not isinstance(fn.get("name"), str) or not isinstance(fn.get("arguments"), str):
        raise _field_error("invalid_value", "Invalid value for '{param}': expected {id, type: 'function', "
                           "function: {name, arguments: string}}.", f"tool_calls[{i}]")
    return {"id": call["id"], "type": "function", "function": {"name": fn["name"], "arguments": fn["arguments"]}}


class ChatMessage(BaseModel):
    """A message of the conversation (ChatCompletionRequest*Message): role and text, plus the
    function-calling keys, which ``tool_prompt`` writes into the prompt."""
    role: Annotated[str, BeforeValidator(_role)]
    content: Annotated[str, BeforeValidator(_content_text)] = ""
    name: str | None = None
    tool_calls: list[dict] | None = None
    tool_call_id: str | None = None
    function_call: dict | None = None

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value):
        if not isinstance(value, dict):
            raise PydanticCustomError("invalid_value", "Invalid value for '{param}'.", {"field": "role"})
        if value.get("tool_calls") is not None:
            if value.get("role") != "assistant" or not isinstance(value["tool_calls"], list):
                raise _field_error("invalid_value", "Invalid value for '{param}': only assistant messages carry "
                                   "an array of tool calls.", "tool_calls")
            value = {**value, "tool_calls": [_call(c, i) for i, c in enumerate(value["tool_calls"])]}
        if value.get("role") == "tool" and not isinstance(value.get("tool_call_id"), str):
            raise _field_error("missing_required_parameter", "Missing parameter 'tool_call_id': messages with "
                               "role 'tool' must have a 'tool_call_id'.", "tool_call_id")
        if value.get("role") == "function" and not isinstance(value.get("name"), str):
            raise _field_error("missing_required_parameter", "Missing parameter 'name': messages with role "
                               "'function' must have a 'name'.", "name")
        return value

    def template(self) -> dict:
        """The message as ``tool_prompt`` reads it (OpenAI's keys, unset ones left out)."""
        return self.model_dump(exclude_none=True)


def _messages(value):
    if not isinstance(_required(value), list) or not value:
        raise invalid("invalid_value", "Invalid 'messages': expected a non-empty array.")
    return value


def _number(lo: float, hi: float):
    def check(value):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not lo <= value <= hi):
            raise invalid("invalid_value", f"Invalid value for '{{param}}': expected a number between {lo} and {hi}.")
        return value
    return Annotated[Any, BeforeValidator(check)]


def _max_tokens(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise invalid("invalid_value", "Invalid '{param}': expected a positive integer.")
    return value


def _stop(value):
    if isinstance(value, str):
        value = [value]
    if value is not None and (not isinstance(value, list) or len(value) > MAX_STOP
                              or not all(isinstance(s, str) for s in value)):
        raise invalid("invalid_value", f"Invalid 'stop': expected a string or up to {MAX_STOP} strings.")
    return value or None


def _chat_seed(value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise invalid("invalid_type", "Invalid 'seed': expected an integer.")
    return value


def _response_format(value):
    """``text``, ``json_object`` or ``json_schema`` with a ``json_schema.name`` (ResponseFormat*)."""
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise invalid("invalid_value", "Invalid value for 'response_format.type': expected 'text', "
                      "'json_object' or 'json_schema'.", "response_format.type")
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise invalid("missing_required_parameter", "Missing required parameter: "
                          "'response_format.json_schema.name'.", "response_format.json_schema.name")
        if not isinstance(spec.get("schema", {}), dict):
            raise invalid("invalid_type", "Invalid type for 'response_format.json_schema.schema'.",
                          "response_format.json_schema.schema")
    return value


def _boolean(value):
    if value is not None and not isinstance(value, bool):
        raise invalid("invalid_type", "Invalid type for '{param}': expected a boolean.")
    return value


def _function(fn, where: str) -> dict:
    """A FunctionObject: a valid ``name``, an optional ``description`` and ``parameters`` object."""
    if not isinstance(fn, dict):
        raise invalid("invalid_type", f"Invalid type for '{where}': expected an object.", where)
    if "name" not in fn:
        raise invalid("missing_required_parameter", f"Missing required parameter: '{where}.name'.", f"{where}.name")
    if not function_name_ok(fn["name"]):
        raise invalid("invalid_value", f"Invalid '{where}.name': string does not match pattern. Expected a string "
                      "that matches the pattern '^[a-zA-Z0-9_-]+$' (at most 64 characters).", f"{where}.name")
    if not isinstance(fn.get("parameters", {}), dict):
        raise invalid("invalid_type", f"Invalid type for '{where}.parameters': expected an object.",
                      f"{where}.parameters")
    return fn


def _tool_list(value, key: str) -> list:
    if not isinstance(value, list):
        raise invalid("invalid_type", f"Invalid type for '{key}': expected an array.", key)
    if len(value) > MAX_TOOLS:
        raise invalid("array_above_max_length", f"Invalid '{key}': array too long. Expected an array with maximum "
                      f"length {MAX_TOOLS}, but got an array with length {len(value)} instead.", key)
    return value


def _tools(value):
    """``tools``: ChatCompletionTool items ({type: function, function: FunctionObject})."""
    if value is None:
        return None
    for i, tool in enumerate(_tool_list(value, "tools")):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise invalid("invalid_value", f"Invalid value for '{where}.type': the sandbox supports 'function' "
                          "tools only.", f"{where}.type")
        if "function" not in tool:
            raise invalid("missing_required_parameter", f"Missing required parameter: '{where}.function'.",
                          f"{where}.function")
        _function(tool["function"], f"{where}.function")
    return value


def _functions(value):
    """Deprecated ``functions``: FunctionObject items."""
    if value is None:
        return None
    return [_function(fn, f"functions[{i}]") for i, fn in enumerate(_tool_list(value, "functions"))]


def _choice_name(choice, key: str, names: list[str]) -> str:
    """The mode or the forced function's name of a ``tool_choice`` / ``function_call``."""
    if choice in TOOL_CHOICE_MODES and not (key == "function_call" and choice == "required"):
        return choice
    named = choice.get("function") if key == "tool_choice" and isinstance(choice, dict) \
        and choice.get("type") == "function" else choice if key == "function_call" else None
    if not isinstance(named, dict) or not isinstance(named.get("name"), str):
        expected = "'none', 'auto', 'required' or {'type': 'function', 'function': {'name': ...}}" \
            if key == "tool_choice" else "'none', 'auto' or {'name': ...}"
        raise invalid("invalid_value", f"Invalid value for '{key}': expected {expected}.", key)
    if named["name"] not in names:
        raise invalid("invalid_value", f"Invalid value for '{key}': function '{named['name']}' is not defined "
                      f"in '{'tools' if key == 'tool_choice' else 'functions'}'.", key)
    return named["name"]


def tool_use(request) -> ToolUse | None:
    """A request's functions and choice (``tools``/``tool_choice`` or legacy ``functions``/``function_call``)."""
    from .tool_prompt import functions_of

    legacy = request.functions is not None and request.tools is None
    key, choice = ("function_call", request.function_call) if legacy else ("tool_choice", request.tool_choice)
    functions = functions_of(request.tools, request.functions if legacy else None)
    if choice is not None and not functions:
        raise invalid("invalid_value", f"Invalid value for '{key}': '{key}' is only allowed when "
                      f"'{'functions' if legacy else 'tools'}' are specified.", key)
    if not functions:
        return None
    if key == "tool_choice" and isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        functions, choice = _allowed(choice, functions)
    mode = _choice_name("auto" if choice is None else choice, key, [f["name"] for f in functions])
    return ToolUse(functions, mode, parallel=request.parallel_tool_calls is not False and not legacy)


def _allowed(choice: dict, functions: list[dict]) -> tuple[list[dict], str]:
    """``{"type": "allowed_tools", "allowed_tools": {"mode", "tools"}}`` (ChatCompletionAllowedToolsChoice):
    the listed functions only (the prompt shows just those) and the mode."""
    spec = choice.get("allowed_tools")
    listed = spec.get("tools") if isinstance(spec, dict) else None
    if not isinstance(listed, list) or spec.get("mode") not in ("auto", "required"):
        raise invalid("invalid_value", "Invalid value for 'tool_choice.allowed_tools': expected {mode: 'auto' | "
                      "'required', tools: [...]}.", "tool_choice.allowed_tools")
    names = [(t.get("function") or {}).get("name") if isinstance(t, dict) else None for t in listed]
    known = {f["name"]: f for f in functions}
    for i, name in enumerate(names):
        if name not in known:
            raise invalid("invalid_value", f"Invalid value for 'tool_choice.allowed_tools.tools[{i}]': function "
                          f"'{name}' is not defined in 'tools'.", f"tool_choice.allowed_tools.tools[{i}]")
    return [known[n] for n in dict.fromkeys(names)], spec["mode"]


def _check_tool_turns(messages: list["ChatMessage"]) -> None:
    """Each tool message answers a call of an earlier assistant message (OpenAI's rule)."""
    ids: set[str] = set()
    for i, m in enumerate(messages):
        ids.update(c["id"] for c in m.tool_calls or ())
        if m.role == "tool" and m.tool_call_id not in ids:
            raise invalid("invalid_value", "Invalid parameter: messages with role 'tool' must be a response to a "
                          "preceding message with 'tool_calls'.", f"messages[{i}].role")


def new_call_id() -> str:
    return TOOL_CALL_ID_PREFIX + secrets.token_hex(12)


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``: what the sandbox uses of it (other parameters are ignored)."""
    model: Annotated[str, BeforeValidator(lambda v: str(_required(v)))]
    messages: Annotated[list[ChatMessage], BeforeValidator(_messages)]
    temperature: _number(0, 2) = None
    top_p: _number(0, 1) = None
    max_tokens: Annotated[Any, BeforeValidator(_max_tokens)] = None
    max_completion_tokens: Annotated[Any, BeforeValidator(_max_tokens)] = None
    n: _number(1, MAX_CHOICES) = None
    stop: Annotated[Any, BeforeValidator(_stop)] = None
    seed: Annotated[Any, BeforeValidator(_chat_seed)] = None
    stream: bool | None = False
    stream_options: dict | None = None
    response_format: Annotated[Any, BeforeValidator(_response_format)] = None
    tools: Annotated[Any, BeforeValidator(_tools)] = None
    tool_choice: Any = None
    parallel_tool_calls: Annotated[Any, BeforeValidator(_boolean)] = None
    functions: Annotated[Any, BeforeValidator(_functions)] = None   # deprecated forms of tools …
    function_call: Any = None                                       # … and of tool_choice
    _tool_use: ToolUse | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _tool_choice(self):
        self._tool_use = tool_use(self)
        _check_tool_turns(self.messages)
        return self

    @property
    def legacy_functions(self) -> bool:
        """The request uses ``functions``: the reply then carries ``message.function_call``."""
        return bool(self.functions)

    @model_validator(mode="after")
    def _json_mentioned(self):
        # OpenAI's rule: json_object mode needs the word in the conversation
        if (self.response_format or {}).get("type") == "json_object" and \
                not any("json" in m.content.lower() for m in self.messages):
            raise invalid("invalid_value", "'messages' must contain the word 'json' in some form, to use "
                          "'response_format' of type 'json_object'.", "messages")
        return self

    @property
    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))

    def generation(self) -> dict:
        """The engine's keyword arguments for this request."""
        limit = self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens
        return {"messages": [m.template() for m in self.messages], "tools": self._tool_use,
                "temperature": 1.0 if self.temperature is None else self.temperature,
                "top_p": 1.0 if self.top_p is None else self.top_p,
                "max_tokens": limit, "n": 1 if self.n is None else int(self.n), "stop": self.stop,
                "seed": self.seed, "response_format": self.response_format}


# -- responses -------------------------------------------------------------------------------------
class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, prompt_tokens: int, completion_tokens: int) -> "Usage":
        return cls(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                   total_tokens=prompt_tokens + completion_tokens)


_UNSET = Field(default=None, exclude_if=lambda v: v is None)   # a key OpenAI leaves out when unset


class AssistantMessage(BaseModel):
    role: str = "assistant"
    content: str | None
    refusal: None = None
    tool_calls: list[dict] | None = _UNSET
    function_call: dict | None = _UNSET

    @classmethod
    def of(cls, choice, legacy: bool = False) -> "AssistantMessage":
        """Text, or (content null) the calls as ``tool_calls`` / legacy ``function_call``."""
        if not choice.tool_calls:
            return cls(content=choice.text)
        if legacy:
            return cls(content=None, function_call=dict(choice.tool_calls[0]))
        return cls(content=None, tool_calls=[tool_call(c) for c in choice.tool_calls])


def tool_call(call: dict) -> dict:
    """A ChatCompletionMessageToolCall with a new ``call_`` id."""
    return {"id": new_call_id(), "type": "function", "function": dict(call)}


def finish_reason(choice, legacy: bool = False) -> str:
    return "function_call" if legacy and choice.tool_calls else choice.finish_reason


class Choice(BaseModel):
    index: int
    finish_reason: str
    logprobs: None = None
    message: AssistantMessage


class ChatCompletion(BaseModel):
    id: str = Field(default_factory=lambda: "chatcmpl-" + secrets.token_hex(12))
    object: str = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    system_fingerprint: str = FINGERPRINT
    choices: list[Choice]
    usage: Usage

    @classmethod
    def of(cls, model: str, choices, prompt_tokens: int, legacy: bool = False) -> "ChatCompletion":
        """From the engine's choices (text, finish_reason, completion_tokens, tool_calls)."""
        return cls(model=model, usage=Usage.of(prompt_tokens, sum(c.completion_tokens for c in choices)),
                   choices=[Choice(index=i, finish_reason=finish_reason(c, legacy),
                                   message=AssistantMessage.of(c, legacy)) for i, c in enumerate(choices)])


class ChunkChoice(BaseModel):
    index: int
    delta: dict
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: str = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str = FINGERPRINT
    choices: list[ChunkChoice] = []
    usage: Usage | None = None


class Page(BaseModel):
    """OpenAI's list envelope with cursor fields."""
    object: str = "list"
    data: list[dict]
    has_more: bool
    first_id: str | None = None
    last_id: str | None = None

    @classmethod
    def of(cls, data: list[dict], has_more: bool) -> dict:
        return cls(data=data, has_more=has_more, first_id=data[0]["id"] if data else None,
                   last_id=data[-1]["id"] if data else None).model_dump()


class Deleted(BaseModel):
    id: str
    object: str
    deleted: bool = True
