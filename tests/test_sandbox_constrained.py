"""``response_format`` on chat completions (issue 15, item 5): json_object and json_schema replies
decoded under a JSON constraint (lm-format-enforcer), through the official SDK."""
from __future__ import annotations

import json

import openai
import pytest
import torch

from ftlab.sandbox.constrained import mask
from sandbox_helpers import sandbox

SCHEMA = {"type": "object", "properties": {"nome": {"type": "string"}, "eta": {"type": "integer"}},
          "required": ["nome", "eta"], "additionalProperties": False}
ASK = [{"role": "system", "content": "Estrai i dati in JSON."},
       {"role": "user", "content": "Mario Rossi ha 42 anni e vive a Torino."}]


def test_mask_keeps_only_the_allowed_tokens():
    out = mask(torch.tensor([1.0, 5.0, 3.0, 2.0]), [0, 2])
    assert out.argmax() == 2 and out[1] == float("-inf") and out[0] == 1.0


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with sandbox(tmp_path_factory.mktemp("sandbox-constrained"), FTLAB_SANDBOX_WORKER=0) as c:
        yield c


@pytest.mark.slow
def test_json_schema_reply_is_valid_json_matching_the_schema(client):
    fmt = {"type": "json_schema", "json_schema": {"name": "persona", "schema": SCHEMA, "strict": True}}
    r = client.chat.completions.create(model="gpt-4.1-nano", messages=ASK, response_format=fmt,
                                       temperature=0, max_tokens=60)
    assert r.choices[0].finish_reason == "stop"
    data = json.loads(r.choices[0].message.content)
    assert set(data) == {"nome", "eta"} and isinstance(data["nome"], str) and isinstance(data["eta"], int)
    sampled = client.chat.completions.create(model="gpt-4.1-nano", messages=ASK, response_format=fmt,
                                             temperature=1.0, seed=3, max_tokens=60, n=2)
    for choice in sampled.choices:
        if choice.finish_reason == "stop":
            assert set(json.loads(choice.message.content)) == {"nome", "eta"}


@pytest.mark.slow
def test_json_object_reply_is_json_and_streams_the_same(client):
    """Free-form json_object: the stand-in tends to add keys until max_tokens (then, as on OpenAI,
    the JSON is cut); the constraint still makes every reply start as an object, and a reply
    that ends by itself parse."""
    kw = dict(model="gpt-4o-mini", messages=ASK, temperature=0, max_tokens=40, response_format={"type": "json_object"})
    r = client.chat.completions.create(**kw)
    content = r.choices[0].message.content
    assert content.lstrip().startswith("{")
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(content), dict)
    stream = client.chat.completions.create(**kw, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == content


def test_json_object_needs_the_word_json(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4o-mini", response_format={"type": "json_object"},
                                       messages=[{"role": "user", "content": "Ciao"}])
    assert err.value.body["param"] == "messages" and "'json'" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4o-mini", messages=ASK,
                                       response_format={"type": "json_schema", "json_schema": {}})
    assert err.value.body["param"] == "response_format.json_schema.name"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4o-mini", messages=ASK, response_format={"type": "xml"})
    assert err.value.body["param"] == "response_format.type"
