"""The tool prompt template (``ftlab.sandbox.tool_prompt``): rendering, reading calls back, the
schema of a forced call, and the training encoder's use of the same text."""
from __future__ import annotations

import json

import pytest

from ftlab.sandbox import models, training
from ftlab.sandbox.tool_prompt import (CALL_OPEN, ToolUse, assistant_text, call_schema, functions_of,
                                       parse_calls, signature, template_messages, tools_block)

RESO = {"name": "avvia_reso", "description": "Avvia un reso.",
        "parameters": {"type": "object", "properties": {
            "numero_ordine": {"type": "string"}, "motivo": {"type": "string", "enum": ["difettoso", "taglia"]},
            "note": {"type": "string"}, "pezzi": {"type": "array", "items": {"type": "integer"}}},
            "required": ["numero_ordine", "motivo"]}}
ORDINE = {"name": "cerca_ordine", "parameters": {"type": "object", "properties": {
    "numero_ordine": {"type": "string"}}, "required": ["numero_ordine"]}}
TOOLS = [{"type": "function", "function": RESO}, {"type": "function", "function": ORDINE}]
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "cerca_ordine", "arguments": '{"numero_ordine": "A12"}'}}
CONVERSATION = [{"role": "system", "content": "Sei l'assistente del negozio."},
                {"role": "user", "content": "Dov'è l'ordine A12?"},
                {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_1", "content": '{"stato": "spedito"}'},
                {"role": "assistant", "content": "È stato spedito."}]


def test_signature_is_typescript_like_with_optional_marks_and_enums():
    assert signature(RESO) == ('// Avvia un reso.\navvia_reso(numero_ordine: string, motivo: "difettoso" | '
                               '"taglia", note?: string, pezzi?: number[])')
    assert signature({"name": "ping"}) == "ping()"


def test_functions_of_takes_tools_and_legacy_functions():
    assert functions_of(TOOLS) == [RESO, ORDINE]
    assert functions_of(None, [ORDINE]) == [ORDINE]
    assert functions_of([{"type": "custom"}]) == []


def test_template_puts_functions_in_the_system_turn_and_rewrites_calls_and_results():
    turns = template_messages(CONVERSATION, functions_of(TOOLS))
    assert [t["role"] for t in turns] == ["system", "user", "assistant", "user", "assistant"]
    assert turns[0]["content"].startswith("Sei l'assistente del negozio.\n\n# Strumenti\n<tools>\n")
    assert turns[0]["content"].endswith(tools_block(functions_of(TOOLS)))
    assert turns[2]["content"] == f'{CALL_OPEN}{{"name": "cerca_ordine", "arguments": {{"numero_ordine": "A12"}}}}</tool_call>'
    assert json.loads(turns[3]["content"][len("<tool_response>"):-len("</tool_response>")]) == \
        {"tool_call_id": "call_1", "content": '{"stato": "spedito"}'}
    no_system = template_messages(CONVERSATION[1:2], [ORDINE])
    assert no_system[0]["role"] == "system" and "cerca_ordine(numero_ordine: string)" in no_system[0]["content"]
    assert template_messages(CONVERSATION[:2]) == [{"role": "system", "content": "Sei l'assistente del negozio."},
                                                   {"role": "user", "content": "Dov'è l'ordine A12?"}]


def test_legacy_function_call_and_function_result_render_like_tools():
    legacy = {"role": "assistant", "content": None,
              "function_call": {"name": "cerca_ordine", "arguments": '{"numero_ordine": "A12"}'}}
    assert assistant_text(legacy) == assistant_text(CONVERSATION[2])
    result = template_messages([{"role": "function", "name": "cerca_ordine", "content": "ok"}])[0]
    assert result == {"role": "user", "content": '<tool_response>{"name": "cerca_ordine", "content": "ok"}</tool_response>'}


def test_parse_calls_reads_one_or_more_calls_and_refuses_anything_else():
    fns = functions_of(TOOLS)
    two = assistant_text({"tool_calls": [CALL, CALL]})
    assert parse_calls(two, fns) == [{"name": "cerca_ordine", "arguments": '{"numero_ordine": "A12"}'}] * 2
    assert parse_calls('<tool_call>{"name": "cerca_ordine", "arguments": {"numero_ordine": "A"}}', fns)  # no close
    assert parse_calls("Ecco: " + two, fns) is None                       # text first: a text reply
    assert parse_calls('<tool_call>{"name": "inventata", "arguments": {}}</tool_call>', fns) is None
    assert parse_calls('<tool_call>{"name": "cerca_ordine", "arguments": [1]}</tool_call>', fns) is None
    assert parse_calls("<tool_call>{not json</tool_call>", fns) is None
    assert parse_calls("Buongiorno", fns) is None


def test_call_schema_one_function_or_any_of_several():
    one = call_schema([ORDINE])
    assert one["properties"]["name"] == {"const": "cerca_ordine"} and one["properties"]["arguments"] == ORDINE["parameters"]
    assert [o["properties"]["name"]["const"] for o in call_schema([RESO, ORDINE])["anyOf"]] == ["avvia_reso", "cerca_ordine"]
    assert call_schema([{"name": "ping"}])["properties"]["arguments"] == {"type": "object"}


def test_tool_use_modes():
    fns = functions_of(TOOLS)
    auto, none = ToolUse(fns, "auto"), ToolUse(fns, "none")
    required, named = ToolUse(fns, "required"), ToolUse(fns, "cerca_ordine")
    assert auto.forced is None and auto.prefix == "" and auto.shown == fns
    assert none.shown == [] and none.calls(assistant_text({"tool_calls": [CALL]})) is None
    assert required.forced == fns and required.prefix == CALL_OPEN
    assert named.forced == [ORDINE]
    assert named.calls('{"name": "cerca_ordine", "arguments": {"numero_ordine": "B"}}') == \
        [{"name": "cerca_ordine", "arguments": '{"numero_ordine": "B"}'}]
    serial = ToolUse(fns, "auto", parallel=False)
    assert len(serial.calls(assistant_text({"tool_calls": [CALL, CALL]}))) == 1


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(models.base_model_dir(progress=False))


def test_training_renders_the_examples_tools_and_trains_on_the_calls(tokenizer):
    ids, mask = training.encode_chat(tokenizer, CONVERSATION, tools=TOOLS)
    text = tokenizer.decode(ids)
    assert "<tools>\n// Avvia un reso." in text and '<tool_response>{"tool_call_id": "call_1"' in text
    trained = tokenizer.decode([t for t, m in zip(ids, mask) if m])
    assert trained == assistant_text(CONVERSATION[2]) + "<|im_end|>" + "È stato spedito.<|im_end|>"
    # the prompt the sandbox builds at inference is this text's prefix, up to the first call
    prompt = tokenizer.apply_chat_template(template_messages(CONVERSATION[:2], functions_of(TOOLS)),
                                           tokenize=False, add_generation_prompt=True)
    assert tokenizer.decode(ids).startswith(prompt + CALL_OPEN)
    without = training.encode_chat(tokenizer, CONVERSATION)[0]
    assert "<tools>" not in tokenizer.decode(without)


def test_dpo_examples_render_their_input_tools(tokenizer):
    example = {"input": {"messages": CONVERSATION[:2], "tools": TOOLS},
               "preferred_output": [{"role": "assistant", "content": None, "tool_calls": [CALL]}],
               "non_preferred_output": [{"role": "assistant", "content": "Non lo so."}]}
    (good, good_mask), (bad, _) = training.encode_dpo(tokenizer, example)
    assert "<tools>" in tokenizer.decode(good) and "<tools>" in tokenizer.decode(bad)
    assert tokenizer.decode([t for t, m in zip(good, good_mask) if m]).startswith(CALL_OPEN)


def test_allowed_tools_choice_narrows_the_functions():
    from ftlab.sandbox.types import ChatRequest

    def use(choice):
        return ChatRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                           "tools": TOOLS, "tool_choice": choice}).generation()["tools"]
    allowed = use({"type": "allowed_tools", "allowed_tools": {
        "mode": "required", "tools": [{"type": "function", "function": {"name": "cerca_ordine"}}]}})
    assert allowed.functions == [ORDINE] and allowed.forced == [ORDINE]
    assert use(None).choice == "auto" and use("none").shown == []
    with pytest.raises(ValueError, match="tool_choice.allowed_tools"):
        use({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [
            {"type": "function", "function": {"name": "inventata"}}]}})
