"""The job form driven headlessly (``.value = …``, ``.click()``) against a scripted paying backend."""
from __future__ import annotations

import json

import pytest

from ftlab.widgets.job_form import JobForm
from fakes import FakeOpenAI


def jsonl(start, n):
    rows = [{"messages": [{"role": "user", "content": f"Somma da 1 a {i}"},
                          {"role": "assistant", "content": f"print(sum(range(1, {i + 1})))"}]}
            for i in range(start, start + n)]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.fixture
def fake():
    fake = FakeOpenAI()
    fake.add_file("file-train", "train.jsonl", jsonl(0, 12))
    fake.add_file("file-valid", "valid.jsonl", jsonl(100, 5))
    fake.add_file("file-batch", "batch.jsonl", b"{}\n", purpose="batch")
    return fake


def test_models_and_files_come_from_the_backend(fake):
    form = JobForm(fake.client)
    assert list(form.model.options) == ["ft:gpt-4.1-nano-2025-04-14:org::abc",
                                        "gpt-4.1-nano-2025-04-14", "gpt-4o-mini-2024-07-18"]
    assert form.model.value == "gpt-4.1-nano-2025-04-14"
    assert [v for _, v in form.training_file.options] == ["file-train", "file-valid"]
    assert [v for _, v in form.validation_file.options] == [None, "file-train", "file-valid"]
    assert form.confirm.layout.display == ""  # a paying backend shows the confirmation box


def test_estimate_follows_epochs(fake):
    form = JobForm(fake.client)
    assert "12 esempi × 8 epoche" in form.estimate.value  # auto for 12 examples
    form.n_epochs.auto.value = False
    assert not form.n_epochs.number.disabled
    form.n_epochs.number.value = 2
    assert "12 esempi × 2 epoche" in form.estimate.value
    form.n_epochs.number.value = 99  # the field keeps OpenAI's range
    assert form.n_epochs.number.value == 50


def test_avvia_without_confirmation_sends_nothing(fake):
    form = JobForm(fake.client)
    form.button.click()
    assert "NON inviato" in form.result.value and form.job is None
    assert fake.posted("/fine_tuning/jobs") == []


def test_avvia_creates_the_job_and_shows_its_id(fake):
    form = JobForm(fake.client)
    form.validation_file.value = "file-valid"
    form.n_epochs.auto.value = False
    form.n_epochs.number.value = 2
    form.suffix.value = "converti-python"
    form.seed.value = "7"
    form.confirm.value = True
    form.button.click()
    assert form.job.id == "ftjob-new" and "ftjob-new" in form.result.value
    assert fake.last_body["method"]["supervised"]["hyperparameters"] == {
        "n_epochs": 2, "batch_size": "auto", "learning_rate_multiplier": "auto"}
    assert fake.last_body["validation_file"] == "file-valid"
    assert fake.last_body["suffix"] == "converti-python" and fake.last_body["seed"] == 7


@pytest.mark.parametrize("field, value, message", [
    ("validation_file", "file-train", "identico"),
    ("seed", "abc", "intero"),
    ("suffix", "x" * 65, "64 caratteri"),
])
def test_bad_choices_show_a_clear_error_and_create_nothing(fake, field, value, message):
    form = JobForm(fake.client)
    form.confirm.value = True
    getattr(form, field).value = value
    form.submit()
    assert message in form.result.value and form.job is None
    assert fake.posted("/fine_tuning/jobs") == []


def test_hyperparameters_default_to_auto(fake):
    form = JobForm(fake.client)
    assert form.hyperparameters() == {"n_epochs": "auto", "batch_size": "auto",
                                      "learning_rate_multiplier": "auto"}
    form.learning_rate_multiplier.auto.value = False
    form.learning_rate_multiplier.number.value = 0.5
    assert form.hyperparameters()["learning_rate_multiplier"] == 0.5


def test_reload_keeps_the_choices_and_shows_new_uploads(fake):
    form = JobForm(fake.client)
    form.training_file.value = "file-valid"
    form.validation_file.value = "file-train"
    fake.add_file("file-new", "nuovo.jsonl", jsonl(200, 10))
    form.reload.click()
    assert "file-new" in [v for _, v in form.training_file.options]
    assert (form.training_file.value, form.validation_file.value) == ("file-valid", "file-train")
