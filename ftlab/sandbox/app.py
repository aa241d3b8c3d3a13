"""The sandbox's HTTP API: FastAPI routes that translate OpenAI's REST calls to the store.

Routes stay thin: requests are checked in ``schemas``, state lives in ``store``, training runs in
the worker process (``worker``), generation in ``inference``. Every call needs the data dir's
bearer token; every error comes back in OpenAI's envelope (``errors``).
"""
from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import Response, StreamingResponse

from . import errors, schemas
from .errors import APIError, bad_request, not_found
from .store import PageError, Store, TooLarge



def _page(data: list[dict], has_more: bool) -> dict:
    return {"object": "list", "data": data, "has_more": has_more,
            "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}


def _limit(limit: int, hi: int = 10_000) -> int:
    if not 1 <= limit <= hi:
        raise bad_request(f"Invalid 'limit': expected an integer between 1 and {hi}.", "limit", "invalid_value")
    return limit


def _paged(fn, **kw):
    try:
        return fn(**kw)
    except PageError as exc:
        raise bad_request(f"Invalid 'after': no object with id '{exc}' in this list.", "after", "invalid_value")


class Generator:
    """Loads the inference engine on first use (one model in memory; its batcher decodes concurrent
    calls together)."""

    def __init__(self):
        self._engine = None
        self._lock = threading.Lock()

    def engine(self):
        with self._lock:
            if self._engine is None:
                from .inference import Engine
                self._engine = Engine()
        return self._engine


def create_app(data_dir: str | Path, token: str, *, max_file_bytes: int = schemas.MAX_FILE_BYTES,
               run_worker: bool = True) -> FastAPI:
    store = Store(data_dir)
    generator = Generator()

    @asynccontextmanager
    async def lifespan(app):
        supervisor = None
        if run_worker:
            from .worker import Supervisor
            supervisor = Supervisor(store.dir)
            supervisor.start()
        app.state.supervisor = supervisor
        yield
        if supervisor:
            supervisor.stop()

    app = FastAPI(title="ftlab sandbox", lifespan=lifespan, docs_url=None, redoc_url=None)
    errors.install(app)

    @app.middleware("http")
    async def require_token(request: Request, call_next):
        sent = request.headers.get("authorization", "")
        if not (sent.startswith("Bearer ") and secrets.compare_digest(sent[7:].encode(), token.encode())):
            return errors.unauthorized()
        # refuse an oversized upload before its body is spooled to disk (multipart adds ~1 KB)
        if int(request.headers.get("content-length") or 0) > max_file_bytes + 65_536:
            return errors.response(APIError(413, f"File is too large: the limit is {max_file_bytes // 2**20} MB.",
                                            param="file", code="file_too_large"))
        return await call_next(request)

    @app.get("/health")
    def health():
        sup = app.state.supervisor
        return {"status": "ok", "backend": "sandbox", "underneath": schemas.underneath(),
                "pid": os.getpid(), "worker_alive": bool(sup and sup.alive())}

    # -- files -----------------------------------------------------------------------------------
    def file_or_404(file_id: str) -> dict:
        f = store.get_file(file_id)
        if f is None:
            raise not_found(f"No such File object: {file_id}", "id", "file_not_found")
        return f

    @app.post("/v1/files")
    def create_file(request: Request, file: UploadFile = File(...), purpose: str = Form(...)):
        if purpose not in schemas.UPLOAD_PURPOSES:
            raise bad_request(f"Invalid value for 'purpose': '{purpose}'. Supported: "
                              f"{', '.join(schemas.UPLOAD_PURPOSES)}.", "purpose", "invalid_value")
        if purpose == "fine-tune" and not (file.filename or "").lower().endswith(".jsonl"):
            raise bad_request("Invalid file format for Fine-Tuning API. Must be .jsonl", "file", "invalid_file_format")
        try:
            return store.add_file(file.file, file.filename, purpose, max_bytes=max_file_bytes)
        except TooLarge:
            raise APIError(413, f"File is too large: the limit is {max_file_bytes // 2**20} MB.",
                           param="file", code="file_too_large")

    @app.get("/v1/files")
    def list_files(purpose: str | None = None, limit: int = 10_000, after: str | None = None,
                   order: str = "desc"):
        if order not in ("asc", "desc"):
            raise bad_request("Invalid 'order': expected 'asc' or 'desc'.", "order", "invalid_value")
        return _page(*_paged(store.list_files, purpose=purpose, after=after, limit=_limit(limit), order=order))

    @app.get("/v1/files/{file_id}")
    def retrieve_file(file_id: str):
        return file_or_404(file_id)

    @app.delete("/v1/files/{file_id}")
    def delete_file(file_id: str):
        file_or_404(file_id)
        store.delete_file(file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    @app.get("/v1/files/{file_id}/content")
    def file_content(file_id: str):
        file_or_404(file_id)
        return Response(store.file_path(file_id).read_bytes(), media_type="application/octet-stream")

    # -- fine-tuning jobs ------------------------------------------------------------------------
    def job_or_404(job_id: str) -> dict:
        job = store.get_job(job_id)
        if job is None:
            raise not_found(f"Could not find fine-tuning job: {job_id}", "fine_tuning_job_id", "job_not_found")
        return job

    def check_file(file_id, param):
        f = store.get_file(str(file_id))
        if f is None:
            raise bad_request(f"Invalid file ID: '{file_id}' does not exist.", param, "invalid_file_id")
        if f["purpose"] != "fine-tune":
            raise bad_request(f"File '{file_id}' has purpose '{f['purpose']}'; fine-tuning needs 'fine-tune'.",
                              param, "invalid_file_purpose")

    @app.post("/v1/fine_tuning/jobs")
    async def create_job(request: Request):
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("The request body is not valid JSON.", None, "invalid_json")
        job = schemas.new_job(body, check_file=check_file)
        store.add_job(job)
        store.add_event(job["id"], f"Created fine-tuning job: {job['id']}")
        for integration in job["integrations"] or []:
            store.add_event(job["id"], "Integration '{}' noted; the sandbox does not send data to it."
                            .format(integration["type"]), level="warn")
        return schemas.public_job(job)

    @app.get("/v1/fine_tuning/jobs")
    def list_jobs(request: Request, after: str | None = None, limit: int = 20):
        metadata = {k[9:-1]: v for k, v in request.query_params.items()
                    if k.startswith("metadata[") and k.endswith("]")}
        jobs, more = _paged(store.list_jobs, after=after, limit=_limit(limit), metadata=metadata)
        return _page([schemas.public_job(j) for j in jobs], more)

    @app.get("/v1/fine_tuning/jobs/{job_id}")
    def retrieve_job(job_id: str):
        return schemas.public_job(job_or_404(job_id))

    def transition(job_id: str, allowed: tuple, verb: str, message: str, **fields) -> dict:
        job = job_or_404(job_id)
        new = store.update_job(job_id, expect=allowed, **fields)
        if new is None:
            raise bad_request(f"Job {job_id} cannot be {verb}: its status is '{job['status']}'.",
                              "fine_tuning_job_id", "invalid_job_status")
        store.add_event(job_id, message)
        return schemas.public_job(new)

    @app.post("/v1/fine_tuning/jobs/{job_id}/cancel")
    def cancel_job(job_id: str):
        return transition(job_id, ("validating_files", "queued", "running", "paused"), "cancelled",
                          "Fine-tuning job cancelled", status="cancelled", finished_at=int(time.time()),
                          estimated_finish=None)

    @app.post("/v1/fine_tuning/jobs/{job_id}/pause")
    def pause_job(job_id: str):
        return transition(job_id, ("running",), "paused", "Fine-tuning job paused",
                          status="paused", estimated_finish=None)

    @app.post("/v1/fine_tuning/jobs/{job_id}/resume")
    def resume_job(job_id: str):
        return transition(job_id, ("paused",), "resumed", "Fine-tuning job resumed", status="queued")

    @app.get("/v1/fine_tuning/jobs/{job_id}/events")
    def list_events(job_id: str, after: str | None = None, limit: int = 20):
        job_or_404(job_id)
        return _page(*_paged(store.list_events, job_id=job_id, after=after, limit=_limit(limit)))

    @app.get("/v1/fine_tuning/jobs/{job_id}/checkpoints")
    def list_checkpoints(job_id: str, after: str | None = None, limit: int = 10):
        job_or_404(job_id)
        return _page(*_paged(store.list_checkpoints, job_id=job_id, after=after, limit=_limit(limit)))

    # -- models ----------------------------------------------------------------------------------
    def base_ids() -> list[str]:
        return [*schemas.COURSE_MODELS, *schemas.ALIASES, schemas.STAND_IN_NAME]

    def model_or_404(model_id: str) -> dict:
        if model_id in base_ids():
            return schemas.base_model_object(model_id)
        m = store.get_model(model_id)
        if m is None and store.adapter_for(model_id) is not None:  # a checkpoint model
            m = {"id": model_id, "object": "model", "created": int(time.time()), "owned_by": schemas.ORGANIZATION_ID}
        if m is None:
            raise not_found(f"The model '{model_id}' does not exist", "model", "model_not_found")
        return m

    @app.get("/v1/models")
    def list_models():
        data = [schemas.base_model_object(m) for m in base_ids()] + store.list_models()
        return {"object": "list", "data": data}

    @app.get("/v1/models/{model_id:path}")
    def retrieve_model(model_id: str):
        return model_or_404(model_id)

    @app.delete("/v1/models/{model_id:path}")
    def delete_model(model_id: str):
        model_or_404(model_id)
        if not store.delete_model(model_id):
            raise APIError(403, f"You cannot delete '{model_id}': only fine-tuned models can be deleted.",
                           param="model", code="model_not_deletable")
        return {"id": model_id, "object": "model", "deleted": True}

    # -- chat completions --------------------------------------------------------------------------
    def adapter_of(model: str):
        if schemas.base_of(model) or model == schemas.STAND_IN_NAME:
            return None
        adapter = store.adapter_for(model)
        if adapter is None:
            raise not_found(f"The model `{model}` does not exist or you do not have access to it.",
                            "model", "model_not_found")
        return adapter

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("The request body is not valid JSON.", None, "invalid_json")
        settings = schemas.check_chat(body)
        model = body["model"]
        adapter = adapter_of(model)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(_closing(_sse(generator, model, adapter, settings, include_usage)),
                                     media_type="text/event-stream")
        from starlette.concurrency import run_in_threadpool
        choices, prompt_tokens = await run_in_threadpool(_generate, generator, adapter, settings)
        return schemas.completion(model, choices, prompt_tokens)

    return app


def _generate(generator: Generator, adapter, settings: dict):
    return generator.engine().chat(adapter_dir=adapter, **settings)


def _produce(engine, adapter, settings: dict, out: queue.Queue) -> None:
    """Generate one streamed answer to the end in its own thread, whatever the client does: a
    client that stops reading can then never keep the engine (and every later request) waiting."""
    try:
        stream = engine.stream(adapter_dir=adapter, **settings)
        for delta in stream:
            out.put(delta)
        out.put(stream.result)
    except Exception as exc:  # re-raised in the response generator
        out.put(exc)


async def _closing(events):
    """Iterate a blocking generator in worker threads and always close it, also when the client
    goes away mid-stream: closing it ends the generation and frees the engine for the next call."""
    from starlette.concurrency import run_in_threadpool
    try:
        while (chunk := await run_in_threadpool(next, events, None)) is not None:
            yield chunk
    finally:
        events.close()


def _sse(generator: Generator, model: str, adapter, settings: dict, include_usage: bool):
    """Server-sent events in OpenAI's chunk format, ending with ``data: [DONE]``."""
    cid, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())

    def event(obj) -> str:
        return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"

    n = settings.pop("n")
    prompt_tokens = completion_tokens = 0
    engine = generator.engine()
    for index in range(n):
        yield event(schemas.chunk(cid, created, model, delta={"role": "assistant", "content": ""}, index=index))
        deltas: queue.Queue = queue.Queue()
        threading.Thread(target=_produce, args=(engine, adapter, settings, deltas), daemon=True).start()
        while isinstance(item := deltas.get(), str):
            yield event(schemas.chunk(cid, created, model, delta={"content": item}, index=index))
        if isinstance(item, Exception):
            raise item
        result = item
        prompt_tokens = result.prompt_tokens
        completion_tokens += result.completion_tokens
        yield event(schemas.chunk(cid, created, model, delta={}, finish_reason=result.finish_reason, index=index))
    if include_usage:
        yield event(schemas.chunk(cid, created, model, usage_=schemas.usage(prompt_tokens, completion_tokens)))
    yield "data: [DONE]\n\n"
