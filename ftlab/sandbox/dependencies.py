"""What the routes get from FastAPI's dependency injection: the caller's check, the store, the engine.

``create_app`` puts the data dir's store, bearer token and lazily loaded engine on ``app.state``;
a route declares what it needs (``store: Store = Depends(get_store)``), so a router for a new
resource, or per-key projects later, change these functions and not the routes.
"""
from __future__ import annotations

import secrets

from fastapi import Request

from .errors import unauthorized
from .store import Store


def authenticate(request: Request) -> None:
    """Every call carries the data dir's token as ``Authorization: Bearer …``."""
    sent = request.headers.get("authorization", "")
    token = request.app.state.token
    if not (sent.startswith("Bearer ") and secrets.compare_digest(sent[7:].encode(), token.encode())):
        raise unauthorized()


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_engine(request: Request):
    """The inference engine's holder (``lazy_engine.LazyEngine``): ``.get()`` loads it on first use,
    so a request that fails its checks never waits for the model."""
    return request.app.state.engine
