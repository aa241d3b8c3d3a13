"""Registry round trips, naming conventions, import from a backend, and the fallback router
under injected errors (the real SDK over tests/fakes.py)."""
from __future__ import annotations

import hashlib

import openai
import pytest

from fakes import FakeOpenAI, Refusal, job_json
from ftlab.registry import (Registry, Router, make_suffix, parse_model_name, parse_suffix,
                            suffix_problems)

BASE = "gpt-4.1-nano-2025-04-14"
V1 = f"ft:{BASE}:ftlab:converti-python-v1:AAA111"
V2 = f"ft:{BASE}:ftlab:converti-python-v2:BBB222"
V3 = f"ft:{BASE}:ftlab:converti-python-v3:CCC333"


@pytest.fixture
def reg(tmp_path):
    return Registry(tmp_path / "reg.sqlite")


def test_naming_conventions():
    assert make_suffix("Converti Python", 2) == "converti-python-v2"
    assert parse_suffix("converti-python-v12") == ("converti-python", 12)
    assert parse_suffix("converti-python") == ("converti-python", None)
    assert suffix_problems("converti-python-v1") == []
    assert len(suffix_problems("Converti_Python")) == 2
    with pytest.raises(ValueError):
        make_suffix("x" * 70, 1)
    parts = parse_model_name(V2 + ":ckpt-step-30")
    assert (parts["base"], parts["suffix"], parts["id"], parts["checkpoint_step"]) == (BASE, "converti-python-v2", "BBB222", 30)
    assert parse_model_name(f"ft:{BASE}:org::XYZ")["suffix"] is None
    assert parse_model_name(BASE)["base"] == BASE


def test_register_round_trip_with_dataset_hash(reg, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"messages": []}\n')
    reg.register(V1, job_id="ftjob-1", dataset_path=data, hyperparameters={"n_epochs": 3},
                 metrics={"passes": 0.4}, tags=["python"], notes="prima versione")
    again = Registry(reg.path).get(V1)  # a fresh object reads the same file
    assert again.base_model == BASE and again.task == "converti-python" and again.version == 1
    assert again.dataset_sha256 == hashlib.sha256(data.read_bytes()).hexdigest()
    assert again.hyperparameters == {"n_epochs": 3} and again.metrics == {"passes": 0.4}
    assert again.stage == "candidate" and again.created_at and again.notes == "prima versione"
    reg.register(V1, metrics={"format_ok": 0.9}, tags=["valutato"])
    merged = reg.get(V1)
    assert merged.metrics == {"passes": 0.4, "format_ok": 0.9} and merged.tags == ["python", "valutato"]
    assert merged.job_id == "ftjob-1"
    with pytest.raises(KeyError):
        reg.get("nessuno")


def test_filters_and_compare(reg):
    reg.register(V1, hyperparameters={"n_epochs": 3}, metrics={"passes": 0.4}, tags=["python"])
    reg.register(V2, hyperparameters={"n_epochs": 5}, metrics={"passes": 0.6})
    reg.register("ft:gpt-4o-mini-2024-07-18:ftlab:assistenza-v1:DDD", tags=["clienti"])
    assert {m.model_id for m in reg.list(task="converti-python")} == {V1, V2}
    assert [m.model_id for m in reg.list(tag="clienti")] == ["ft:gpt-4o-mini-2024-07-18:ftlab:assistenza-v1:DDD"]
    assert [m.model_id for m in reg.list(base_model="gpt-4o-mini-2024-07-18")] == ["ft:gpt-4o-mini-2024-07-18:ftlab:assistenza-v1:DDD"]
    assert [m.model_id for m in reg.list(search="AAA111")] == [V1]
    table = reg.compare(V1, V2)
    assert list(table.columns) == [V1, V2]
    assert table.loc["hp.n_epochs"].tolist() == [3, 5] and table.loc["metric.passes"].tolist() == [0.4, 0.6]
    assert len(reg.frame()) == 3


def test_promote_archive_rollback(reg):
    for m in (V1, V2, V3):
        reg.register(m)
    reg.promote(V1)
    reg.promote(V2)  # V1 is archived automatically: one production version per task
    assert reg.production("converti-python").model_id == V2 and reg.get(V1).stage == "archived"
    back = reg.rollback("converti-python")
    assert back.model_id == V1 and reg.get(V2).stage == "archived"
    reg.archive(V3)
    hist = reg.history()
    assert hist.new_stage.tolist().count("production") == 3
    assert reg.history(V2).new_stage.tolist() == ["candidate", "production", "archived"]
    with pytest.raises(ValueError):
        reg.set_stage(V1, "staging")


def test_rollback_without_previous_version_fails(reg):
    reg.register(V1)
    reg.promote(V1)
    with pytest.raises(LookupError):
        reg.rollback()


# ----------------------------------------------------------------------------- fake backend
class Backend(FakeOpenAI):
    """Chat completions where some models are retired (404) and some always fail (500)."""

    def __init__(self, retired=(), broken=()):
        self.retired, self.broken, self.asked = set(retired), set(broken), []
        super().__init__(answer=self.reply, base_url="http://fake.test/v1", max_retries=3)

    def reply(self, model, messages):
        self.asked.append(model)
        if model in self.retired:
            return Refusal(404, "model_not_found", f"The model {model} does not exist")
        if model in self.broken:
            return Refusal(500, "server_error")
        if model == "bad-request":
            return Refusal(400, "invalid_value")
        return f"risposta di {model}"


MSG = [{"role": "user", "content": "ciao"}]


def test_router_uses_primary_when_healthy():
    backend = Backend()
    router = Router(backend.client, V2, [V1, BASE])
    assert router.chat(MSG).choices[0].message.content == f"risposta di {V2}"
    assert router.log[-1]["answered_by"] == V2 and not router.log[-1]["fallback"]


def test_router_falls_back_on_retired_and_broken_models():
    backend = Backend(retired={V2}, broken={V1})
    router = Router(backend.client, V2, [V1, BASE])
    resp = router.chat(MSG, temperature=0)
    assert resp.model == BASE
    # no client-side retries: each model is tried once (max_retries=0 inside the router)
    assert backend.asked == [V2, V1, BASE]
    entry = router.log[-1]
    assert entry["fallback"] and entry["answered_by"] == BASE
    assert [e["model"] for e in entry["errors"]] == [V2, V1]
    assert "NotFoundError" in entry["errors"][0]["error"] and "model_not_found" in entry["errors"][0]["error"]


def test_router_raises_when_every_model_fails_and_logs_it():
    router = Router(Backend(retired={V1, V2}).client, V2, [V1])
    with pytest.raises(RuntimeError, match="Nessun modello"):
        router.chat(MSG)
    assert router.log[-1]["answered_by"] is None
    assert router.stats().to_dict() == {None: 1}


def test_router_does_not_fall_back_on_bad_requests():
    backend = Backend()
    router = Router(backend.client, "bad-request", [V1])
    with pytest.raises(openai.BadRequestError):
        router.chat(MSG)
    assert backend.asked == ["bad-request"]


def test_router_traffic_split_is_roughly_proportional_and_logged():
    router = Router(Backend().client, V2, [BASE], split=(V3, 0.3), seed=7)
    for _ in range(200):
        router.chat(MSG)
    counts = router.stats()
    assert 40 <= counts[V3] <= 80 and counts[V2] == 200 - counts[V3]
    assert set(router.log_frame().variant) == {"primary", "split"}


def test_router_from_registry(reg):
    for m in (V1, V2):
        reg.register(m)
    reg.promote(V1)
    reg.promote(V2)
    router = Router.from_registry(Backend(retired={V2}).client, reg, "converti-python")
    assert router.chain == [V2, V1, BASE]
    assert router.chat(MSG).model == V1


def test_import_from_backend(reg):
    hp = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0}
    backend = FakeOpenAI()
    backend.jobs = {
        "ftjob-bad": job_json("ftjob-bad", "failed", model=BASE, finished_at=2, trained_tokens=1234,
                              training_file="file-1"),
        "ftjob-abc": job_json("ftjob-abc", "succeeded", model=BASE, fine_tuned_model=V1, finished_at=2,
                              trained_tokens=1234, training_file="file-1", hyperparameters=hp,
                              method={"type": "supervised", "supervised": {"hyperparameters": hp}}),
    }
    backend.models = [BASE, V1, V3, V1 + ":ckpt-step-10"]

    imported = reg.import_from_backend(backend.client)
    assert {m.model_id for m in imported} == {V1, V3}
    v1 = reg.get(V1)
    assert v1.job_id == "ftjob-abc" and v1.hyperparameters["n_epochs"] == 3
    assert v1.metrics == {"trained_tokens": 1234} and "importato" in v1.tags
    assert reg.get(V3).base_model == BASE
