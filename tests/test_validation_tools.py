"""The validator's function-calling rules (OpenAI's tools / FunctionObject shapes), both sides."""
from __future__ import annotations

import pytest

from ftlab.validation.examples import check_example

CALL = {"id": "call_1", "type": "function", "function": {"name": "meteo", "arguments": '{"citta": "Roma"}'}}
TOOL = {"type": "function", "function": {"name": "meteo", "parameters": {"type": "object"}}}


def line(tools=(TOOL,), call=CALL, **extra) -> dict:
    return {"tools": list(tools), **extra, "messages": [
        {"role": "user", "content": "Che tempo fa a Roma?"},
        {"role": "assistant", "content": None, "tool_calls": [call]}]}


def codes(obj) -> list:
    return [(code, values.get("key") or values.get("detail")) for code, _, values in check_example(obj)[1]]


def test_a_well_formed_function_calling_line_passes():
    assert codes(line()) == []
    legacy = {"functions": [TOOL["function"]], "messages": [
        {"role": "user", "content": "Roma?"},
        {"role": "assistant", "content": None, "function_call": CALL["function"]}]}
    assert codes(legacy) == []


@pytest.mark.parametrize("tools, key", [
    ([{"type": "function", "function": {"name": "meteo oggi"}}], "tools[0]"),
    ([TOOL, {"type": "function", "function": {"name": "x" * 65}}], "tools[1]"),
    ([{"type": "retrieval"}], "tools[0]"),
    ([{"type": "function", "function": {"name": "meteo", "parameters": "citta"}}], "tools[0]"),
])
def test_tools_openai_refuses_are_errors(tools, key):
    assert ("invalid_tools", key) in codes(line(tools))


def test_parallel_tool_calls_must_be_boolean():
    assert ("invalid_tools", "parallel_tool_calls") in codes(line(parallel_tool_calls="si"))
    assert codes(line(parallel_tool_calls=False)) == []


def test_calls_to_undefined_functions_or_with_non_object_arguments_warn():
    other = {**CALL, "function": {"name": "previsioni", "arguments": "{}"}}
    assert codes(line(call=other)) == [("tool_call_mismatch", "not in tools")]
    broken = {**CALL, "function": {"name": "meteo", "arguments": "Roma"}}
    assert codes(line(call=broken)) == [("tool_call_mismatch", "arguments")]
    assert codes(line(tools=(), call=other)) == []   # no tools defined: nothing to compare with
