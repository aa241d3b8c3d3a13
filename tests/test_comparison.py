"""The three-arm comparison: prompts per arm, house style, tables, the goal and its verdict."""
from __future__ import annotations

import pandas as pd
import pytest

from fakes import FakeOpenAI
from ftlab import comparison as cmp
from ftlab import evaluation as ev

SIG = cmp.SERVICE_SIGNATURE
SYSTEM = "Sei l'assistente clienti. Indica la categoria e rispondi."


def answer(category, name="Anna", reply="ecco la risposta."):
    return f"Categoria: {category}\n\nGentile {name}, {reply}\n\n{SIG}"


def example(user, category, name="Anna"):
    return {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user},
                         {"role": "assistant", "content": answer(category, name)}]}


TRAIN = [example("Dov'è il pacco?", "spedizioni"), example("Altro pacco?", "spedizioni"),
         example("Voglio un reso", "resi e rimborsi"), example("Password persa", "account")]


@pytest.mark.parametrize("text, ok", [
    (answer("spedizioni"), True),
    (answer("spedizioni", name="Marco"), False),                     # someone else's name
    ("Categoria: spedizioni\nGentile Anna, ok.\n\n" + SIG, False),   # no blank line
    (answer("spedizioni").replace(SIG, "Saluti"), False),            # no signature
    ("Gentile Anna, ecco.\n\n" + SIG, False),                        # no category line
    ("", False),
])
def test_house_style(text, ok):
    assert cmp.house_style_ok(text, "Anna", SIG) is ok


def test_few_shots_cover_each_key_once_in_order():
    shots = cmp.few_shots(TRAIN, key=lambda ex: ev.category(ev.reference(ex)))
    assert [s[0] for s in shots] == ["Dov'è il pacco?", "Voglio un reso", "Password persa"]
    assert cmp.few_shots(TRAIN, key=id, k=2) == tuple((ex["messages"][1]["content"], ev.reference(ex))
                                                        for ex in TRAIN[:2])


def test_arm_messages_replace_the_system_and_put_shots_before_the_request():
    arm = cmp.Arm("x", "m", "DETTAGLIATO", shots=(("u1", "a1"),))
    messages = cmp.arm_messages(TRAIN[0], arm)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == "DETTAGLIATO" and messages[-1]["content"] == "Dov'è il pacco?"
    assert cmp.arm_messages(TRAIN[0], cmp.Arm("y", "m", SYSTEM)) == ev.prompt_messages(TRAIN[0])


def test_service_arms_short_prompt_is_the_data_s_and_shots_come_from_train():
    short, detailed, ft = cmp.service_arms("base", "ft:x", TRAIN)
    assert short.system == ft.system == SYSTEM and not short.shots and not ft.shots
    assert (short.model, detailed.model, ft.model) == ("base", "base", "ft:x")
    assert detailed.system.startswith(SYSTEM) and "resi e rimborsi" in detailed.system
    assert len(detailed.shots) == 3
    assert len(cmp.code_arms("base", "ft:x", TRAIN, k=2)[1].shots) == 2


def _scored():
    """Three arms on the same 4 examples through the real SDK; the fake answers by model and prompt."""
    test = [example(f"domanda {i}", c, n) for i, (c, n) in
            enumerate([("spedizioni", "Anna"), ("account", "Marco"), ("prodotto", "Rosa"), ("pagamenti", "Wei")])]
    names = ["Anna", "Marco", "Rosa", "Wei"]

    def reply(model, messages):
        i = int(messages[-1]["content"].split()[-1])
        category = ev.category(ev.reference(test[i]))
        if model.startswith("ft:"):
            return answer(category, names[i])
        if len(messages) > 2:              # few-shot: right category half the time, no style
            return f"Categoria: {category if i % 2 == 0 else 'resi e rimborsi'}\nGentile cliente"
        return "Buongiorno, come posso aiutarla?"

    fake = FakeOpenAI(answer=reply, base_url="http://fake/v1")
    arms = cmp.service_arms("gpt-4.1-nano-2025-04-14", "ft:gpt-4.1-nano-2025-04-14:org::abc", TRAIN)
    frame = cmp.run_arms(fake.client, arms, test, cache=False, progress=False, workers=2)
    scored = cmp.score_arms(frame, task="category", first_names=names, signature=SIG,
                            labels=cmp.SERVICE_CATEGORIES, progress=False)
    ceiling = cmp.reference_scores(test, task="category", first_names=names, signature=SIG,
                                   labels=cmp.SERVICE_CATEGORIES)
    return arms, scored, ceiling, fake


def test_run_arms_sends_each_arm_its_own_prompt_and_scores_them():
    arms, scored, ceiling, fake = _scored()
    assert fake.calls == 12 and list(scored.model.unique()) == [a.label for a in arms]
    by_arm = scored.groupby("model", sort=False)
    assert list(by_arm.category_ok.mean()) == [0.0, 0.5, 1.0]
    assert list(by_arm.house_style.mean()) == [0.0, 0.0, 1.0]
    assert ceiling.category_ok.all() and ceiling.house_style.all() and ceiling.format_ok.all()


def test_arms_table_has_tokens_costs_and_the_ceiling_row():
    arms, scored, ceiling, _ = _scored()
    table = cmp.arms_table(scored, ceiling=ceiling)
    assert list(table.index) == [a.label for a in arms] + [ceiling.model.iloc[0]]
    assert table.loc[arms[2].label, "house_style"] == 1.0
    assert {"prompt_tokens", "completion_tokens", "cost_per_1k_usd", "latency_s_median"} <= set(table)
    # the fine-tuned arm pays the fine-tuned price: ×2 the base's for gpt-4.1-nano at the same tokens
    base, ft = table.loc[arms[0].label], table.loc[arms[2].label]
    per_token = lambda row: row.cost_per_1k_usd / (row.prompt_tokens + 4 * row.completion_tokens)
    assert per_token(ft) == pytest.approx(2 * per_token(base), rel=0.05)
    assert pd.isna(table.loc[ceiling.model.iloc[0], "prompt_tokens"])


def test_paired_against_compares_the_fine_tune_with_each_base_arm():
    arms, scored, _, _ = _scored()
    paired = cmp.paired_against(scored, arms[2].label, [arms[0].label, arms[1].label])
    assert paired.loc[(arms[0].label, "category_ok"), "B-A"] == 1.0
    assert paired.loc[(arms[1].label, "category_ok"), "B-A"] == 0.5


def _table(acc_ft, acc_few, prompt_few, prompt_ft=40.0):
    return pd.DataFrame({"category_ok": [0.1, acc_few, acc_ft], "prompt_tokens": [40.0, prompt_few, prompt_ft]},
                        index=["short", "few", "ft"])


def _paired(margin, low):
    index = pd.MultiIndex.from_tuples([("short", "category_ok"), ("few", "category_ok")], names=["contro", "metric"])
    return pd.DataFrame({"B-A": [0.8, margin], "ci_low": [0.7, low], "ci_high": [0.9, margin + 0.1]}, index=index)


@pytest.mark.parametrize("acc_ft, margin, low, prompt_few, met", [
    (0.90, 0.30, 0.15, 400.0, True),
    (0.80, 0.30, 0.15, 400.0, False),   # accuracy under 0.85
    (0.90, 0.10, 0.02, 400.0, False),   # margin under 0.15
    (0.90, 0.20, -0.01, 400.0, False),  # CI touches 0
    (0.90, 0.30, 0.15, 100.0, False),   # prompt only 2.5× longer
])
def test_goal_check_needs_all_conditions(acc_ft, margin, low, prompt_few, met):
    check = cmp.goal_check(_table(acc_ft, acc_ft - margin, prompt_few), _paired(margin, low), ft="ft", few_shot="few")
    assert check["best_base"] == "few"
    assert (check["accuracy_ok"] and check["margin_ok"] and check["prompt_ratio_ok"]) is met
    text = cmp.goal_verdict(check)
    assert text.startswith("Sì") is met and f"{acc_ft:.2f}" in text


def test_price_notes_state_the_ratio_each_model_has():
    # 06 quotes this ratio: ×2 for nano/mini models, ×1.5 for gpt-4.1 and gpt-4o (reference table)
    from ftlab.tokens import load_prices

    prices = load_prices()
    for model, p in prices["models"].items():
        ratio = p["ft_input"] / p["base_input"]
        assert ratio == pytest.approx(p["ft_output"] / p["base_output"])
        assert ratio == (2.0 if ("nano" in model or "mini" in model) else 1.5), model
    assert "2x the base model for gpt-4.1-nano, gpt-4.1-mini and gpt-4o-mini" in prices["notes"]
    assert "1.5x for gpt-4.1 and gpt-4o" in prices["notes"]
