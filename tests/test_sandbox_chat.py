"""Chat completions on the sandbox (base model) through the official SDK, streaming included."""
from __future__ import annotations

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from sandbox_helpers import required_fields_present, sandbox

pytestmark = pytest.mark.slow  # loads the stand-in model in the server
MESSAGES = [{"role": "system", "content": "Sei un assistente conciso."},
            {"role": "user", "content": "Come si dice 'gatto' in inglese?"}]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with sandbox(tmp_path_factory.mktemp("sandbox-chat"), FTLAB_SANDBOX_WORKER=0) as c:
        yield c


def test_completion_shape_usage_and_length(client):
    r = client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES, max_tokens=4, temperature=0)
    assert isinstance(r, ChatCompletion)
    required_fields_present(r)
    required_fields_present(r.choices[0])
    required_fields_present(r.choices[0].message)
    assert r.object == "chat.completion" and r.model == "gpt-4.1-nano" and r.id.startswith("chatcmpl-")
    assert r.choices[0].message.role == "assistant" and r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 4 and r.usage.prompt_tokens > 10
    assert r.usage.total_tokens == r.usage.prompt_tokens + 4


def test_n_seed_and_max_completion_tokens(client):
    kw = dict(model="gpt-4o-mini-2024-07-18", messages=MESSAGES, max_completion_tokens=3, temperature=1.0,
              seed=11, n=2)
    a, b = client.chat.completions.create(**kw), client.chat.completions.create(**kw)
    assert [c.index for c in a.choices] == [0, 1]
    assert [c.message.content for c in a.choices] == [c.message.content for c in b.choices]
    assert a.usage.completion_tokens <= 6


def test_stop_sequence(client):
    greedy = client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES, max_tokens=6,
                                            temperature=0).choices[0].message.content
    cut = greedy.strip()[:2]
    r = client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES, max_tokens=6, temperature=0,
                                       stop=[cut])
    assert cut not in r.choices[0].message.content and r.choices[0].finish_reason == "stop"


def test_streaming_sse(client):
    full = client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES, max_tokens=5,
                                          temperature=0).choices[0].message.content
    chunks = list(client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES, max_tokens=5,
                                                 temperature=0, stream=True,
                                                 stream_options={"include_usage": True}))
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    for c in chunks:
        required_fields_present(c)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5
    assert len({c.id for c in chunks}) == 1


def test_concurrent_and_abandoned_streams_do_not_block(client):
    from concurrent.futures import ThreadPoolExecutor

    def ask(stream):
        kw = dict(model="gpt-4.1-nano", messages=MESSAGES, max_tokens=3, temperature=0)
        if not stream:
            return client.chat.completions.create(**kw).choices[0].message.content
        return "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(stream=True, **kw)
                       if c.choices)

    abandoned = client.chat.completions.create(model="gpt-4.1-nano", messages=MESSAGES, max_tokens=50, stream=True)
    next(iter(abandoned))
    abandoned.close()  # the user stops reading half way
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(ask, [False, True, False]))
    assert answers[0] == answers[1] == answers[2]
