"""A lone row's decoding step, at the speed of the memory and of both cores.

Why: a decoding step multiplies one vector by every weight of the model (425 MB in float32 for
the stand-in's decoder), so a lone chat request is bound by reading memory, and MKL reads a
matrix for one vector on one thread. Two changes, neither of which depends on the thread count:

* ``input_major``: weights stored input-major, which MKL streams in memory order (measured here
  on one thread: the decoder's products 22.5 ms a step instead of 27.6, the float32 output
  layer 4.5 ms instead of 7.5);
* ``LoneRowLinear``: a lone row is multiplied by the two halves of the input dimension as a
  batch of two products (``torch.bmm``, which gives each its own thread), then the halves are
  added. Each product is the same with one thread or two, so the answer is too.

On two free cores a lone greedy request went from 25-27 to 34-40 tokens/s here. When another
process keeps a core busy, two threads wait for each other at every product (9-13 tokens/s
measured), so the step then runs on one thread (``cpushare``): 22-26 tokens/s.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


class LoneRowLinear(torch.nn.Linear):
    """``nn.Linear`` (weight input-major, see ``input_major``) that splits a lone row's product
    in two; other inputs (prompts, batches) take the usual ``F.linear``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() != self.in_features or self.in_features % 2:
            return F.linear(x, self.weight, self.bias)
        half = self.in_features // 2
        halves = self.weight.t().reshape(2, half, self.out_features)   # a view when input-major
        y = torch.bmm(x.reshape(2, 1, half), halves).sum(0)
        if self.bias is not None:
            y = y + self.bias
        return y.view(*x.shape[:-1], self.out_features)


def input_major(model: torch.nn.Module) -> None:
    """Store every linear weight of ``model`` input-major (same values and shape, another order
    in memory) and make those layers ``LoneRowLinear``. Call before adding LoRA adapters: peft
    wraps these layers and keeps its own small ones as they are."""
    with torch.no_grad():
        for module in model.modules():
            if type(module) is torch.nn.Linear:
                if module.weight.is_contiguous():   # the output layer may be tied: once is enough
                    module.weight.data = module.weight.data.t().contiguous().t()
                module.__class__ = LoneRowLinear
