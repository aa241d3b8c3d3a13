"""``/v1/responses`` on the sandbox through the official SDK (issue 15, item 4): text in and out,
instructions, limits, streaming with the Responses event types, store / previous_response_id,
function tools (calls out, their outputs back in); every object validated with the SDK's own types."""
from __future__ import annotations

import openai
import pytest
from openai.types.responses import Response

from sandbox_helpers import required_fields_present, sandbox

pytestmark = pytest.mark.slow  # loads the stand-in model in the server
QUESTION = [{"role": "user", "content": "Come si dice 'gatto' in inglese?"}]
STREAM_TYPES = ["response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with sandbox(tmp_path_factory.mktemp("sandbox-responses"), FTLAB_SANDBOX_WORKER=0) as c:
        yield c


def check(r: Response) -> None:
    assert isinstance(r, Response) and r.object == "response" and r.id.startswith("resp_")
    required_fields_present(r)
    message = r.output[0]
    required_fields_present(message)
    required_fields_present(message.content[0])
    required_fields_present(r.usage)
    assert message.type == "message" and message.role == "assistant" and message.content[0].type == "output_text"
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens


def test_string_input_with_instructions_and_limit(client):
    r = client.responses.create(model="gpt-4.1-nano", input="Come si dice 'gatto' in inglese?",
                                instructions="Rispondi in una parola.", max_output_tokens=16, temperature=0)
    check(r)
    assert r.model == "gpt-4.1-nano" and r.instructions == "Rispondi in una parola."
    assert r.output_text == r.output[0].content[0].text and r.output_text
    assert r.usage.output_tokens <= 16 and r.usage.input_tokens > 10
    assert (r.status == "incomplete") == (r.usage.output_tokens == 16)
    if r.status == "incomplete":
        assert r.incomplete_details.reason == "max_output_tokens"


def test_message_list_matches_chat_completions(client):
    """The same conversation, greedy, gives the same text on both APIs (one engine underneath)."""
    r = client.responses.create(model="gpt-4o-mini", input=[{"role": "developer", "content": "Sii conciso."},
                                                            *QUESTION], max_output_tokens=20, temperature=0)
    check(r)
    chat = client.chat.completions.create(model="gpt-4o-mini", max_tokens=20, temperature=0,
                                          messages=[{"role": "system", "content": "Sii conciso."}, *QUESTION])
    assert r.output_text == chat.choices[0].message.content
    assert r.usage.input_tokens == chat.usage.prompt_tokens
    parts = client.responses.create(model="gpt-4o-mini", max_output_tokens=20, temperature=0, input=[
        {"role": "developer", "content": [{"type": "input_text", "text": "Sii conciso."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": QUESTION[0]["content"]}]}])
    assert parts.output_text == r.output_text


def test_streaming_events_in_openais_order(client):
    with client.responses.stream(model="gpt-4.1-nano", input=QUESTION, max_output_tokens=16, temperature=0) as s:
        events = list(s)
    final = events[-1].response   # get_final_response() wants response.completed, not incomplete
    types = [e.type for e in events]
    assert types[:5] == STREAM_TYPES
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed" if final.status == "completed" else "response.incomplete"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    check(final)
    assert deltas == final.output_text == events[-4].text
    plain = client.responses.create(model="gpt-4.1-nano", input=QUESTION, max_output_tokens=16, temperature=0)
    assert plain.output_text == final.output_text
    raw = list(client.responses.create(model="gpt-4.1-nano", input="Ciao", max_output_tokens=16, stream=True))
    assert raw[0].type == "response.created" and raw[0].response.status == "in_progress"
    with client.responses.stream(model="gpt-4.1-nano", input="Di' solo: ciao", max_output_tokens=200,
                                 temperature=0) as s:
        done = s.get_final_response()   # the SDK's helper, on a reply that ends by itself
    assert done.status == "completed" and done.output_text


def test_store_and_previous_response_id(client):
    first = client.responses.create(model="gpt-4.1-nano", input="Il mio nome è Lucia.", max_output_tokens=16,
                                    temperature=0)
    assert client.responses.retrieve(first.id).output_text == first.output_text
    follow = client.responses.create(model="gpt-4.1-nano", input="Come mi chiamo?", max_output_tokens=16,
                                     temperature=0, previous_response_id=first.id)
    check(follow)
    assert follow.previous_response_id == first.id
    # the history counts: the follow-up's prompt holds the first turn, question and answer
    alone = client.responses.create(model="gpt-4.1-nano", input="Come mi chiamo?", max_output_tokens=16,
                                    temperature=0, store=False)
    assert follow.usage.input_tokens > alone.usage.input_tokens + first.usage.output_tokens
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(alone.id)
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError) as err:
        client.responses.create(model="gpt-4.1-nano", input="x", previous_response_id=first.id)
    assert err.value.body["param"] == "previous_response_id"


@pytest.mark.parametrize("kw, param", [
    ({"max_output_tokens": 8}, "max_output_tokens"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "http://x"}]}]},
     "input[0].content[0]"),
    ({"input": [{"type": "function_call_output", "call_id": "c", "output": "1"}]}, "input"),
    ({"input": [{"type": "function_call_output", "output": "1"}]}, "input[0].call_id"),
    ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"tools": [{"type": "function", "name": "a b"}]}, "tools[0].function.name"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "function", "name": "g"}}, "tool_choice"),
    ({"temperature": 3}, "temperature"),
])
def test_bad_requests_get_openais_errors(client, kw, param):
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(**{"model": "gpt-4.1-nano", "input": "Ciao", **kw})
    assert err.value.body["param"] == param, err.value.body
    assert err.value.body["code"] in ("invalid_value", "unsupported_value", "integer_below_min_value",
                                      "missing_required_parameter")
    assert "{param}" not in err.value.body["message"]


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.responses.create(model="ft:gpt-4.1-nano-2025-04-14:ftlab::nope", input="Ciao")
    assert err.value.body["code"] == "model_not_found"


ORDINE = {"type": "function", "name": "cerca_ordine", "description": "Cerca un ordine per numero.",
          "parameters": {"type": "object", "properties": {"numero_ordine": {"type": "string"}},
                         "required": ["numero_ordine"], "additionalProperties": False}}
RESO = {"type": "function", "name": "avvia_reso", "description": "Avvia il reso di un ordine.",
        "parameters": {"type": "object", "properties": {
            "numero_ordine": {"type": "string"}, "motivo": {"type": "string", "enum": ["difettoso", "altro"]}},
            "required": ["numero_ordine", "motivo"], "additionalProperties": False}}
ASK = [{"role": "developer", "content": "Sei l'assistente di un negozio online."},
       {"role": "user", "content": "Voglio restituire l'ordine A1234: è difettoso."}]


def function_calls(r: Response, tools=(ORDINE, RESO)):
    """The response's function_call items, each valid for its function's schema."""
    import json

    import jsonschema
    calls = [o for o in r.output if o.type == "function_call"]
    for c in calls:
        required_fields_present(c)
        assert c.call_id.startswith("call_") and c.id.startswith("fc_") and c.status == "completed"
        jsonschema.validate(json.loads(c.arguments), {t["name"]: t["parameters"] for t in tools}[c.name])
    return calls


def test_required_tool_choice_returns_a_valid_function_call(client):
    r = client.responses.create(model="gpt-4.1-nano", input=ASK, tools=[ORDINE, RESO], tool_choice="required",
                                temperature=0, max_output_tokens=80)
    assert isinstance(r, Response) and r.status == "completed"
    calls = function_calls(r)
    assert len(calls) >= 1 and all(o.type == "function_call" for o in r.output)
    assert [t.name for t in r.tools] == ["cerca_ordine", "avvia_reso"] and r.tool_choice == "required"
    named = client.responses.create(model="gpt-4.1-nano", input=ASK, tools=[ORDINE, RESO], temperature=0,
                                    tool_choice={"type": "function", "name": "cerca_ordine"},
                                    parallel_tool_calls=False, max_output_tokens=80)
    assert [c.name for c in function_calls(named)] == ["cerca_ordine"]
    assert named.tool_choice.name == "cerca_ordine" and named.parallel_tool_calls is False


def test_none_answers_with_text_and_the_output_goes_back_in(client):
    text = client.responses.create(model="gpt-4.1-nano", input=ASK, tools=[ORDINE], tool_choice="none",
                                   temperature=0, max_output_tokens=32)
    check(text)
    assert not function_calls(text)
    first = client.responses.create(model="gpt-4.1-nano", input=ASK, tools=[ORDINE], tool_choice="required",
                                    temperature=0, max_output_tokens=80)
    call = function_calls(first, (ORDINE,))[0]
    result = {"type": "function_call_output", "call_id": call.call_id, "output": '{"stato": "spedito"}'}
    # the cookbook's way: the call and its output appended to the input …
    again = client.responses.create(model="gpt-4.1-nano", input=ASK + [call.model_dump(exclude_none=True), result],
                                    tools=[ORDINE], tool_choice="none", temperature=0, max_output_tokens=32)
    check(again)
    # … or only the output, continuing the stored response
    chained = client.responses.create(model="gpt-4.1-nano", previous_response_id=first.id, input=[result],
                                      tools=[ORDINE], tool_choice="none", temperature=0, max_output_tokens=32)
    check(chained)
    assert chained.output[0].content[0].text == again.output[0].content[0].text


def test_streamed_function_call_events(client):
    with client.responses.stream(model="gpt-4.1-nano", input=ASK, tools=[ORDINE, RESO], tool_choice="required",
                                 temperature=0, max_output_tokens=80) as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_response()
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds
    assert kinds[-1] == "response.completed"
    calls = function_calls(final)
    plain = client.responses.create(model="gpt-4.1-nano", input=ASK, tools=[ORDINE, RESO], tool_choice="required",
                                    temperature=0, max_output_tokens=80)
    assert [(c.name, c.arguments) for c in calls] == [(c.name, c.arguments) for c in function_calls(plain)]
