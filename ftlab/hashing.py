"""Files' fingerprints: one block-wise sha256 for datasets, uploads, model files and exports."""
from __future__ import annotations

import hashlib


def file_sha256(path) -> str:
    """The file's sha256, read in 1 MB blocks (a model or a 500 MB dataset is never read whole)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
