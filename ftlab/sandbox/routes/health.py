"""``GET /health``: what runs here, whether the job worker is alive (``control`` polls it), and who
the caller is (``ftlab.connect()`` prints it: the student a class key belongs to)."""
from __future__ import annotations

import os

from fastapi import APIRouter, Request

from .. import catalog

router = APIRouter()


@router.get("/health")
def health(request: Request):
    sup = request.app.state.supervisor
    return {"status": "ok", "backend": "sandbox", "underneath": catalog.underneath(),
            "pid": os.getpid(), "worker_alive": bool(sup and sup.alive()),
            "class_mode": request.app.state.roster is not None,
            "caller": {"name": request.state.caller.name, "role": request.state.caller.role}}
