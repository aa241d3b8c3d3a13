"""The losses a step minimises: token cross-entropy on the trained tokens (SFT) and DPO's."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def token_logprobs(model, ids, attn, labels, hidden=None, head_weight=None):
    """Log-probabilities of the labelled tokens, (row index of each), and argmax hits.

    ``hidden``: the last hidden states when already computed (``lora.FrozenPrefix``); ``head_weight``:
    the output layer's weight in bfloat16 (``Run.head``), else the layer itself. Only positions
    that predict a labelled token go through the output layer: that skips most of the 49k-column
    matmul, the biggest single cost of a small model's step.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if hidden is None:
        hidden = base.get_decoder()(input_ids=ids, attention_mask=attn).last_hidden_state
    where = labels[:, 1:]
    selected = hidden[:, :-1][where]
    targets = ids[:, 1:][where]
    if head_weight is not None:
        logits = F.linear(selected.to(head_weight.dtype), head_weight).float()
    else:
        logits = base.get_output_embeddings()(selected).float()
    logprobs = -F.cross_entropy(logits, targets, reduction="none")
    hits = (logits.argmax(-1) == targets)
    rows = where.nonzero()[:, 0]
    return logprobs, rows, hits


def sft_loss(model, ids, attn, labels, n_labels: int, hidden=None, head_weight=None):
    """Sum of token losses / labels in the whole step (so micro-batches add up exactly), argmax
    hits and the number of tokens scored."""
    logprobs, _, hits = token_logprobs(model, ids, attn, labels, hidden, head_weight)
    return -logprobs.sum() / max(1, n_labels), hits.sum().item(), logprobs.numel()


def dpo_loss(policy: torch.Tensor, reference: torch.Tensor, beta: float, n_pairs: int):
    """DPO: −log σ(β·[(π_w − ref_w) − (π_l − ref_l)]) from the sequence log-probabilities of
    (preferred, non-preferred) rows; also the pairs where the preferred answer wins, and the pairs."""
    ratio = (policy - reference).view(-1, 2)
    margin = beta * (ratio[:, 0] - ratio[:, 1])
    loss = -F.logsigmoid(margin).sum() / n_pairs
    return loss, (margin > 0).sum().item(), margin.numel()


def sequence_logprobs(model, ids, attn, labels, hidden=None, head_weight=None):
    """Each row's summed log-probability of its trained tokens, and the argmax hits."""
    logprobs, row_of, hits = token_logprobs(model, ids, attn, labels, hidden, head_weight)
    return torch.zeros(len(ids), device=ids.device).index_add(0, row_of, logprobs), hits
