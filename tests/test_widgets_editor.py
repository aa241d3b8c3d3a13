"""The example editor, driven headlessly as a student would: fill the fields, press "Aggiungi"."""
from __future__ import annotations

import json

import pytest

from ftlab.tokens import example_tokens
from ftlab.widgets import ExampleEditor


def fill(editor, user="Converti in python: somma di 1 e 2", assistant="print(1 + 2)"):
    editor.user.value = user
    editor.assistant.value = assistant


def lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_add_appends_the_example_and_counts(tmp_path):
    path = tmp_path / "nuovi.jsonl"
    editor = ExampleEditor(path, system="Converti richieste in codice Python.")
    fill(editor)
    editor.button.click()
    fill(editor, user="Converti in python: stampa ciao", assistant='print("ciao")')
    editor.button.click()

    assert lines(path) == [
        {"messages": [{"role": "system", "content": "Converti richieste in codice Python."},
                      {"role": "user", "content": "Converti in python: somma di 1 e 2"},
                      {"role": "assistant", "content": "print(1 + 2)"}]},
        {"messages": [{"role": "system", "content": "Converti richieste in codice Python."},
                      {"role": "user", "content": "Converti in python: stampa ciao"},
                      {"role": "assistant", "content": 'print("ciao")'}]},
    ]
    assert editor.count() == 2
    assert "2 esempi" in editor.status.value
    # user and assistant are cleared for the next example, the system message stays
    assert (editor.user.value, editor.assistant.value) == ("", "")
    assert editor.system.value == "Converti richieste in codice Python."


def test_empty_system_is_left_out_and_non_ascii_kept(tmp_path):
    path = tmp_path / "out.jsonl"
    editor = ExampleEditor(path)
    fill(editor, user="Perché è così?", assistant="Perché sì.")
    assert editor.add() is True
    assert lines(path) == [{"messages": [{"role": "user", "content": "Perché è così?"},
                                         {"role": "assistant", "content": "Perché sì."}]}]
    assert "Perché è così?" in path.read_text(encoding="utf-8")  # ensure_ascii=False


def test_live_token_count_matches_the_tokenizer(tmp_path):
    editor = ExampleEditor(tmp_path / "x.jsonl", system="Sei un assistente.")
    fill(editor, user="Ciao, come stai oggi?", assistant="Bene, grazie!")
    expected = example_tokens(editor.example())
    assert editor.token_count() == expected
    assert f"<b>{expected}</b>" in editor.tokens.value
    editor.assistant.value += " E tu come stai? Spero tutto bene."
    assert editor.token_count() > expected
    assert f"<b>{editor.token_count()}</b>" in editor.tokens.value


def test_empty_answer_is_refused_with_an_inline_problem(tmp_path):
    path = tmp_path / "x.jsonl"
    editor = ExampleEditor(path)
    fill(editor, user="Una domanda", assistant="   ")  # whitespace-only answer
    assert "empty_content" in [i.code for i in editor.issues()]
    assert "empty_content" in editor.problems.value
    assert editor.button.disabled
    assert editor.add() is False
    assert not path.exists()
    assert "non aggiunto" in editor.status.value


def test_warnings_are_shown_but_do_not_block(tmp_path):
    path = tmp_path / "x.jsonl"
    editor = ExampleEditor(path)
    fill(editor, user="Converti in python: stampa 1", assistant="print(1)\n\nEND")
    assert "legacy_marker" in editor.problems.value  # the course's END marker is flagged inline
    assert not editor.button.disabled
    assert editor.add() is True and editor.count() == 1


def test_a_correct_example_shows_no_problem(tmp_path):
    editor = ExampleEditor(tmp_path / "x.jsonl")
    fill(editor)
    assert editor.issues() == []
    assert "Nessun problema" in editor.problems.value


def test_appends_after_a_file_without_final_newline(tmp_path):
    path = tmp_path / "x.jsonl"
    first = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    path.write_text(json.dumps(first), encoding="utf-8")  # no trailing "\n"
    editor = ExampleEditor(path)
    assert editor.count() == 1
    fill(editor)
    editor.button.click()
    assert len(lines(path)) == 2 and lines(path)[0] == first


def test_labels_follow_ftlab_lang(tmp_path, monkeypatch):
    assert ExampleEditor(tmp_path / "x.jsonl").button.description == "Aggiungi"
    monkeypatch.setenv("FTLAB_LANG", "en")
    editor = ExampleEditor(tmp_path / "x.jsonl")
    assert editor.button.description == "Add"
    assert editor.user.description == "User"
