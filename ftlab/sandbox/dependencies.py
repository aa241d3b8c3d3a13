"""What the routes get from FastAPI's dependency injection: the caller's check, the store, the engine.

``create_app`` puts the data dir's store, bearer token, class roster (class mode) and lazily loaded
engine on ``app.state``; a route declares what it needs (``store: Store = Depends(get_store)``).
``authenticate`` names the caller; ``get_store`` hands each caller the view of their own project,
so the routes never check who may see what.
"""
from __future__ import annotations

import secrets

from fastapi import Request

from .errors import unauthorized
from .roster import Caller
from .settings import Quotas
from .store import Store

OWNER = Caller("owner", "owner")   # the data dir's token: the single-user sandbox, or the machine's admin


def authenticate(request: Request) -> None:
    """Every call carries ``Authorization: Bearer KEY``: the data dir's token or, in class mode, a
    live key of the roster."""
    sent = request.headers.get("authorization", "")
    key = sent[7:] if sent.startswith("Bearer ") else ""
    caller = None
    if key and secrets.compare_digest(key.encode(), request.app.state.token.encode()):
        caller = OWNER
    elif key and request.app.state.roster is not None:
        caller = request.app.state.roster.caller(key)
    if caller is None:
        raise unauthorized(class_mode=request.app.state.roster is not None)
    request.state.caller = caller
    if caller.role == "student":
        request.app.state.limiter.check(caller.name)


def get_quotas(request: Request) -> Quotas | None:
    """The class's per-student quotas for a student; None (no limits) for everyone else."""
    return request.app.state.quotas if request.state.caller.role == "student" else None


def get_store(request: Request) -> Store:
    return request.app.state.store.for_project(request.state.caller.project)


def get_engine(request: Request):
    """The inference engine's holder (``lazy_engine.LazyEngine``): its ``chat`` and
    ``stream_detached`` start the engine's process on first use, so a request that fails its
    checks never waits for the model."""
    return request.app.state.engine
