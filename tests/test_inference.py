"""Chat completions on the stand-in: max_tokens, stop, n, seed, streaming, usage."""
from __future__ import annotations

import pytest

from ftlab.sandbox.inference import Engine, _sample

import torch

PROMPT = [{"role": "system", "content": "Sei un assistente che scrive codice Python."},
          {"role": "user", "content": "Scrivi una funzione che somma due numeri."}]


@pytest.fixture(scope="module")
def engine():
    return Engine()


def test_max_tokens_ends_with_length(engine):
    result = engine.chat(PROMPT, temperature=0, max_tokens=4)
    (choice,) = result.choices
    assert choice.finish_reason == "length" and choice.completion_tokens == 4
    assert result.prompt_tokens == len(engine.prompt_ids(PROMPT)) > 10
    choices, prompt_tokens = result   # the server unpacks it like a tuple
    assert prompt_tokens == result.prompt_tokens


def test_greedy_is_deterministic_and_stop_cuts_before_the_stop_string(engine):
    text = engine.chat(PROMPT, temperature=0, max_tokens=16).choices[0].text
    assert text == engine.chat(PROMPT, temperature=0, max_tokens=16).choices[0].text
    stop = text[5:8]
    assert stop.strip(), text
    cut = engine.chat(PROMPT, temperature=0, max_tokens=16, stop=["§never§", stop]).choices[0]
    assert cut.finish_reason == "stop" and cut.text == text[: text.find(stop)]
    assert cut.completion_tokens < 16


def test_n_choices_and_seed(engine):
    a = engine.chat(PROMPT, temperature=1.0, max_tokens=8, n=3, seed=11)
    b = engine.chat(PROMPT, temperature=1.0, max_tokens=8, n=3, seed=11)
    c = engine.chat(PROMPT, temperature=1.0, max_tokens=8, n=3, seed=12)
    assert len(a.choices) == 3 and a.choices == b.choices
    assert [x.text for x in a.choices] != [x.text for x in c.choices]


def test_stream_deltas_add_up_to_the_chat_answer(engine):
    full = engine.chat(PROMPT, temperature=0, max_tokens=12).choices[0]
    stream = engine.stream(PROMPT, temperature=0, max_tokens=12)
    deltas = list(stream)
    assert len(deltas) > 1 and "".join(deltas) == full.text
    assert stream.result.finish_reason == full.finish_reason
    assert stream.result.completion_tokens == full.completion_tokens
    assert stream.result.prompt_tokens == len(engine.prompt_ids(PROMPT))


def test_stream_never_sends_part_of_a_stop_string(engine):
    text = engine.chat(PROMPT, temperature=0, max_tokens=16).choices[0].text
    stop = text[6:10]
    stream = engine.stream(PROMPT, temperature=0, max_tokens=16, stop=stop)
    assert "".join(stream) == text[: text.find(stop)] and stream.result.finish_reason == "stop"


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.05, 0.05]]))
    gen = torch.Generator().manual_seed(0)
    drawn = {_sample(logits, 1.0, 0.5, gen).item() for _ in range(50)}
    assert drawn == {0}
    drawn = {_sample(logits, 1.0, 0.8, gen).item() for _ in range(200)}
    assert drawn == {0, 1}
    assert _sample(logits, 0.0, 1.0, gen).item() == 0
