"""A scripted stand-in for a *paying* OpenAI backend, for tests that must not reach any server.

The official SDK talks to it through an ``httpx`` MockTransport at ``https://api.openai.com/v1``,
so ``ftlab.backend.is_sandbox(client)`` is False, and every request is recorded in ``requests``.
"""
from __future__ import annotations

import json
import sys
from urllib.parse import parse_qs

import openai

# The SDK's own httpx flavour (httpx in 1.x, httpx2 in 3.x): MockTransport must come from it.
httpx = sys.modules[openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0]]


def job_json(job_id, status="running", **extra):
    job = {"id": job_id, "object": "fine_tuning.job", "created_at": 1_700_000_000, "error": None,
           "fine_tuned_model": None, "finished_at": None, "model": "gpt-4.1-nano-2025-04-14",
           "hyperparameters": {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0},
           "organization_id": "org-test", "result_files": [], "seed": 42, "status": status,
           "trained_tokens": None, "training_file": "file-train", "validation_file": None}
    job.update(extra)
    return job


def event_json(n, message, kind="message", data=None):
    return {"id": f"ftevent-{n}", "object": "fine_tuning.job.event", "created_at": 1_700_000_000 + n,
            "level": "info", "message": message, "type": kind, "data": data or {}}


class FakeOpenAI:
    """Routes a few endpoints; ``script`` lists job states, one consumed per ``retrieve``."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        self.models = ["gpt-4.1-nano-2025-04-14", "gpt-4o-mini-2024-07-18", "dall-e-3",
                       "ft:gpt-4.1-nano-2025-04-14:org::abc", "ft:gpt-4.1-nano-2025-04-14:org::abc:ckpt-step-8"]
        self.files: dict[str, dict] = {}
        self.contents: dict[str, bytes] = {}
        self.jobs: dict[str, dict] = {}
        self.events: dict[str, list] = {}   # oldest first
        self.script: dict[str, list] = {}   # job id -> [(job fields, [new events])]
        self.client = openai.OpenAI(
            api_key="sk-test", base_url="https://api.openai.com/v1", max_retries=0,
            http_client=openai.DefaultHttpxClient(transport=httpx.MockTransport(self.handle)))

    def add_file(self, file_id, filename="train.jsonl", content=None, purpose="fine-tune"):
        self.files[file_id] = {"id": file_id, "object": "file", "bytes": len(content or b""),
                               "created_at": 1_700_000_000, "filename": filename, "purpose": purpose,
                               "status": "processed"}
        if content is not None:
            self.contents[file_id] = content

    def posted(self, path_start: str) -> list:
        return [p for m, p in self.requests if m == "POST" and p.startswith(path_start)]

    def handle(self, request):
        path = request.url.path.removeprefix("/v1")
        self.requests.append((request.method, path))
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        parts = path.strip("/").split("/")
        if parts == ["models"]:
            return httpx.Response(200, json={"object": "list", "data": [
                {"id": m, "object": "model", "created": 1, "owned_by": "system"} for m in self.models]})
        if parts == ["files"] and request.method == "GET":
            data = [f for f in self.files.values() if f["purpose"] == query.get("purpose", f["purpose"])]
            return httpx.Response(200, json={"object": "list", "data": data, "has_more": False})
        if parts[0] == "files" and len(parts) >= 2:
            if parts[1] not in self.files:
                return self.error(404, f"No such File object: {parts[1]}")
            if len(parts) == 3:
                if parts[1] not in self.contents:
                    return self.error(400, "Not allowed to download files of purpose: fine-tune")
                return httpx.Response(200, content=self.contents[parts[1]])
            return httpx.Response(200, json=self.files[parts[1]])
        if parts[:2] == ["fine_tuning", "jobs"]:
            return self.jobs_route(request, parts[2:], query)
        return self.error(404, "not routed in FakeOpenAI")

    def jobs_route(self, request, rest, query):
        if not rest:
            if request.method == "POST":
                body = json.loads(request.content)
                job = job_json("ftjob-new", "validating_files", training_file=body["training_file"])
                self.jobs[job["id"]], self.last_body = job, body
                return httpx.Response(200, json=job)
            data = list(reversed(self.jobs.values()))
            return httpx.Response(200, json={"object": "list", "data": data, "has_more": False})
        job_id = rest[0]
        if job_id not in self.jobs:
            return self.error(404, f"Job {job_id} not found")
        if len(rest) == 2 and rest[1] == "events":
            return self.list_events(job_id, query)
        if len(rest) == 2:  # cancel / pause / resume
            self.jobs[job_id]["status"] = {"cancel": "cancelled", "pause": "paused",
                                           "resume": "queued"}[rest[1]]
            return httpx.Response(200, json=self.jobs[job_id])
        if self.script.get(job_id):
            fields, new = self.script[job_id].pop(0)
            self.jobs[job_id].update(fields)
            self.events.setdefault(job_id, []).extend(new)
        return httpx.Response(200, json=self.jobs[job_id])

    def list_events(self, job_id, query):
        newest_first = list(reversed(self.events.get(job_id, [])))
        if "after" in query:  # the page after an event id holds older events
            ids = [e["id"] for e in newest_first]
            newest_first = newest_first[ids.index(query["after"]) + 1:]
        limit = int(query.get("limit", 20))
        page = newest_first[:limit]
        return httpx.Response(200, json={"object": "list", "data": page,
                                         "has_more": len(newest_first) > limit})

    @staticmethod
    def error(status, message):
        return httpx.Response(status, json={"error": {"message": message, "type": "invalid_request_error",
                                                      "param": None, "code": None}})
