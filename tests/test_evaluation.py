"""Evaluation: metrics on crafted cases, the cache, paired statistics, the stress set."""
from __future__ import annotations

import json
import threading

import pandas as pd
import pytest

from fakes import FakeOpenAI, Refusal
from ftlab import evaluation as ev

GOOD = 'def somma(a: int, b: int) -> int:\n    """Somma due numeri."""\n    return a + b'
CHECKS = {"Converti in python: somma due numeri": {"function": "somma", "checks": [
    {"args": [1, 2], "expected": 3}, {"args": [0, 0], "expected": 0}]}}


def fake_backend(answer, base_url="http://fake/v1") -> FakeOpenAI:
    """Chat completions answered by ``answer(model, messages)``, through the real SDK."""
    return FakeOpenAI(answer=answer, base_url=base_url)


def example(user, answer):
    return {"messages": [{"role": "system", "content": "Converti la richiesta in una funzione Python."},
                         {"role": "user", "content": user}, {"role": "assistant", "content": answer}]}


@pytest.mark.parametrize("text, ok", [
    (GOOD, True),
    ("import math\n\n" + GOOD, True),
    ("```python\n" + GOOD + "\n```", False),                              # fences
    ("def somma(a, b):\n    return a + b", False),                        # no docstring
    (GOOD + "\n\nprint(somma(1, 2))", False),                             # extra statement
    (GOOD + "\n\ndef altra():\n    '''x'''\n    return 1", False),       # two functions
    ("Ecco la funzione:\n" + GOOD, False),                                # prose, does not parse
    ("", False),
])
def test_code_format(text, ok):
    assert ev.code_format_ok(text) is ok


@pytest.mark.parametrize("text, code", [
    ("```python\ndef f():\n    return 1\n```\n\nSpiegazione.", "def f():\n    return 1"),
    ("Ecco:\n```\nx = 1\n```", "x = 1"),
    ("```python\ndef f():\n    return 1", "def f():\n    return 1"),  # cut by max_tokens
    ("def f():\n    return 1", "def f():\n    return 1"),
])
def test_extract_code(text, code):
    assert ev.extract_code(text) == code


def test_category_format():
    assert ev.category("Categoria: fatturazione\nGentile cliente…") == "fatturazione"
    assert ev.category_format_ok("Categoria: resi\nok", labels={"resi", "spedizioni"})
    assert not ev.category_format_ok("Categoria: altro\nok", labels={"resi"})
    assert not ev.category_format_ok("Gentile cliente\nCategoria: resi")
    assert ev.category("") is None


def test_exact_and_normalized_match():
    assert ev.exact_match(" ciao \n", "ciao")
    assert not ev.exact_match("Ciao!", "ciao") and ev.normalized_match("Ciao!", "ciao")
    reformatted = 'def somma(a: int,b: int)->int:\n    """Somma due numeri."""\n\n    return (a + b)'
    assert not ev.exact_match(reformatted, GOOD) and ev.normalized_match(reformatted, GOOD)
    assert not ev.normalized_match("return a - b", GOOD) and not ev.normalized_match("x", None)


def test_prompt_and_reference_split_the_last_assistant_turn():
    ex = example("u", "a")
    assert [m["role"] for m in ev.prompt_messages(ex)] == ["system", "user"]
    assert ev.reference(ex) == "a"
    assert ev.reference({"messages": [{"role": "user", "content": "u"}]}) is None


def test_run_models_caches_on_disk_and_records_errors():
    def answer(model, messages):
        return Refusal(404, "model_not_found") if model == "ritirato" else GOOD

    fake = fake_backend(answer)
    client = fake.client
    data = [example("Converti in python: somma due numeri", GOOD), example("altro", "x")]
    first = ev.run_models(client, {"base": "m1", "old": "ritirato"}, data, progress=False)
    assert fake.calls == 4 and not first.cached.any()
    assert first[first.model == "old"].error.str.contains("model_not_found").all()
    again = ev.run_models(client, {"base": "m1", "old": "ritirato"}, data, progress=False)
    # successes come from the cache; errors are retried (a model may come back)
    assert fake.calls == 6
    assert again[again.model == "base"].cached.all() and not again[again.model == "old"].cached.any()
    other = ev.run_models(client, ["m1"], data, params={"temperature": 1.0}, progress=False)
    assert fake.calls == 8 and not other.cached.any()  # parameters are part of the key


def test_cache_survives_a_sandbox_restart_on_another_port():
    data = [example("Converti in python: somma due numeri", GOOD)]
    first = fake_backend(lambda m, msgs: GOOD, "http://127.0.0.1:40001/v1")
    second = fake_backend(lambda m, msgs: GOOD, "http://127.0.0.1:40002/v1")
    ev.run_models(first.client, ["m"], data, progress=False)
    assert ev.run_models(second.client, ["m"], data, progress=False).cached.all() and second.calls == 0


def test_cache_key_depends_on_every_input():
    base = ev.cache_key("m", [{"role": "user", "content": "a"}], {"t": 0}, "b")
    assert base != ev.cache_key("m2", [{"role": "user", "content": "a"}], {"t": 0}, "b")
    assert base != ev.cache_key("m", [{"role": "user", "content": "b"}], {"t": 0}, "b")
    assert base != ev.cache_key("m", [{"role": "user", "content": "a"}], {"t": 1}, "b")
    assert base != ev.cache_key("m", [{"role": "user", "content": "a"}], {"t": 0}, "other backend")


def test_score_runs_the_checks_in_the_sandbox():
    answers = {"good": GOOD, "wrong": GOOD.replace("a + b", "a - b"), "fenced": f"```python\n{GOOD}\n```"}
    client = fake_backend(lambda model, messages: answers[model]).client
    data = [example("Converti in python: somma due numeri", GOOD)]
    scored = ev.score(ev.run_models(client, list(answers), data, progress=False), checks=CHECKS, progress=False)
    by = scored.set_index("model")
    assert by.loc["good", ["exact", "format_ok", "parses", "runs", "passes"]].tolist() == [True] * 5
    assert by.loc["wrong", "passes"] == False and by.loc["wrong", "checks_passed"] == 0.5  # noqa: E712
    # fenced code still runs (execution is measured on the code), but breaks the format
    assert by.loc["fenced", "passes"] == True and by.loc["fenced", "format_ok"] == False  # noqa: E712
    table = ev.summary(scored)
    assert table.loc["good", "passes"] == 1.0 and table.loc["wrong", "passes"] == 0.0
    assert table.loc["good", "cost_per_1k_usd"] != table.loc["good", "cost_per_1k_usd"]  # NaN: no price for "good"


def test_cost_per_1k_uses_the_price_table():
    # gpt-4.1-nano: base 0.10 in / 0.40 out per 1M; fine-tuned exactly double
    assert ev.cost_per_1k(1000, 100, "gpt-4.1-nano-2025-04-14") == pytest.approx(0.14)
    assert ev.cost_per_1k(1000, 100, "ft:gpt-4.1-nano-2025-04-14:org:x:abc") == pytest.approx(0.28)
    assert ev.cost_per_1k(1000, 100, "ft:stand-in:x", price_model="gpt-4.1-nano-2025-04-14") == pytest.approx(0.28)


def test_mcnemar_exact_values():
    # 8 pairs where only B succeeds, 1 where only A: p = 2 * P(X <= 1 | n=9) = 20/512
    a = [1] * 1 + [0] * 8 + [1] * 5
    b = [0] * 1 + [1] * 8 + [1] * 5
    res = ev.mcnemar(a, b)
    assert (res["only_a"], res["only_b"]) == (1, 8) and res["p_value"] == pytest.approx(20 / 512, abs=1e-4)
    assert ev.mcnemar([1, 0], [1, 0])["p_value"] == 1.0
    assert ev.min_discordant(0.05) == 6


def test_bootstrap_ci_brackets_the_mean_and_is_reproducible():
    diffs = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1] * 3
    lo, hi = ev.bootstrap_ci(diffs, seed=1)
    assert lo < sum(diffs) / len(diffs) < hi and (lo, hi) == ev.bootstrap_ci(diffs, seed=1)
    assert ev.bootstrap_ci([0.0] * 10) == (0.0, 0.0)


def _scored(a_vals, b_vals):
    rows = [{"model": m, "i": i, "passes": bool(v), "error": None}
            for m, vals in (("A", a_vals), ("B", b_vals)) for i, v in enumerate(vals)]
    return pd.DataFrame(rows)


def test_ab_table_says_when_n_is_too_small():
    small = ev.ab_table(_scored([0, 0, 1], [1, 1, 1]), "A", "B", metrics=["passes"])
    assert "troppo piccolo" in small.loc["passes", "verdict"] and small.loc["passes", "B-A"] == pytest.approx(2 / 3, abs=1e-3)


def test_ab_table_concludes_with_enough_discordant_pairs():
    big = ev.ab_table(_scored([0] * 20 + [1] * 20, [1] * 20 + [1] * 20), "A", "B", metrics=["passes"])
    row = big.loc["passes"]
    assert row.ci_low > 0 and row.p_mcnemar < 0.001 and row.verdict == "B migliore di A"


def test_ab_table_no_difference():
    same = ev.ab_table(_scored([1, 0] * 10, [0, 1] * 10), "A", "B", metrics=["passes"])
    assert same.loc["passes", "verdict"].startswith("nessuna differenza")


def test_plot_ab_draws_one_point_per_metric():
    import matplotlib
    matplotlib.use("Agg")
    table = ev.ab_table(_scored([0] * 20 + [1] * 20, [1] * 40), "A", "B", metrics=["passes"])
    ax = ev.plot_ab(table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["passes"]


def test_stress_set_and_checks():
    cases = {c["case"]: c for c in ev.stress_set(system="S")}
    assert set(cases) >= {"vuoto", "lunghissimo", "altra_lingua", "iniezione", "fuori_tema"}
    assert cases["vuoto"]["messages"][-1]["content"] == ""
    assert len(cases["lunghissimo"]["messages"][-1]["content"].split()) > 500
    assert cases["iniezione"]["messages"][0] == {"role": "system", "content": "S"}

    def answer(model, messages):
        text = messages[-1]["content"]
        if model == "ingenuo":
            return ev.INJECTION_CANARY if ev.INJECTION_CANARY in text else "Roma è la capitale."
        return GOOD

    frame = ev.run_stress(fake_backend(answer).client, ["ingenuo", "rigido"], progress=False).set_index(["case", "model"])
    assert not frame.loc[("iniezione", "ingenuo"), "ok"] and frame.loc[("iniezione", "rigido"), "ok"]
    assert frame.loc[("fuori_tema", "ingenuo"), "ok"] and not frame.loc[("fuori_tema", "rigido"), "ok"]
    assert frame.loc[("altra_lingua", "rigido"), "ok"] and not frame.loc[("altra_lingua", "ingenuo"), "ok"]


def test_load_checks(tmp_path):
    path = tmp_path / "checks.jsonl"
    path.write_text(json.dumps({"request": "r", "function": "f", "checks": [], "split": "test"}) + "\n")
    assert ev.load_checks(path)["r"]["function"] == "f"
