"""Function calling on chat completions (issue 15, item 3) through the official SDK: ``tools``,
``tool_choice``, ``parallel_tool_calls``, legacy ``functions``; replies as ``message.tool_calls``,
streamed as OpenAI streams them; OpenAI-shaped errors."""
from __future__ import annotations

import json

import openai
import pytest
from openai.types.chat import ChatCompletion

from sandbox_helpers import required_fields_present, sandbox

pytestmark = pytest.mark.slow  # loads the stand-in model in the server
ORDINE = {"type": "function", "function": {
    "name": "cerca_ordine", "description": "Cerca un ordine per numero.",
    "parameters": {"type": "object", "properties": {"numero_ordine": {"type": "string"}},
                   "required": ["numero_ordine"], "additionalProperties": False}}}
RESO = {"type": "function", "function": {
    "name": "avvia_reso", "description": "Avvia il reso di un ordine.",
    "parameters": {"type": "object", "properties": {
        "numero_ordine": {"type": "string"}, "motivo": {"type": "string", "enum": ["difettoso", "taglia", "altro"]}},
        "required": ["numero_ordine", "motivo"], "additionalProperties": False}}}
TOOLS = [ORDINE, RESO]
ASK = [{"role": "system", "content": "Sei l'assistente di un negozio online."},
       {"role": "user", "content": "Voglio restituire l'ordine A1234: è difettoso."}]
KW = dict(model="gpt-4.1-nano", messages=ASK, tools=TOOLS, temperature=0, max_tokens=80)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with sandbox(tmp_path_factory.mktemp("sandbox-tools"), FTLAB_SANDBOX_WORKER=0) as c:
        yield c


def valid_call(call, tools=TOOLS):
    """The call names a defined function and its arguments are JSON matching its schema."""
    import jsonschema

    assert call.id.startswith("call_") and call.type == "function"
    schema = {t["function"]["name"]: t["function"]["parameters"] for t in tools}[call.function.name]
    jsonschema.validate(json.loads(call.function.arguments), schema)
    return call.function.name, json.loads(call.function.arguments)


def test_required_is_always_a_valid_call(client):
    r = client.chat.completions.create(**KW, tool_choice="required")
    assert isinstance(r, ChatCompletion)
    required_fields_present(r.choices[0].message)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert len(choice.message.tool_calls) == 1
    valid_call(choice.message.tool_calls[0])
    sampled = client.chat.completions.create(**{**KW, "temperature": 1.0}, tool_choice="required", seed=5, n=2)
    for c in sampled.choices:
        if c.finish_reason == "tool_calls":
            valid_call(c.message.tool_calls[0])


def test_named_function_is_the_one_called(client):
    r = client.chat.completions.create(**KW, tool_choice={"type": "function", "function": {"name": "cerca_ordine"}})
    name, args = valid_call(r.choices[0].message.tool_calls[0])
    assert name == "cerca_ordine" and set(args) == {"numero_ordine"}


def test_none_never_calls_and_auto_falls_back_to_text(client):
    r = client.chat.completions.create(**{**KW, "max_tokens": 12}, tool_choice="none")
    assert r.choices[0].message.tool_calls is None and isinstance(r.choices[0].message.content, str)
    auto = client.chat.completions.create(**{**KW, "max_tokens": 12})   # the base model writes no call
    message = auto.choices[0].message
    assert message.tool_calls is None and message.content and auto.choices[0].finish_reason in ("stop", "length")
    plain = client.chat.completions.create(model="gpt-4.1-nano", messages=ASK, max_tokens=12, temperature=0)
    assert "tool_calls" not in plain.choices[0].message.model_fields_set


def test_a_conversation_with_a_tool_result_is_answered(client):
    call = {"id": "call_abc", "type": "function",
            "function": {"name": "cerca_ordine", "arguments": '{"numero_ordine": "A1234"}'}}
    messages = ASK + [{"role": "assistant", "content": None, "tool_calls": [call]},
                      {"role": "tool", "tool_call_id": "call_abc", "content": '{"stato": "consegnato"}'}]
    r = client.chat.completions.create(model="gpt-4.1-nano", messages=messages, tools=TOOLS, tool_choice="none",
                                       max_tokens=8, temperature=0)
    base = client.chat.completions.create(model="gpt-4.1-nano", messages=ASK, max_tokens=8, temperature=0)
    assert r.usage.prompt_tokens > base.usage.prompt_tokens + 20   # the call and its result are in the prompt


def test_streamed_call_accumulates_to_the_same_call(client):
    whole = client.chat.completions.create(**KW, tool_choice="required").choices[0].message.tool_calls[0]
    chunks = list(client.chat.completions.create(**KW, tool_choice="required", stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant" and deltas[0].content is None
    head = deltas[0].tool_calls[0]
    assert head.index == 0 and head.id.startswith("call_") and head.type == "function"
    assert head.function.name == whole.function.name and head.function.arguments == ""
    assert all(d.tool_calls[0].id is None for d in deltas[1:-1])   # later pieces carry only arguments
    assert "".join(d.tool_calls[0].function.arguments for d in deltas[:-1]) == whole.function.arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_the_sdks_stream_helper_accumulates_the_call(client):
    helper = getattr(client.chat.completions, "stream", None) or client.beta.chat.completions.stream
    with helper(**KW, tool_choice="required") as stream:
        kinds = {type(e).__name__ for e in stream}
        final = stream.get_final_completion()
    assert "FunctionToolCallArgumentsDoneEvent" in kinds
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    valid_call(choice.message.tool_calls[0])


def test_streamed_text_with_tools_is_plain_content(client):
    chunks = list(client.chat.completions.create(**{**KW, "max_tokens": 10}, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    whole = client.chat.completions.create(**{**KW, "max_tokens": 10})
    assert text == whole.choices[0].message.content
    assert not any(c.choices[0].delta.tool_calls for c in chunks if c.choices)


def test_legacy_functions_reply_with_function_call(client):
    r = client.chat.completions.create(model="gpt-4.1-nano", messages=ASK, temperature=0, max_tokens=80,
                                       functions=[RESO["function"]], function_call={"name": "avvia_reso"})
    choice = r.choices[0]
    assert choice.finish_reason == "function_call" and choice.message.content is None
    assert choice.message.function_call.name == "avvia_reso" and choice.message.tool_calls is None
    assert set(json.loads(choice.message.function_call.arguments)) == {"numero_ordine", "motivo"}


@pytest.mark.parametrize("extra, param, code", [
    ({"tools": [{"type": "function", "function": {"name": "cerca ordine"}}]}, "tools[0].function.name", "invalid_value"),
    ({"tools": [{"type": "function"}]}, "tools[0].function", "missing_required_parameter"),
    ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type", "invalid_value"),
    ({"tools": [ORDINE] * 129}, "tools", "array_above_max_length"),
    ({"tool_choice": "required"}, "tool_choice", "invalid_value"),
    ({"tools": TOOLS, "tool_choice": "sempre"}, "tool_choice", "invalid_value"),
    ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "inventata"}}}, "tool_choice", "invalid_value"),
    ({"tools": TOOLS, "parallel_tool_calls": "si"}, "parallel_tool_calls", "invalid_type"),
    ({"messages": ASK + [{"role": "tool", "content": "ok"}]}, "messages[2].tool_call_id", "missing_required_parameter"),
    ({"messages": ASK + [{"role": "tool", "tool_call_id": "call_x", "content": "ok"}]}, "messages[2].role", "invalid_value"),
    ({"messages": ASK + [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                                               "function": {"name": "f", "arguments": {}}}]}]},
     "messages[2].tool_calls[0]", "invalid_value"),
])
def test_bad_tool_parameters_get_openai_errors(client, extra, param, code):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(**{"model": "gpt-4.1-nano", "messages": ASK, "max_tokens": 4, **extra})
    assert err.value.param == param and err.value.code == code
