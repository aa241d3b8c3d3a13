"""``/v1/files``: upload, list, retrieve, delete and download files (bytes kept by the store)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse

from .. import quotas as class_quotas
from ..dependencies import get_quotas, get_store
from ..errors import bad_request, not_found, too_large
from ..store import Store, TooLarge
from ..types import Deleted, Purpose
from . import paging

router = APIRouter(prefix="/v1/files")


def file_or_404(store: Store, file_id: str) -> dict:
    f = store.get_file(file_id)
    if f is None:
        raise not_found(f"No such File object: {file_id}", "id", "file_not_found")
    return f


@router.post("")
def create_file(request: Request, file: Annotated[UploadFile, File()], purpose: Annotated[Purpose, Form()],
                store: Store = Depends(get_store), quotas=Depends(get_quotas)):
    if purpose == "fine-tune" and not (file.filename or "").lower().endswith(".jsonl"):
        raise bad_request("Invalid file format for Fine-Tuning API. Must be .jsonl", "file", "invalid_file_format")
    max_bytes = request.app.state.max_file_bytes
    if quotas:   # a student of the class server
        max_bytes = min(max_bytes, quotas.file_bytes)
        class_quotas.check_storage(store, quotas, min(file.size or 0, max_bytes))
    try:
        return store.add_file(file.file, file.filename, purpose, max_bytes=max_bytes)
    except TooLarge:
        raise too_large(max_bytes)


@router.get("")
def list_files(purpose: str | None = None, limit: int = 10_000, after: str | None = None, order: str = "desc",
               store: Store = Depends(get_store)):
    if order not in ("asc", "desc"):
        raise bad_request("Invalid 'order': expected 'asc' or 'desc'.", "order", "invalid_value")
    return paging.page(store.list_files, purpose=purpose, after=after, limit=paging.limit(limit), order=order)


@router.get("/{file_id}")
def retrieve_file(file_id: str, store: Store = Depends(get_store)):
    return file_or_404(store, file_id)


@router.delete("/{file_id}")
def delete_file(file_id: str, store: Store = Depends(get_store)):
    file_or_404(store, file_id)
    store.delete_file(file_id)
    return Deleted(id=file_id, object="file")


@router.get("/{file_id}/content")
def file_content(file_id: str, store: Store = Depends(get_store)):
    file_or_404(store, file_id)
    return FileResponse(store.file_path(file_id), media_type="application/octet-stream")
