"""``/v1/models``: the course's base models (``catalog``) and the fine-tuned ones (``store``)."""
from __future__ import annotations

import time

from fastapi import APIRouter, Depends

from .. import catalog
from ..dependencies import get_store
from ..errors import APIError, not_found
from ..store import Store
from ..types import Deleted

router = APIRouter(prefix="/v1/models")


def model_or_404(store: Store, model_id: str) -> dict:
    if model_id in catalog.base_ids():
        return catalog.base_model_object(model_id)
    m = store.get_model(model_id)
    if m is None and store.adapter_for(model_id) is not None:  # a checkpoint model
        m = {"id": model_id, "object": "model", "created": int(time.time()), "owned_by": catalog.ORGANIZATION_ID}
    if m is None:
        raise not_found(f"The model '{model_id}' does not exist", "model", "model_not_found")
    return catalog.fine_tuned_model_object(m)


@router.get("")
def list_models(store: Store = Depends(get_store)):
    data = [catalog.base_model_object(m) for m in catalog.base_ids()] + [catalog.fine_tuned_model_object(m) for m in store.list_models()]
    return {"object": "list", "data": data}


@router.get("/{model_id:path}")
def retrieve_model(model_id: str, store: Store = Depends(get_store)):
    return model_or_404(store, model_id)


@router.delete("/{model_id:path}")
def delete_model(model_id: str, store: Store = Depends(get_store)):
    model_or_404(store, model_id)
    if not store.delete_model(model_id):
        raise APIError(403, f"You cannot delete '{model_id}': only fine-tuned models can be deleted.",
                       param="model", code="model_not_deletable")
    return Deleted(id=model_id, object="model")
