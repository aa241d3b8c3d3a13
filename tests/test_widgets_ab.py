"""A/B comparison form driven headlessly: prompt, compare, vote, tally."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ftlab.widgets.ab import ABComparison


class EchoClient:
    base_url = "http://fake/v1"

    def __init__(self):
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, model, messages, **params):
        text = f"{model} dice: {messages[-1]['content']}"
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text), finish_reason="stop")],
                               usage=SimpleNamespace(prompt_tokens=5, completion_tokens=3))


@pytest.fixture
def form(tmp_path):
    return ABComparison(EchoClient(), {"base": "m-base", "fine-tuned": "m-ft"},
                        votes_path=tmp_path / "votes.jsonl", seed=3)


def test_compare_shows_both_answers_blind(form):
    assert form.model_a.value == "m-base" and form.model_b.value == "m-ft"
    assert all(b.disabled for b in form.vote_buttons.values())
    form.prompt.value = "somma due numeri"
    form.run_button.click()
    panes = form.left.value + form.right.value
    assert "m-base dice: somma due numeri" in panes and "m-ft dice: somma due numeri" in panes
    assert "Risposta 1" in form.left.value and "Risposta 2" in form.right.value
    assert not any(b.disabled for b in form.vote_buttons.values())


def test_vote_is_stored_with_the_real_model_names(form, tmp_path):
    form.prompt.value = "ciao"
    form.run_button.click()
    shown_first = form.current["shown"][0]
    form.vote_buttons["A"].click()  # "1 è meglio"
    record = json.loads((tmp_path / "votes.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert record["winner"] == shown_first and record["model_a"] == "m-base" and record["model_b"] == "m-ft"
    assert "Voto salvato" in form.status.value
    assert all(b.disabled for b in form.vote_buttons.values())  # one vote per comparison
    with pytest.raises(RuntimeError):
        form.vote("B")


def test_tally_counts_wins_ties_losses(form):
    for choice in ("A", "B", "pari", "A"):
        form.compare("domanda")
        form.vote(choice)
    table = form.tally()
    assert table.confronti.tolist() == [4, 4]
    assert table.pari.tolist() == [1, 1]
    assert table.vinte.sum() == 3 and (table.vinte + table.perse + table.pari == 4).all()
    assert len(form.votes()) == 4


def test_not_blind_shows_names_and_empty_prompt_is_refused(tmp_path):
    form = ABComparison(EchoClient(), ["x", "y"], votes_path=tmp_path / "v.jsonl", blind=False)
    assert form.compare("") is None and "Scrivi" in form.status.value
    form.compare("q")
    assert "<b>x</b>" in form.left.value and "<b>y</b>" in form.right.value
    assert form.tally().empty
