"""``GET /health``: what runs here and whether the job worker is alive (``control`` polls it)."""
from __future__ import annotations

import os

from fastapi import APIRouter, Request

from .. import catalog

router = APIRouter()


@router.get("/health")
def health(request: Request):
    sup = request.app.state.supervisor
    return {"status": "ok", "backend": "sandbox", "underneath": catalog.underneath(),
            "pid": os.getpid(), "worker_alive": bool(sup and sup.alive())}
