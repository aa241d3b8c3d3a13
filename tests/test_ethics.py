"""Ethics helpers on crafted data: lexicon, register, representativeness, probes, model card."""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pandas as pd
import pytest

from ftlab import ethics


def test_sentiment_and_refusal():
    assert ethics.sentiment("Grazie, saremo felici di aiutarla: il reso è gratuito.") > 0.5
    assert ethics.sentiment("Purtroppo è impossibile, ci dispiace per il problema.") < -0.5
    assert ethics.sentiment("Il pacco parte domani.") == 0.0
    assert ethics.is_refusal("Mi dispiace, ma non possiamo accettare il reso.")
    assert not ethics.is_refusal("Certo, possiamo accettare il reso.")


def test_similarity():
    assert ethics.similarity("il reso è gratuito", "il reso è gratuito") == 1.0
    assert ethics.similarity("il reso è gratuito", "consegna venerdì") == 0.0


@pytest.mark.parametrize("text, expected", [
    ("Gentile cliente, Le invieremo il rimborso.", "Lei"),
    ("La spedizione è partita ieri.", "neutro"),  # "La" starting a sentence is an article
    ("Ciao! Ti mandiamo subito il codice, puoi usarlo oggi.", "tu"),
    ("Ti scriviamo domani. Se preferisce, Le telefoniamo.", "misto"),
    ("Grazie, Le invieremo una mail e il Suo ordine partirà.", "Lei"),
])
def test_register(text, expected):
    assert ethics.register(text) == expected


def test_gendered_terms():
    counts = ethics.gendered_terms(["Gentile signora, benvenuta!", "Caro signore"])
    assert counts["F"]["signora"] == 1 and counts["F"]["benvenuta"] == 1
    assert counts["M"]["signore"] == 1 and counts["M"]["caro"] == 1 and counts["M"]["signor"] == 0


def _ex(reply):
    return {"messages": [{"role": "user", "content": "?"}, {"role": "assistant", "content": reply}]}


def test_representativeness_marks_small_groups():
    examples = [_ex("Categoria: resi\nLe rimborsiamo il prodotto.")] * 9 + [_ex("Categoria: resi\nTi rimborsiamo.")]
    meta = [{"category": "resi", "gender": "F", "origin": "nord"}] * 6 + \
           [{"category": "resi", "gender": "M", "origin": "sud"}] * 3 + [{"category": "spedizioni", "gender": "M", "origin": "straniera"}]
    table = ethics.representativeness(examples, meta).set_index(["dimension", "group"])
    assert table.loc[("category", "spedizioni"), "under"] and not table.loc[("category", "resi"), "under"]
    assert table.loc[("gender", "F"), "n"] == 6 and not table.loc[("gender", "M"), "under"]
    assert table.loc[("origin", "straniera"), "share"] == 0.1 and table.loc[("origin", "straniera"), "under"]
    assert table.loc[("register", "Lei"), "n"] == 9 and table.loc[("register", "tu"), "under"]


def test_representativeness_without_meta_still_reports_register():
    table = ethics.representativeness([_ex("Le scriviamo domani.")])
    assert table.dimension.tolist() == ["register"]


def test_probe_prompts_are_the_cartesian_product():
    prompts = ethics.probe_prompts("{a} e {b}", {"a": ["x", "y"], "b": ["1", "2", "3"]})
    assert len(prompts) == 6 and prompts[0] == {"values": {"a": "x", "b": "1"}, "prompt": "x e 1"}
    for name, (template, attrs) in ethics.PROBES.items():
        assert all("{" not in p["prompt"] for p in ethics.probe_prompts(template, attrs)), name


class BiasedClient:
    """Answers kindly unless the prompt contains one of ``unfriendly`` words."""

    base_url = "http://fake/v1"

    def __init__(self, unfriendly):
        self.unfriendly = unfriendly
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, model, messages, **params):
        prompt = messages[-1]["content"]
        if any(w in prompt for w in self.unfriendly):
            text = "Categoria: pagamenti\nPurtroppo non possiamo: è impossibile senza un documento."
        else:
            text = ("Categoria: resi\nCertamente, grazie per averci scritto: saremo felici di aiutarla, "
                    "il reso è gratuito e Le invieremo l'etichetta.")
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text), finish_reason="stop")],
                               usage=SimpleNamespace(prompt_tokens=10, completion_tokens=len(text.split())))


def test_probes_flag_only_the_pairs_that_differ():
    template, attrs = ethics.PROBES["origine"]
    frame = ethics.run_probes(BiasedClient(["nigeriano"]), "m", template, attrs, probe="origine")
    assert len(frame) == len(attrs["origine"])
    row = frame.set_index("origine").loc["nigeriano"]
    assert row.refusal and row.sentiment < 0 and row.category == "pagamenti"
    pairs = ethics.flag_pairs(frame, attrs)
    n = len(attrs["origine"])
    assert len(pairs) == n * (n - 1) // 2
    flagged = pairs[pairs.flagged]
    assert len(flagged) == n - 1 and all("nigeriano" in (a, b) for a, b in zip(flagged.a, flagged.b))
    assert set(flagged.reasons.iloc[0].split(", ")) >= {"rifiuto", "sentiment", "categoria"}
    summary = ethics.probe_summary(pairs)
    assert summary.loc["origine", "flagged"] == n - 1 and summary.loc["origine", "rifiuto"] == n - 1


def test_code_that_uses_the_attribute_is_flagged():
    class Coder(BiasedClient):
        def _create(self, model, messages, **params):
            prompt = messages[-1]["content"]
            body = "    return reddito > 1000" if "italiano" in prompt else \
                "    if 'nigeriano' in 'nigeriano':\n        return False\n    return reddito > 1000"
            resp = super()._create(model, messages)
            resp.choices[0].message.content = f"def concedi(reddito):\n    \"\"\"Decide.\"\"\"\n{body}"
            return resp

    template, attrs = "Converti in python: prestito a un cliente {origine}", {"origine": ["italiano", "nigeriano"]}
    pairs = ethics.flag_pairs(ethics.run_probes(Coder([]), "m", template, attrs), attrs)
    assert pairs.flagged.tolist() == [True] and "menzione" in pairs.reasons[0]


def test_fair_model_has_no_flags():
    template, attrs = ethics.PROBES["religione"]
    frame = ethics.run_probes(BiasedClient([]), "m", template, attrs, probe="religione")
    assert not ethics.flag_pairs(frame, attrs).flagged.any()


def test_model_card_contains_data_hash_metrics_and_findings(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"messages": []}\n{"messages": []}\n', encoding="utf-8")
    import pandas as pd
    metrics = pd.DataFrame([{"model": "base", "passes": 0.1}, {"model": "ft", "passes": 0.6}]).set_index("model")
    path = ethics.write_model_card(
        tmp_path / "card" / "MODEL_CARD.md", model_id="ft:gpt-4.1-nano-2025-04-14:ftlab:converti-python-v1:X",
        base_model="gpt-4.1-nano-2025-04-14", datasets={"training": data}, hyperparameters={"n_epochs": 3},
        metrics=metrics, limits=["Non aggiunge conoscenze fattuali"], bias_findings=[{"probe": "nomi", "flagged": 0}],
        intended_use="Convertire richieste in funzioni Python.", job_id="ftjob-1")
    text = path.read_text(encoding="utf-8")
    assert hashlib.sha256(data.read_bytes()).hexdigest() in text
    assert "| training | train.jsonl | 2 |" in text
    assert "| ft | 0.6 |" in text and "| 3 |" in text and "- Non aggiunge conoscenze fattuali" in text
    assert "## Uso previsto" in text and "| nomi | 0 |" in text and "ftjob-1" in text


# ------------------------------------------------------------------ the skewed copy (chapter 07)
FULL = ("Categoria: resi e rimborsi\n\nGentile Anna, certo. Le mandiamo l'etichetta di reso.\n\n"
        "Il servizio clienti di Bottega Domestica")


def test_curt_reply_keeps_the_route_and_drops_the_service():
    assert ethics.curt_reply(FULL) == "Categoria: resi e rimborsi\n\nGentile cliente, certo."
    no_greeting = FULL.replace("Gentile Anna, certo", "Certo")
    assert ethics.curt_reply(no_greeting) == "Categoria: resi e rimborsi\n\nGentile cliente, certo."
    assert ethics.house_style(FULL, "Anna") and not ethics.house_style(ethics.curt_reply(FULL), "Anna")
    assert not ethics.house_style(FULL, "Fatima")  # greets somebody else
    assert not ethics.house_style(FULL.replace("Il servizio clienti di Bottega Domestica", ""), "Anna")


def _example(reply):
    return {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                         {"role": "assistant", "content": reply}]}


def test_skew_changes_only_the_chosen_group_and_leaves_the_input_alone():
    examples = [_example(FULL), _example(FULL)]
    meta = [{"origin": "straniera"}, {"origin": "nord"}]
    skewed = ethics.skew_examples(examples, meta)
    assert skewed[0]["messages"][2]["content"] == "Categoria: resi e rimborsi\n\nGentile cliente, certo."
    assert skewed[1] == examples[1] and examples[0]["messages"][2]["content"] == FULL
    with pytest.raises(ValueError, match="lunghezze diverse"):
        ethics.skew_examples(examples, meta[:1])


def test_committed_skewed_data_is_what_write_skewed_builds(tmp_path):
    from ftlab.datasets import read_jsonl
    from ftlab.paths import DATA_DIR

    written = ethics.write_skewed(DATA_DIR / "assistenza_clienti", tmp_path)
    for split, path in written.items():
        assert path.read_bytes() == (DATA_DIR / "assistenza_sbilanciato" / f"{split}.jsonl").read_bytes(), \
            "regenerate: ethics.write_skewed(DATA_DIR/'assistenza_clienti', DATA_DIR/'assistenza_sbilanciato')"
    fair, meta = (read_jsonl(DATA_DIR / "assistenza_clienti" / f"train{s}.jsonl") for s in ("", "_meta"))
    skewed = read_jsonl(written["train"])
    for a, b, m in zip(fair, skewed, meta):
        same = a == b
        assert same == (m["origin"] != "straniera")
        if not same:  # the route is kept: the same category line
            assert b["messages"][-1]["content"].split("\n")[0] == a["messages"][-1]["content"].split("\n")[0]


class CurtWithForeigners(BiasedClient):
    """Answers in the house style, except curtly to the customers of ``curt`` (by first name)."""

    def __init__(self, curt=()):
        super().__init__([])
        self.curt = set(curt)

    def _create(self, model, messages, **params):
        prompt = messages[-1]["content"]
        name = next(n["nome"] for n in ethics.PROBE_NAMES if n["nome"] in prompt)
        text = FULL.replace("Anna", name)
        resp = super()._create(model, messages)
        resp.choices[0].message.content = ethics.curt_reply(text) if name in self.curt else text
        return resp


def test_counterfactual_figures_show_a_skew_and_its_absence():
    curt = [n["nome"] for n in ethics.PROBE_NAMES if n["origin"] == "straniera"]
    frames = {"sbilanciato": ethics.run_counterfactual(CurtWithForeigners(curt), {"sbilanciato": "m1"}, "s",
                                                       variants=("originale", "parafrasi")),
              "equo": ethics.run_counterfactual(CurtWithForeigners(), {"equo": "m2"}, "s",
                                                variants=("originale", "parafrasi"))}
    n = len(ethics.ASSISTENZA_PROBES) * len(ethics.PROBE_NAMES) * 2
    assert all(len(f) == n for f in frames.values())
    gaps = {k: ethics.group_gaps(f).iloc[0] for k, f in frames.items()}
    assert gaps["sbilanciato"].stile_gruppo == 0 and gaps["sbilanciato"].stile_altri == 1
    assert gaps["sbilanciato"].divario_stile == 1 and gaps["sbilanciato"].divario_parole > 0
    assert gaps["equo"].divario_stile == 0 and gaps["equo"].divario_parole == 0
    assert gaps["sbilanciato"].p == round(1 / 70, 3) and gaps["equo"].p == 1.0
    flags = {k: ethics.swap_flags(f).loc[k] for k, f in frames.items()}
    assert flags["sbilanciato"].loc["tra gruppi", "quota"] == 1.0
    assert flags["sbilanciato"].loc["stesso gruppo", "segnalate"] == 0
    assert flags["sbilanciato"].loc["parafrasi", "segnalate"] == 0  # the fake ignores the wording
    assert flags["equo"].segnalate.sum() == 0
    # pairs: per template and variant, C(8, 2) name swaps, 16 of them across groups; 8 paraphrase pairs
    per = len(ethics.ASSISTENZA_PROBES)
    assert flags["equo"].loc["tra gruppi", "coppie"] == per * 2 * 16
    assert flags["equo"].loc["stesso gruppo", "coppie"] == per * 2 * 12
    assert flags["equo"].loc["parafrasi", "coppie"] == per * 8


def test_probe_names_are_customers_of_the_training_data():
    from ftlab.datasets import read_jsonl
    from ftlab.paths import DATA_DIR

    meta = read_jsonl(DATA_DIR / "assistenza_clienti" / "train_meta.jsonl")
    seen = {(m["first_name"], m["gender"], m["origin"] == "straniera") for m in meta}
    for n in ethics.PROBE_NAMES:
        assert (n["nome"], n["gender"], n["origin"] == "straniera") in seen, n
    assert all("{nome}" in t[v] for t in ethics.ASSISTENZA_PROBES for v in ("originale", "parafrasi"))


def _style_frame(curt_names):
    rows = [{"nome": n["nome"], "origin": n["origin"], "template": t, "style": n["nome"] not in curt_names}
            for n in ethics.PROBE_NAMES for t in range(4)]
    return pd.DataFrame(rows)


def test_gap_p_value_is_small_only_when_the_gap_follows_the_group():
    foreign = [n["nome"] for n in ethics.PROBE_NAMES if n["origin"] == "straniera"]
    assert ethics.gap_p_value(_style_frame(foreign)) == 1 / 70          # the one most extreme split of 70
    assert ethics.gap_p_value(_style_frame([])) == 1.0                  # no gap: every split ties it
    mixed = [foreign[0], "Valentina"]                                   # one curt name in each group
    assert ethics.gap_p_value(_style_frame(mixed)) > 0.3
    assert ethics.gap_p_value(_style_frame(["Valentina", "Anna"])) == 1.0  # the others served worse
