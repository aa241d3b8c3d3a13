"""``/v1/fine_tuning/jobs``: create, list, retrieve, cancel, pause, resume; events and checkpoints.

Routes only record requests and status changes in the store; the worker process does the work.
"""
from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request

from .. import catalog, queue
from .. import quotas as class_quotas
from ..dependencies import get_quotas, get_store
from ..errors import bad_request, not_found
from ..store import Store
from ..types import JobCreate, public_job
from . import paging

router = APIRouter(prefix="/v1/fine_tuning/jobs")
ACTIVE = class_quotas.ACTIVE


def with_estimate(request: Request, store: Store, jobs: list[dict]) -> list[dict]:
    """On the class server a queued job carries ``estimated_finish`` from its place in the fair queue."""
    if request.app.state.roster is None or not any(j["status"] == "queued" for j in jobs):
        return jobs
    places = queue.estimates(store, time.time(), request.app.state.slots)
    return [{**j, "estimated_finish": places[j["id"]][1]} if j["id"] in places else j for j in jobs]


def job_or_404(store: Store, job_id: str) -> dict:
    job = store.get_job(job_id)
    if job is None:
        raise not_found(f"Could not find fine-tuning job: {job_id}", "fine_tuning_job_id", "job_not_found")
    return job


def check_file(store: Store, file_id: str, param: str) -> None:
    f = store.get_file(file_id)
    if f is None:
        raise bad_request(f"Invalid file ID: '{file_id}' does not exist.", param, "invalid_file_id")
    if f["purpose"] != "fine-tune":
        raise bad_request(f"File '{file_id}' has purpose '{f['purpose']}'; fine-tuning needs 'fine-tune'.",
                          param, "invalid_file_purpose")


@router.post("")
def create_job(body: JobCreate, store: Store = Depends(get_store), quotas=Depends(get_quotas)):
    if quotas:   # a student of the class server
        class_quotas.check_active_jobs(store, quotas)
    check_file(store, body.training_file, "training_file")
    if body.validation_file:
        check_file(store, body.validation_file, "validation_file")
    job = store.add_job(body.new_job())
    store.add_event(job["id"], f"Created fine-tuning job: {job['id']}")
    if notice := catalog.job_notice(job["model"]):
        store.add_event(job["id"], notice)
    for integration in job["integrations"] or []:
        store.add_event(job["id"], "Integration '{}' noted; the sandbox does not send data to it."
                        .format(integration["type"]), level="warn")
    return public_job(job)


@router.get("")
def list_jobs(request: Request, after: str | None = None, limit: int = 20, store: Store = Depends(get_store)):
    metadata = {k[9:-1]: v for k, v in request.query_params.items()
                if k.startswith("metadata[") and k.endswith("]")}
    out = paging.page(store.list_jobs, after=after, limit=paging.limit(limit), metadata=metadata)
    out["data"] = [public_job(j) for j in with_estimate(request, store, out["data"])]
    return out


@router.get("/{job_id}")
def retrieve_job(request: Request, job_id: str, store: Store = Depends(get_store)):
    return public_job(with_estimate(request, store, [job_or_404(store, job_id)])[0])


def transition(store: Store, job_id: str, allowed: tuple, verb: str, message: str, **fields) -> dict:
    job = job_or_404(store, job_id)
    new = store.update_job(job_id, expect=allowed, events=[message], **fields)
    if new is None:
        raise bad_request(f"Job {job_id} cannot be {verb}: its status is '{job['status']}'.",
                          "fine_tuning_job_id", "invalid_job_status")
    return public_job(new)


@router.post("/{job_id}/cancel")
def cancel_job(job_id: str, store: Store = Depends(get_store)):
    return transition(store, job_id, ACTIVE, "cancelled", "Fine-tuning job cancelled", status="cancelled",
                      finished_at=int(time.time()), estimated_finish=None)


@router.post("/{job_id}/pause")
def pause_job(job_id: str, store: Store = Depends(get_store)):
    return transition(store, job_id, ("running",), "paused", "Fine-tuning job paused",
                      status="paused", estimated_finish=None)


@router.post("/{job_id}/resume")
def resume_job(job_id: str, store: Store = Depends(get_store)):
    return transition(store, job_id, ("paused",), "resumed", "Fine-tuning job resumed", status="queued")


@router.get("/{job_id}/events")
def list_events(job_id: str, after: str | None = None, limit: int = 20, store: Store = Depends(get_store)):
    job_or_404(store, job_id)
    return paging.page(store.list_events, job_id=job_id, after=after, limit=paging.limit(limit))


@router.get("/{job_id}/checkpoints")
def list_checkpoints(job_id: str, after: str | None = None, limit: int = 10, store: Store = Depends(get_store)):
    job_or_404(store, job_id)
    return paging.page(store.list_checkpoints, job_id=job_id, after=after, limit=paging.limit(limit))
