"""The class server with its workers: a real (tiny) training by one student, whose fine-tuned model,
checkpoints, result file and stored responses stay invisible to a classmate (404, OpenAI's body);
two students training at once; kill -9 of a worker or of the server mid-training."""
from __future__ import annotations

import os
import signal
import time

import openai
import pytest

from ftlab.sandbox import control
from ftlab.sandbox.roster import Roster
from sandbox_helpers import TERMINAL, chat_example, wait_for, worker_pid, write_jsonl

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
        done = wait_for(anna, job.id, TERMINAL, timeout=1800)
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
            if all(j.status in TERMINAL for j in now.values()):
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


def _submit(clients, path, epochs: int) -> dict:
    jobs = {}
    for name, client in clients.items():
        with open(path, "rb") as f:
            train = client.files.create(file=f, purpose="fine-tune")
        jobs[name] = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train.id, seed=3,
                                                    hyperparameters={"n_epochs": epochs, "batch_size": 1}).id
    return jobs


def _wait_all_training(clients, jobs, timeout=600):
    """Until every job is running and has logged its first step (so a kill lands mid-training)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(any(e.message.startswith("Step 1/") for e in clients[n].fine_tuning.jobs.list_events(j, limit=100))
               for n, j in jobs.items()):
            return
        time.sleep(0.5)
    raise AssertionError("the jobs did not all start training")


@pytest.mark.training
def test_kill_9_of_a_class_worker_or_of_the_server_mid_training_ends_every_job_definitely(tmp_path):
    home = tmp_path / "home"
    keys = dict(Roster(home).add(["Anna", "Bruno", "Carla", "Dora"]))
    env = {"FTLAB_WORKERS": "2"}
    path = write_jsonl(tmp_path / "train.jsonl", [chat_example(i) for i in range(10)])
    try:
        url = control.start(home, class_mode=True, env=env)["base_url"]
        clients = {n: openai.OpenAI(base_url=url, api_key=k, max_retries=0) for n, k in keys.items()}

        # 1. a worker dies hard: its job fails with a reason, the other student's job is untouched
        first = {n: clients[n] for n in ("Anna", "Bruno")}
        jobs = _submit(first, path, epochs=20)
        _wait_all_training(first, jobs)
        os.kill(worker_pid(home, 1), signal.SIGKILL)
        ended = {n: wait_for(first[n], j, TERMINAL, timeout=900) for n, j in jobs.items()}
        assert sorted(j.status for j in ended.values()) == ["failed", "succeeded"], ended
        failed = next(j for j in ended.values() if j.status == "failed")
        assert failed.error.code == "training_interrupted"
        assert all(keys[n] not in (j.error.message if j.error else "") for n, j in ended.items())

        # 2. the server dies hard while two jobs train: after a restart both resume and finish
        second = {n: clients[n] for n in ("Carla", "Dora")}
        jobs = _submit(second, path, epochs=4)   # the restarted slot takes work again
        _wait_all_training(second, jobs)
        os.kill(control.status(home)["pid"], signal.SIGKILL)
        url = control.start(home, class_mode=True, env=env)["base_url"]
        again = {n: openai.OpenAI(base_url=url, api_key=keys[n], max_retries=0) for n in second}
        for name, job_id in jobs.items():
            done = wait_for(again[name], job_id, TERMINAL, timeout=900)
            assert done.status == "succeeded", done.error
            messages = [e.message for e in again[name].fine_tuning.jobs.list_events(job_id, limit=100)]
            assert any(m.startswith("The sandbox stopped at step") for m in messages), messages
        # nothing was lost: every student still has exactly their file(s) and job
        for name in keys:
            client = openai.OpenAI(base_url=url, api_key=keys[name], max_retries=0)
            assert len(client.fine_tuning.jobs.list().data) == 1
    finally:
        control.stop(home)
