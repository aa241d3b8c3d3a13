"""The class server with its worker: a real (tiny) training by one student, whose fine-tuned model,
checkpoints, result file and stored responses stay invisible to a classmate (404, OpenAI's body)."""
from __future__ import annotations

import time

import openai
import pytest

from ftlab.sandbox import control
from ftlab.sandbox.roster import Roster
from sandbox_helpers import chat_example, wait_for, write_jsonl

PROMPT = [{"role": "user", "content": "Domanda numero 3?"}]


def _not_found(call) -> dict:
    with pytest.raises(openai.NotFoundError) as exc:
        call()
    body = exc.value.response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    return body


@pytest.mark.training
def test_a_students_trained_model_is_theirs_alone(tmp_path):
    home = tmp_path / "home"
    roster = Roster(home)
    keys = dict(roster.add(["Anna", "Bruno"]))
    keys["instructor"] = roster.instructor()
    try:
        url = control.start(home, class_mode=True)["base_url"]
        anna, bruno, boss = (openai.OpenAI(base_url=url, api_key=keys[n], max_retries=0)
                             for n in ("Anna", "Bruno", "instructor"))
        path = write_jsonl(tmp_path / "train.jsonl", [chat_example(i, "Pappagallo verde.") for i in range(10)])
        with open(path, "rb") as f:
            train = anna.files.create(file=f, purpose="fine-tune")
        job = anna.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train.id, seed=1,
                                           hyperparameters={"n_epochs": 2, "batch_size": 5})
        done = wait_for(anna, job.id, ("succeeded", "failed", "cancelled"), timeout=1800)
        assert done.status == "succeeded", done.error
        model = done.fine_tuned_model
        ckpt = anna.fine_tuning.jobs.checkpoints.list(job.id).data[-1].fine_tuned_model_checkpoint
        result = done.result_files[0]
        answer = anna.responses.create(model=model, input="Domanda numero 3?", max_output_tokens=16, store=True)

        # Anna has it all
        assert model in {m.id for m in anna.models.list()}
        assert anna.files.retrieve(result).purpose == "fine-tune-results"
        assert anna.chat.completions.create(model=ckpt, messages=PROMPT, max_tokens=2).usage.completion_tokens > 0
        assert anna.responses.retrieve(answer.id).id == answer.id

        # Bruno sees none of it, and cannot tell it exists
        assert model not in {m.id for m in bruno.models.list()}
        assert result not in {f.id for f in bruno.files.list()}
        assert _not_found(lambda: bruno.models.retrieve(model))["code"] == "model_not_found"
        _not_found(lambda: bruno.models.delete(model))
        for name in (model, ckpt):
            assert _not_found(lambda: bruno.chat.completions.create(model=name, messages=PROMPT,
                                                                    max_tokens=2))["code"] == "model_not_found"
        _not_found(lambda: bruno.files.content(result))
        _not_found(lambda: bruno.responses.retrieve(answer.id))
        _not_found(lambda: bruno.responses.create(model="gpt-4.1-nano", input="ciao", max_output_tokens=16,
                                                  previous_response_id=answer.id))
        _not_found(lambda: bruno.responses.delete(answer.id))

        # the instructor sees every student's models; the job ran under Anna's project
        assert model in {m.id for m in boss.models.list()}
        assert anna.models.retrieve(model).id == model
    finally:
        control.stop(home)


@pytest.mark.training
def test_two_workers_train_two_students_at_once_and_the_third_job_waits_its_turn(tmp_path):
    home = tmp_path / "home"
    keys = dict(Roster(home).add(["Anna", "Bruno", "Carla"]))
    try:
        url = control.start(home, class_mode=True, env={"FTLAB_WORKERS": "2"})["base_url"]
        clients = {n: openai.OpenAI(base_url=url, api_key=k, max_retries=0) for n, k in keys.items()}
        path = write_jsonl(tmp_path / "train.jsonl", [chat_example(i) for i in range(10)])
        jobs = {}
        for name, client in clients.items():
            with open(path, "rb") as f:
                train = client.files.create(file=f, purpose="fine-tune")
            jobs[name] = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train.id,
                                                        hyperparameters={"n_epochs": 1, "batch_size": 5}).id
        most_at_once, waiting_estimates = 0, []
        while True:   # until every job has ended (polled twice a second, well under the class's RPM)
            now = {n: clients[n].fine_tuning.jobs.retrieve(j) for n, j in jobs.items()}
            most_at_once = max(most_at_once, sum(j.status == "running" for j in now.values()))
            waiting_estimates += [j.estimated_finish for j in now.values() if j.status == "queued"]
            if all(j.status in ("succeeded", "failed", "cancelled") for j in now.values()):
                break
            time.sleep(0.5)
        assert all(j.status == "succeeded" for j in now.values()), {n: j.error for n, j in now.items()}
        assert most_at_once == 2
        assert waiting_estimates and all(e is not None for e in waiting_estimates)
        events = {n: [e.message for e in clients[n].fine_tuning.jobs.list_events(j, limit=100)]
                  for n, j in jobs.items()}
        queued = [m for ms in events.values() for m in ms if m.startswith("Job queued at position")]
        assert len(queued) == 3 and all("in the class queue; estimated finish" in m for m in queued)
        assert all("Fine-tuning job started" in ms for ms in events.values())
    finally:
        control.stop(home)
