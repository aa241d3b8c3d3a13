"""The 8-bit and 16-bit roundings the export benchmarks compare, applied to a model in memory.

Each rounds the weight matrices exactly as a GGUF file would store them (transformers' GGUF loader
dequantizes q8_0 blocks to these same float32 values), so greedy answers can be compared without
writing files. Variants: ``q8_0`` (gguf.quants; byte-identical to llama.cpp's own quantizer),
``q8_0-lsq`` (block scales refitted by least squares), ``q8_0-shift`` (the block grid moved by 16
columns: another rounding exactly as coarse), ``q8_0+f16:A-B`` / ``q8_0+f16:embd`` (decoder layers
A..B or the embeddings kept in f16), ``bf16``.
"""
from __future__ import annotations

import gguf
import numpy as np
import torch

Q8 = gguf.GGMLQuantizationType.Q8_0


def q8_0(w: np.ndarray, lsq: bool = False, shift: int = 0) -> np.ndarray:
    """``w`` as q8_0 stores it (blocks of 32 along rows: int8 codes times an f16 scale), in float32;
    ``shift``: the block grid moved by that many columns (another q8_0 rounding of the same size)."""
    if shift:
        return np.roll(q8_0(np.roll(w, shift, axis=-1), lsq), -shift, axis=-1)
    if not lsq:
        return gguf.quants.dequantize(gguf.quants.quantize(w, Q8), Q8).reshape(w.shape)
    blocks = w.reshape(-1, 32).astype(np.float64)
    d = np.abs(blocks).max(axis=1, keepdims=True) / 127
    codes = np.round(np.divide(blocks, d, out=np.zeros_like(blocks), where=d > 0))
    fit = np.sum(codes * blocks, axis=1, keepdims=True) / np.maximum(np.sum(codes * codes, axis=1, keepdims=True), 1)
    return (codes * fit.astype(np.float16).astype(np.float64)).astype(np.float32).reshape(w.shape)


def kept_in_f16(variant: str, name: str) -> bool:
    """Does ``variant`` keep the HF tensor ``name`` in f16?"""
    if "+f16:" not in variant:
        return False
    which = variant.split("+f16:")[1]
    if which == "embd":
        return name == "model.embed_tokens.weight"
    low, high = (int(x) for x in which.split("-"))
    parts = name.split(".")
    return parts[:2] == ["model", "layers"] and low <= int(parts[2]) <= high


def rounded(variant: str, model) -> tuple[int, float]:
    """Round ``model``'s matrices in place as ``variant`` stores them; ``(extra bytes over q8_0, rel. RMS change)``."""
    extra, err, total = 0, 0.0, 0.0
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim < 2:
                continue
            w = p.detach().float().numpy()
            if variant == "bf16":
                new = p.to(torch.bfloat16).float().numpy()
            elif kept_in_f16(variant, name):
                new, extra = w.astype(np.float16).astype(np.float32), extra + w.size * (2 - 34 / 32)
            else:
                new = q8_0(w, lsq=variant == "q8_0-lsq", shift=16 if variant == "q8_0-shift" else 0)
            err, total = err + float(np.sum((new - w) ** 2)), total + float(np.sum(w ** 2))
            p.copy_(torch.from_numpy(new))
    return int(extra), (err / total) ** 0.5
