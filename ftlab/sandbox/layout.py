"""The engine's lone-row layout: its linear layers read a lone row's decoding step at the speed
of the memory.

A decoding step multiplies one vector by every weight (bound by reading memory), and
MKL reads a matrix for one vector on one thread: weights stored input-major, which MKL streams
in memory order, are read faster on one thread, and a lone row's product split over the two
halves of the input (``torch.bmm``: a thread each) uses a second free core. Each half is the
same product on one thread or two, so answers do not depend on the thread count. Figures:
benchmarks/sandbox_figures.md.
"""
from __future__ import annotations

from ftlab.sandbox import cpu  # noqa: F401,I001  (first: it sets the kernels before torch loads)

import torch
import torch.nn.functional as F


class LoneRowLinear(torch.nn.Linear):
    """``nn.Linear`` with an input-major weight that splits a lone row's product in two; other
    inputs (prompts, batches) take the usual ``F.linear``."""

    @classmethod
    def of(cls, linear: torch.nn.Linear) -> "LoneRowLinear":
        """A layer sharing ``linear``'s parameters (a tied output layer stays tied)."""
        layer = cls.__new__(cls)
        torch.nn.Module.__init__(layer)
        layer.in_features, layer.out_features = linear.in_features, linear.out_features
        layer.weight = linear.weight
        layer.register_parameter("bias", linear.bias)
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() != self.in_features or self.in_features % 2:
            return F.linear(x, self.weight, self.bias)
        half = self.in_features // 2
        halves = self.weight.t().reshape(2, half, self.out_features)   # a view when input-major
        y = torch.bmm(x.reshape(2, 1, half), halves).sum(0)
        if self.bias is not None:
            y = y + self.bias
        return y.view(*x.shape[:-1], self.out_features)


def lone_row_layout(model: torch.nn.Module) -> None:
    """Store every linear weight of the engine's ``model`` input-major (same values and shape,
    another order in memory) and put a ``LoneRowLinear`` sharing its parameters in each linear
    layer's place. Only for a model the engine loaded for itself, before LoRA adapters are
    added: peft then wraps these layers and keeps its own small ones as they are."""
    with torch.no_grad():
        for parent in list(model.modules()):
            for name, child in list(parent.named_children()):
                if type(child) is torch.nn.Linear:
                    if child.weight.is_contiguous():   # the output layer may be tied: once is enough
                        child.weight.data = child.weight.data.t().contiguous().t()
                    setattr(parent, name, LoneRowLinear.of(child))
