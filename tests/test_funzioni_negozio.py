"""data/funzioni_negozio/: the function-calling dataset of chapter 10 (made by data/make_datasets.py
from data/sources/funzioni_negozio.py). Every call is valid for its schema, test phrasings are
never trained on, and the expectations agree with the test lines."""
from __future__ import annotations

import json

import jsonschema
import pytest

import ftlab
from ftlab.paths import DATA_DIR

FOLDER = DATA_DIR / "funzioni_negozio"


def read(name: str) -> list[dict]:
    return [json.loads(line) for line in (FOLDER / name).read_text(encoding="utf-8").splitlines()]


def calls(line: dict) -> list[dict]:
    return [c["function"] for m in line["messages"] for c in m.get("tool_calls") or ()]


def user_text(line: dict) -> str:
    return next(m["content"] for m in line["messages"] if m["role"] == "user")


@pytest.mark.parametrize("name", ["train.jsonl", "test.jsonl"])
def test_files_validate_clean(name):
    report = ftlab.validate(FOLDER / name, near_duplicates=False)
    assert report.ok and not [i for i in report.issues if i.code == "tool_call_mismatch"]


def test_every_call_matches_its_functions_schema():
    for line in read("train.jsonl") + read("test.jsonl"):
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in line["tools"]}
        for fn in calls(line):
            jsonschema.validate(json.loads(fn["arguments"]), schemas[fn["name"]])


def test_expectations_agree_with_the_test_lines():
    lines, expected = read("test.jsonl"), read("test_attese.jsonl")
    assert len(lines) == len(expected) == 40
    for line, want in zip(lines, expected):
        made = calls(line)
        if want["function"] is None:
            assert not made and line["messages"][-1]["content"]
        else:
            assert [(c["name"], json.loads(c["arguments"])) for c in made] == [(want["function"], want["arguments"])]


def test_test_phrasings_are_never_trained_on_and_all_functions_appear():
    def shape(text: str) -> str:   # the phrasing, with the order number and the product masked
        import re
        return re.sub(r"BD-\d{5}", "#", text)

    train, test = read("train.jsonl"), read("test.jsonl")
    seen = {shape(user_text(line)) for line in train}
    assert not any(shape(user_text(line)) in seen for line in test)
    names = {t["function"]["name"] for t in train[0]["tools"]}
    for split in (train, test):
        assert {fn["name"] for line in split for fn in calls(line)} == names
        assert sum(not calls(line) for line in split) >= len(split) // 5   # one in five needs no function
    assert any(m["role"] == "tool" for line in train for m in line["messages"])  # tool results too
