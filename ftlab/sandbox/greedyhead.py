"""The output layer of a greedy decoding step, at half the memory traffic and the same choice.

Why: one decoding step of the stand-in reads every weight once for a single token, so on a CPU
it is bound by memory traffic. The output layer (49152 tokens x 576, tied to the embeddings) is a
fifth of the weights: 113 MB a step in float32. A float16 copy halves that, and torch's float16
matrix-vector product accumulates in float32; only the logits' rounding is coarser.

Greedy decoding needs only the largest logit, so ``GreedyHead`` computes float16 logits, then
recomputes in float32 every token whose float16 logit is within twice its error bound of the best
(``refine``, usually 2-8 tokens). The argmax is then the float32 output layer's, near-ties
included, so answers do not change. Sampling needs every probability: it keeps the float32 layer.

Figures: benchmarks/sandbox_figures.md.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

UNIT = 2.0 ** -11   # float16's relative rounding error


class GreedyHead:
    """Logits for a greedy step of one row, from a float16 copy of ``weight`` (57 MB here)."""

    def __init__(self, weight: torch.Tensor):
        self.weight = weight.detach()                 # float32, shared with the model
        # row-major whatever ``weight``'s order: float16 products of an input-major matrix are slow
        self.weight16 = self.weight.to(torch.float16, memory_format=torch.contiguous_format)
        self._row_norm = float(self.weight.norm(dim=-1).max())

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        """Float32 logits for ``hidden`` ``(rows, dim)``, exact wherever they could be the largest."""
        rough = torch.cat([F.linear(row, self.weight16) for row in hidden.half().split(1)]).float()
        if not torch.isfinite(rough).all():   # beyond float16's range: no shortcut
            return F.linear(hidden, self.weight)
        return refine(rough, hidden, self.weight, self._row_norm)


def refine(logits: torch.Tensor, hidden: torch.Tensor, weight: torch.Tensor, row_norm: float) -> torch.Tensor:
    """Replace, in each row, the float16-made logits that might be the largest by float32 ones.

    ``logits`` were made from ``hidden`` and ``weight`` (float32) rounded to float16. Each differs
    from the float32 product by at most ``UNIT`` times: 2|h|·|w| for rounding both factors (by
    Cauchy-Schwarz; 2.1 covers float32 accumulation too), plus |logit| for rounding the result
    (plus 1e-4 for values too small for float16's normal range). A token more than twice that
    below the best one cannot be the float32 argmax."""
    best = logits.amax(-1, keepdim=True)
    bound = UNIT * (2.1 * hidden.norm(dim=-1, keepdim=True) * row_norm + logits.abs().amax(-1, keepdim=True))
    close = logits >= best - 2 * (bound + 1e-4)
    for row in range(len(logits)):
        tokens = close[row].nonzero().squeeze(-1)
        logits[row, tokens] = F.linear(hidden[row], weight[tokens])
    return logits
