"""One scripted OpenAI backend for the tests that must not reach any server.

The official SDK talks to it through an ``httpx`` MockTransport, so the code under test makes
real SDK calls. Every JSON body it answers with is first checked against the SDK's own types
(``FineTuningJob``, ``FileObject``, ``ChatCompletion`` …) with no field the SDK does not know:
a fake that drifts from OpenAI's shapes fails the test that uses it.

``FakeOpenAI()`` is a *paying* backend at https://api.openai.com/v1 (``is_sandbox`` is False);
pass ``base_url`` for another one. ``answer(model, messages)`` makes chat completions: return a
text, or a ``Refusal(status, code)`` for an API error.
"""
from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs

import openai
import pydantic
from openai.types import FileDeleted, FileObject, Model
from openai.types.chat import ChatCompletion
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

# The SDK's own httpx flavour (httpx in 1.x, httpx2 in 3.x): MockTransport must come from it.
httpx = sys.modules[openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0]]


def checked(cls, data: dict) -> dict:
    """``data``, once it parses as the SDK's ``cls`` with no field the SDK does not know."""
    shown = data
    if cls is FineTuningJob and data.get("status") == "paused":
        # jobs.pause() answers "paused", a status the OpenAPI spec and the SDK's Literal omit
        shown = dict(data, status="running")
    _no_extra(cls.model_validate(shown), cls.__name__)
    return data


def _no_extra(value, where: str) -> None:
    if isinstance(value, pydantic.BaseModel):
        extra = value.model_extra or {}
        assert not extra, f"{where}: fields the SDK does not know: {sorted(extra)}"
        for name in type(value).model_fields:
            _no_extra(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for k, item in enumerate(value):
            _no_extra(item, f"{where}[{k}]")


def job_json(job_id, status="running", **extra):
    job = {"id": job_id, "object": "fine_tuning.job", "created_at": 1_700_000_000, "error": None,
           "fine_tuned_model": None, "finished_at": None, "model": "gpt-4.1-nano-2025-04-14",
           "hyperparameters": {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0},
           "organization_id": "org-test", "result_files": [], "seed": 42, "status": status,
           "trained_tokens": None, "training_file": "file-train", "validation_file": None}
    job.update(extra)
    return checked(FineTuningJob, job)


def event_json(n, message, kind="message", data=None):
    return checked(FineTuningJobEvent, {
        "id": f"ftevent-{n}", "object": "fine_tuning.job.event", "created_at": 1_700_000_000 + n,
        "level": "info", "message": message, "type": kind, "data": data or {}})


def file_json(file_id, filename="train.jsonl", size=0, purpose="fine-tune", status="processed"):
    return checked(FileObject, {"id": file_id, "object": "file", "bytes": size, "created_at": 1_700_000_000,
                                "filename": filename, "purpose": purpose, "status": status})


def completion_json(model, text="ok", prompt_tokens=20):
    return checked(ChatCompletion, {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()),
                  "total_tokens": prompt_tokens + len(text.split())}})


@dataclass
class Refusal:
    """What ``answer`` returns for an API error instead of a text."""
    status: int
    code: str
    message: str = ""  # empty: the code


class FakeOpenAI:
    """Routes models, files, fine-tuning jobs and chat completions; records every request.

    ``script`` lists job states, one consumed per ``jobs.retrieve``.
    """

    def __init__(self, *, answer=None, base_url="https://api.openai.com/v1", max_retries=0):
        self.requests: list[tuple[str, str]] = []
        self.models = ["gpt-4.1-nano-2025-04-14", "gpt-4o-mini-2024-07-18", "dall-e-3",
                       "ft:gpt-4.1-nano-2025-04-14:org::abc", "ft:gpt-4.1-nano-2025-04-14:org::abc:ckpt-step-8"]
        self.files: dict[str, dict] = {}
        self.contents: dict[str, bytes] = {}
        self.jobs: dict[str, dict] = {}
        self.events: dict[str, list] = {}   # oldest first
        self.script: dict[str, list] = {}   # job id -> [(job fields, [new events])]
        self.answer = answer
        self.calls = 0                      # chat completions answered
        self.last_body: dict | None = None
        self._lock = threading.Lock()       # evaluation sends requests from several threads
        self.client = openai.OpenAI(
            api_key="sk-test", base_url=base_url, max_retries=max_retries,
            http_client=openai.DefaultHttpxClient(transport=httpx.MockTransport(self.handle)))

    def add_file(self, file_id, filename="train.jsonl", content=None, purpose="fine-tune"):
        self.files[file_id] = file_json(file_id, filename, len(content or b""), purpose)
        if content is not None:
            self.contents[file_id] = content

    def posted(self, path_start: str) -> list:
        return [p for m, p in self.requests if m == "POST" and p.startswith(path_start)]

    def handle(self, request):
        path = request.url.path.removeprefix("/v1")
        with self._lock:
            self.requests.append((request.method, path))
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        parts = path.strip("/").split("/")
        if parts == ["models"]:
            return self.page([checked(Model, {"id": m, "object": "model", "created": 1, "owned_by": "system"})
                              for m in self.models])
        if parts == ["chat", "completions"]:
            return self.chat(json.loads(request.content))
        if parts[0] == "files":
            return self.files_route(request, parts[1:], query)
        if parts[:2] == ["fine_tuning", "jobs"]:
            return self.jobs_route(request, parts[2:], query)
        return self.error(404, "not routed in FakeOpenAI")

    def chat(self, body):
        with self._lock:
            self.calls += 1
        text = self.answer(body["model"], body["messages"])
        if isinstance(text, Refusal):
            return self.error(text.status, text.message or text.code, text.code)
        return httpx.Response(200, json=completion_json(body["model"], text))

    def files_route(self, request, rest, query):
        if not rest and request.method == "POST":
            file_id = f"file-{len(self.files) + 1}"
            name, content = _multipart_file(request)
            self.add_file(file_id, name)  # not downloadable, as on OpenAI
            return httpx.Response(200, json=self.files[file_id])
        if not rest:
            return self.page([f for f in self.files.values() if f["purpose"] == query.get("purpose", f["purpose"])])
        if rest[0] not in self.files:
            return self.error(404, f"No such File object: {rest[0]}")
        if request.method == "DELETE":
            self.files.pop(rest[0])
            return httpx.Response(200, json=checked(FileDeleted, {"id": rest[0], "object": "file", "deleted": True}))
        if len(rest) == 2:  # content
            if rest[0] not in self.contents:  # as OpenAI does for purpose fine-tune
                return self.error(400, "Not allowed to download files of purpose: fine-tune")
            return httpx.Response(200, content=self.contents[rest[0]])
        return httpx.Response(200, json=self.files[rest[0]])

    def jobs_route(self, request, rest, query):
        if not rest:
            if request.method == "POST":
                body = json.loads(request.content)
                job = job_json("ftjob-new", "validating_files", training_file=body["training_file"])
                self.jobs[job["id"]], self.last_body = job, body
                return httpx.Response(200, json=job)
            return self.page(list(reversed(self.jobs.values())))
        job_id = rest[0]
        if job_id not in self.jobs:
            return self.error(404, f"Job {job_id} not found")
        if len(rest) == 2 and rest[1] == "events":
            return self.list_events(job_id, query)
        if len(rest) == 2:  # cancel / pause / resume
            self.jobs[job_id]["status"] = {"cancel": "cancelled", "pause": "paused",
                                           "resume": "queued"}[rest[1]]
            return httpx.Response(200, json=checked(FineTuningJob, self.jobs[job_id]))
        if self.script.get(job_id):
            fields, new = self.script[job_id].pop(0)
            self.jobs[job_id].update(fields)
            self.events.setdefault(job_id, []).extend(new)
        return httpx.Response(200, json=checked(FineTuningJob, self.jobs[job_id]))

    def list_events(self, job_id, query):
        newest_first = list(reversed(self.events.get(job_id, [])))
        if "after" in query:  # the page after an event id holds older events
            ids = [e["id"] for e in newest_first]
            newest_first = newest_first[ids.index(query["after"]) + 1:]
        limit = int(query.get("limit", 20))
        return self.page(newest_first[:limit], has_more=len(newest_first) > limit)

    @staticmethod
    def page(data, has_more=False):
        return httpx.Response(200, json={"object": "list", "data": data, "has_more": has_more})

    @staticmethod
    def error(status, message, code=None):
        return httpx.Response(status, json={"error": {"message": message, "type": "invalid_request_error",
                                                      "param": None, "code": code}})


def _multipart_file(request) -> tuple[str, bytes]:
    """The uploaded file's name and bytes from a multipart/form-data request."""
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.read())
    for part in message.iter_parts():
        if part.get_filename():
            return part.get_filename(), part.get_payload(decode=True)
    raise AssertionError("no file in the upload")
