"""The course's datasets: answers run and pass their checks, house style, splits, labels, regeneration."""
from __future__ import annotations

import ast
import difflib
import filecmp
import io
import json
import math
import re
import subprocess
import sys
import tokenize
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"
CP = DATA / "converti_python"
SPLITS = ("train", "validation", "test")
GENERATED = [
    "converti_python/train.jsonl", "converti_python/validation.jsonl",
    "converti_python/test.jsonl", "converti_python/checks.jsonl",
    "assistenza_clienti.jsonl", "assistenza_clienti_meta.jsonl",
    "legacy_prompt_completion.jsonl",
    "funzioni_negozio/train.jsonl", "funzioni_negozio/test.jsonl", "funzioni_negozio/test_attese.jsonl",
] + [f"assistenza_clienti/{s}{m}.jsonl" for s in ("train", "validation", "test") for m in ("", "_meta")]


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def split_rows() -> dict[str, list[dict]]:
    return {s: read(CP / f"{s}.jsonl") for s in SPLITS}


def all_examples() -> list[tuple[str, dict]]:
    return [(s, ex) for s, rows in split_rows().items() for ex in rows]


CHECKS = read(CP / "checks.jsonl")
ANSWERS = {ex["messages"][1]["content"]: ex["messages"][2]["content"] for _, ex in all_examples()}


def same(got, expected) -> bool:
    """Equality after a JSON round trip (tuples → lists), floats compared with a tolerance."""
    if isinstance(got, float) or isinstance(expected, float):
        return (isinstance(got, (int, float)) and isinstance(expected, (int, float))
                and math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9))
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(map(same, got, expected))
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(same(got[k], expected[k]) for k in got)
    return type(got) is type(expected) and got == expected


# --- converti_python: answers are correct -----------------------------------------------------

@pytest.mark.parametrize("entry", CHECKS, ids=[c["function"] for c in CHECKS])
def test_answer_runs_and_passes_its_checks(entry):
    code = ANSWERS[entry["request"]]
    namespace: dict = {}  # a fresh namespace per answer: nothing leaks between examples
    exec(compile(code, entry["function"], "exec"), namespace)
    function = namespace[entry["function"]]
    assert 2 <= len(entry["checks"]) <= 4, entry
    for check in entry["checks"]:
        got = json.loads(json.dumps(function(*check["args"])))
        assert same(got, check["expected"]), (entry["function"], check["args"], got)


def test_checks_catch_a_wrong_answer():
    # The checker itself must fail on a wrong answer, or the test above proves nothing.
    entry = next(c for c in CHECKS if c["function"] == "somma_fino_a")
    namespace: dict = {}
    exec(ANSWERS[entry["request"]].replace("n + 1", "n"), namespace)
    results = [same(namespace["somma_fino_a"](*c["args"]), c["expected"]) for c in entry["checks"]]
    assert not all(results)


# --- converti_python: house style -------------------------------------------------------------

@pytest.mark.parametrize("entry", CHECKS, ids=[c["function"] for c in CHECKS])
def test_house_style(entry):
    code = ANSWERS[entry["request"]]
    assert "```" not in code and not code.startswith((" ", "\n")) and not code.endswith("\n")
    tree = ast.parse(code)
    *imports, function = tree.body
    assert all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in imports)
    assert isinstance(function, ast.FunctionDef) and function.name == entry["function"]
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", function.name)
    assert function.returns is not None
    assert all(a.annotation is not None for a in function.args.args)
    docstring = ast.get_docstring(function)
    assert docstring and "\n" not in docstring and docstring[0].isupper() and docstring.endswith(".")
    calls = {n.func.id for n in ast.walk(function) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)}
    assert not calls & {"print", "input", "open", "eval", "exec"}
    kinds = {t.type for t in tokenize.generate_tokens(io.StringIO(code).readline)}
    assert tokenize.COMMENT not in kinds


def test_answers_are_short():
    # The sandbox trains a 135M model on 2 CPU cores: keep answers compact.
    lines = [len(code.splitlines()) for code in ANSWERS.values()]
    assert max(lines) <= 10
    assert sum(lines) / len(lines) <= 5


# --- converti_python: counts, format and splits -----------------------------------------------

def test_counts_and_split_sizes():
    rows = split_rows()
    assert len(rows["test"]) == 50
    assert len(rows["validation"]) == 20
    assert sum(map(len, rows.values())) >= 180
    assert len(CHECKS) == sum(map(len, rows.values()))
    assert Counter(c["split"] for c in CHECKS) == {s: len(r) for s, r in rows.items()}


def test_chat_lines_have_only_messages_and_one_system_prompt():
    systems = set()
    for _, ex in all_examples():
        assert list(ex) == ["messages"]
        assert [m["role"] for m in ex["messages"]] == ["system", "user", "assistant"]
        systems.add(ex["messages"][0]["content"])
    assert len(systems) == 1


def test_checks_agree_with_split_files():
    where = {ex["messages"][1]["content"]: s for s, ex in all_examples()}
    for entry in CHECKS:
        assert where[entry["request"]] == entry["split"]
        assert set(entry) == {"request", "function", "checks", "split"}
        assert all(set(c) == {"args", "expected"} and isinstance(c["args"], list)
                   for c in entry["checks"])
    assert len({c["function"] for c in CHECKS}) == len(CHECKS)


def test_splits_are_disjoint():
    requests = [ex["messages"][1]["content"] for _, ex in all_examples()]
    assert len(set(requests)) == len(requests)
    answers = [ex["messages"][2]["content"] for _, ex in all_examples()]
    assert len(set(answers)) == len(answers)


def normalized(ex: dict) -> str:
    text = " ".join(m["content"] for m in ex["messages"][1:])
    return re.sub(r"\s+", " ", text.lower()).strip()


def test_no_near_duplicates_between_train_and_test():
    rows = split_rows()
    train = [normalized(ex) for ex in rows["train"] + rows["validation"]]
    for ex in rows["test"]:
        text = normalized(ex)
        matcher = difflib.SequenceMatcher(None, text, autojunk=False)
        for other in train:
            matcher.set_seq1(other)
            if matcher.real_quick_ratio() >= 0.9 and matcher.quick_ratio() >= 0.9:
                assert matcher.ratio() < 0.9, (text, other)


# --- assistenza_clienti -----------------------------------------------------------------------

SERVICE = read(DATA / "assistenza_clienti.jsonl")
META = read(DATA / "assistenza_clienti_meta.jsonl")


def test_service_labels_match_meta():
    assert len(SERVICE) >= 120 and len(META) == len(SERVICE)
    for i, (ex, meta) in enumerate(zip(SERVICE, META), start=1):
        assert meta["line"] == i
        answer = ex["messages"][-1]["content"]
        first, blank, *_ = answer.split("\n")
        assert first == f"Categoria: {meta['category']}" and blank == ""
        assert meta["customer_name"].split()[0] in ex["messages"][1]["content"]
        assert meta["gender"] in {"F", "M"}


def test_service_balance_is_documented_and_realistic():
    categories = Counter(m["category"] for m in META)
    assert len(categories) >= 5
    assert max(categories.values()) > min(categories.values())  # not perfectly balanced
    assert min(categories.values()) >= 10
    genders = Counter(m["gender"] for m in META)
    assert abs(genders["F"] - genders["M"]) <= 2
    origins = Counter(m["origin"] for m in META)
    assert {"nord", "centro", "sud", "isole", "straniera"} <= set(origins)
    assert len({m["customer_name"] for m in META}) >= 40
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for label, n in categories.items():
        assert re.search(rf"{re.escape(label)}\s*\|\s*{n}\b", readme), label


def test_service_style_is_consistent():
    systems = {ex["messages"][0]["content"] for ex in SERVICE}
    assert len(systems) == 1
    for ex, meta in zip(SERVICE, META):
        answer = ex["messages"][-1]["content"]
        assert answer.split("\n")[2].startswith(f"Gentile {meta['customer_name'].split()[0]}")
        assert answer.endswith("il servizio clienti di Bottega Domestica")


def test_service_scenarios_are_not_repeated():
    requests = [ex["messages"][1]["content"] for ex in SERVICE]
    replies = [ex["messages"][-1]["content"].split(", ", 1)[1] for ex in SERVICE]  # minus the name
    assert len(set(requests)) == len(requests) and len(set(replies)) == len(replies)


# --- assistenza_clienti/: the customer-service fine-tune ---------------------------------------

FT = DATA / "assistenza_clienti"
FT_ROWS = {s: read(FT / f"{s}.jsonl") for s in SPLITS}
FT_META = {s: read(FT / f"{s}_meta.jsonl") for s in SPLITS}
FT_CATEGORIES = {"spedizioni", "resi e rimborsi", "prodotto", "pagamenti", "account"}


def test_ft_splits_are_sized_for_learning_and_testing():
    assert len(FT_ROWS["train"]) >= 250 and len(FT_ROWS["test"]) >= 50 and len(FT_ROWS["validation"]) >= 20
    for split in SPLITS:
        assert len(FT_META[split]) == len(FT_ROWS[split])
        assert {m["category"] for m in FT_META[split]} == FT_CATEGORIES


@pytest.mark.parametrize("split", SPLITS)
def test_ft_answers_follow_the_house_format(split):
    systems = set()
    for ex, meta in zip(FT_ROWS[split], FT_META[split]):
        system, user, assistant = ex["messages"]
        systems.add(system["content"])
        first, blank, reply = assistant["content"].split("\n", 2)
        assert first == f"Categoria: {meta['category']}" and blank == ""
        assert reply.startswith(f"Gentile {meta['first_name']}, ")
        assert reply.endswith("\n\nIl servizio clienti di Bottega Domestica")
        assert meta["first_name"] in user["content"]
        assert meta["gender"] in {"F", "M"} and meta["origin"]
    assert len(systems) == 1 and len(next(iter(systems)).split()) <= 15  # one short system message


def test_ft_test_scenarios_are_never_trained_on():
    seen = {m["request"] for s in ("train", "validation") for m in FT_META[s]}
    assert not seen & {m["request"] for m in FT_META["test"]}
    assert not {m["request"] for m in FT_META["train"]} & {m["request"] for m in FT_META["validation"]}


def test_ft_training_data_is_balanced_across_gender_and_origin():
    meta = FT_META["train"]
    genders = Counter(m["gender"] for m in meta)
    assert abs(genders["F"] - genders["M"]) <= 0.1 * len(meta)
    assert {"nord", "centro", "sud", "isole", "straniera"} <= {m["origin"] for m in meta}
    for category in FT_CATEGORIES:
        in_cat = [m["gender"] for m in meta if m["category"] == category]
        assert 0.35 <= in_cat.count("F") / len(in_cat) <= 0.65, category


def test_ft_user_messages_vary_in_register_and_spelling():
    users = [ex["messages"][1]["content"] for ex in FT_ROWS["train"]]
    assert len(set(users)) == len(users)
    assert any(u.startswith("Ciao") for u in users) and any(u.startswith("Gentili") for u in users)
    requests = {m["request"] for m in FT_META["train"]}
    assert sum(1 for u in users if not any(r.split("{")[0][:25] in u for r in requests)) >= 20  # typos


# --- legacy -----------------------------------------------------------------------------------

def test_legacy_file_has_the_course_examples_and_markers():
    rows = read(DATA / "legacy_prompt_completion.jsonl")
    assert len(rows) >= 10
    for row in rows:
        assert set(row) == {"prompt", "completion"}
        assert row["prompt"].endswith("\n\n###\n\n") and row["completion"].endswith("\n\nEND")
    prompts = [r["prompt"] for r in rows]
    assert "Converti in python: Calcola la somma dei numeri da 1 a 10\n\n###\n\n" in prompts
    assert "Converti in python: Trova il massimo in una lista\n\n###\n\n" in prompts


# --- the generator ----------------------------------------------------------------------------

def test_generator_reproduces_committed_files(tmp_path):
    subprocess.run([sys.executable, str(DATA / "make_datasets.py"), "--out", str(tmp_path)],
                   check=True)
    produced = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.jsonl"))
    assert produced == sorted(GENERATED)
    for name in GENERATED:
        assert filecmp.cmp(tmp_path / name, DATA / name, shallow=False), name


def test_more_scenarios_add_training_situations_and_keep_the_test_split(tmp_path):
    subprocess.run([sys.executable, str(DATA / "make_datasets.py"), "--out", str(tmp_path), "--more-scenarios"],
                   check=True)
    built = tmp_path / "assistenza_clienti"
    for split in ("test", "validation"):   # the same requests the course's figures were measured on
        assert filecmp.cmp(built / f"{split}.jsonl", FT / f"{split}.jsonl", shallow=False), split
    meta = read(built / "train_meta.jsonl")
    added = {m["request"] for m in meta} - {m["request"] for m in FT_META["train"]}
    assert len(added) == 100 and Counter(m["category"] for m in meta if m["request"] in added) == {
        c: 2 * 20 for c in FT_CATEGORIES}   # 20 new situations per category, two variants each
    assert not added & {m["request"] for s in ("test", "validation") for m in FT_META[s]}


def test_more_scenarios_refuse_to_overwrite_the_course_data():
    done = subprocess.run([sys.executable, str(DATA / "make_datasets.py"), "--more-scenarios"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "--out DIR" in done.stderr
