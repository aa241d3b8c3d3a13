"""The sandbox's HTTP API: the FastAPI app, built from one router per resource (``routes``).

The routes translate OpenAI's REST calls to the store (``store``) and the engine (``inference``);
training runs in the worker process (``worker``), started and stopped with the app.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request

from . import errors, settings
from .dependencies import authenticate
from .lazy_engine import LazyEngine
from .quotas import RequestLimiter
from .roster import Roster
from .routes import ROUTERS
from .store import Store


def create_app(data_dir: str | Path, token: str, *, max_file_bytes: int | None = None,
               run_worker: bool = True, class_mode: bool = False, executor: str = "local") -> FastAPI:
    """The app for a data dir; ``class_mode`` also accepts the roster's keys (``roster``), each
    student seeing only their own project. ``executor``: where jobs train — "local" processes,
    "ray" (a local Ray head) or a Ray cluster's address (``ray_executor``)."""
    @asynccontextmanager
    async def lifespan(app):
        supervisor = None
        if run_worker:
            supervisor = job_runner(app.state.store.dir, app.state.slots, executor, app.state.niceness)
            supervisor.start()
        app.state.supervisor = supervisor
        yield
        app.state.engine.close()
        if supervisor:
            supervisor.stop()

    app = FastAPI(title="ftlab sandbox", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.store, app.state.token, app.state.engine = Store(data_dir), token, LazyEngine()
    app.state.max_file_bytes = max_file_bytes or settings.current().max_file_bytes
    app.state.supervisor = None
    app.state.roster = Roster(data_dir) if class_mode else None
    config = settings.current()
    app.state.quotas, app.state.slots = config.quotas, config.worker_slots(class_mode)
    app.state.niceness = config.worker_niceness(class_mode)
    app.state.limiter = RequestLimiter(app.state.quotas.requests_per_minute)
    errors.install(app)
    app.middleware("http")(refuse_oversized_uploads)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(authenticate)])
    return app


def job_runner(data_dir: Path, slots: int, executor: str, niceness: int = 0):
    """The worker processes' supervisor, or the Ray executor (the Ray cluster sizes itself
    unless ``FTLAB_WORKERS`` says how many jobs at once)."""
    if executor == "local":
        from .worker import Supervisor
        return Supervisor(data_dir, slots, niceness)
    from .ray_executor import RayExecutor
    return RayExecutor(data_dir, None if executor == "ray" else executor, settings.current().workers)


async def refuse_oversized_uploads(request: Request, call_next):
    """Refuse an upload from its Content-Length, before its body is spooled to disk (multipart
    adds ~1 KB; a body without the header is counted as it is stored)."""
    limit = request.app.state.max_file_bytes
    if int(request.headers.get("content-length") or 0) > limit + 65_536:
        return errors.response(errors.too_large(limit))
    return await call_next(request)
