"""The model a run trains: LoRA on the upper decoder layers, frozen weights in bfloat16 where that
is fast, and the frozen lower layers' hidden states computed once per example.

Speed on a CPU: LoRA (r=16, every linear layer) only in the upper half of the decoder, so the
backward pass stops halfway; the frozen lower half gives the same hidden states for an example
every time, so they are kept (``FrozenPrefix``: later epochs and every validation pass run only
the upper half); no dropout, no gradient checkpointing. Where the hardware has fast bfloat16
matmuls (``fast_dtype``), the frozen weights multiply in bfloat16 while LoRA, attention, norms
and the loss stay float32 (faster steps, losses within a few tenths of a percent:
benchmarks/sandbox_figures.md).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F

from ftlab.sandbox import cpu, settings

from .config import LORA_LAYER_FRACTION, LORA_RANK


def first_lora_layer(model) -> int:
    return int(model.config.num_hidden_layers * (1 - LORA_LAYER_FRACTION))


def attach_lora(model, seed: int):
    """Wrap the base model with a fresh, seeded LoRA adapter on the upper decoder layers."""
    from peft import LoraConfig, get_peft_model

    n_layers, first = model.config.num_hidden_layers, first_lora_layer(model)
    # every linear layer inside the decoder blocks (q/k/v/o, gate/up/down for Llama-like models)
    linear = sorted({name.rsplit(".", 1)[-1] for name, mod in model.named_modules()
                     if isinstance(mod, torch.nn.Linear) and ".layers." in name})
    config = LoraConfig(r=LORA_RANK, lora_alpha=2 * LORA_RANK, lora_dropout=0.0,
                        target_modules=linear, layers_to_transform=list(range(first, n_layers)),
                        task_type="CAUSAL_LM")
    torch.manual_seed(seed)
    peft_model = get_peft_model(model, config)
    peft_model.train()
    return peft_model


def fast_dtype(device) -> torch.dtype | None:
    """``torch.bfloat16`` where its matmuls are fast, else None (train in float32).

    On a CPU, only where ``cpu.fast_bfloat16()``. ``FTLAB_TRAIN_DTYPE=float32`` turns it off.
    """
    if settings.current().float32_training:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if cpu.fast_bfloat16() else None


class FrozenLinear(torch.nn.Module):
    """A frozen linear layer whose matmul runs in ``dtype`` (bfloat16); input and output stay
    float32, so the LoRA path, norms, attention and the residual stream keep float32 precision."""

    def __init__(self, linear: torch.nn.Linear, dtype: torch.dtype):
        super().__init__()
        self.register_buffer("weight", linear.weight.detach().to(dtype))
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().to(dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.to(self.weight.dtype), self.weight, self.bias).to(x.dtype)


def freeze_in(model, dtype: torch.dtype) -> None:
    """Swap every frozen linear layer of the decoder (LoRA's base layers included) for a
    ``FrozenLinear`` in ``dtype``."""
    for name, module in list(model.named_modules()):
        for child_name, child in module.named_children():
            if type(child) is torch.nn.Linear and ".layers." in f"{name}." and not child.weight.requires_grad:
                setattr(module, child_name, FrozenLinear(child, dtype))


@contextmanager
def _only_layers(decoder, start: int, stop: int | None = None, final_norm: bool = True):
    """Run the decoder through layers ``start:stop`` only (its forward, masks and positions
    untouched): the layers list is swapped for the call, the modules and weights are the same."""
    layers, norm = decoder.layers, decoder.norm
    decoder.layers = torch.nn.ModuleList(list(layers)[start:stop])
    if not final_norm:
        decoder.norm = torch.nn.Identity()
    try:
        yield decoder
    finally:
        decoder.layers, decoder.norm = layers, norm


class FrozenPrefix:
    """Hidden states after the decoder layers below the first LoRA layer, kept per token sequence.

    Those layers are frozen and dropout is off, so an example's hidden states there never change:
    computing them once saves their forward pass in every later epoch and validation. A first
    example is checked against the full forward; if the model's decoder does not split this way
    (``ok`` False), the trainer runs the whole model instead.
    """

    def __init__(self, model, split: int):
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.decoder, self.split, self._kept = base.get_decoder(), split, {}
        self.ok = split > 0 and hasattr(self.decoder, "layers") and hasattr(self.decoder, "norm")

    def lower(self, ids: list[int]) -> torch.Tensor:
        """Hidden states [len, dim] of one token sequence after the frozen layers (kept)."""
        key = tuple(ids)
        if key not in self._kept:
            with torch.inference_mode(False), torch.no_grad(), \
                    _only_layers(self.decoder, 0, self.split, final_norm=False) as lower:
                device = next(lower.parameters()).device
                self._kept[key] = lower(input_ids=torch.tensor([ids], device=device)).last_hidden_state[0]
        return self._kept[key]

    def hidden(self, rows: list, attn: torch.Tensor) -> torch.Tensor | None:
        """Last hidden states of a right-padded micro-batch of (ids, mask) rows, running only the
        upper layers; None when the split is off (the caller runs the whole decoder)."""
        if not self.ok:
            return None
        lowers = [self.lower(ids) for ids, _ in rows]
        batch = torch.zeros((len(rows), attn.shape[1], lowers[0].shape[-1]), dtype=lowers[0].dtype,
                            device=attn.device)
        for i, h in enumerate(lowers):
            batch[i, : len(h)] = h
        with _only_layers(self.decoder, self.split) as upper:
            return upper(inputs_embeds=batch, attention_mask=attn).last_hidden_state

    def check(self, ids: list[int]) -> bool:
        """Do the split and the full forward agree on ``ids``? Sets and returns ``ok``."""
        if self.ok:
            with torch.no_grad():
                device = next(self.decoder.parameters()).device
                full = self.decoder(input_ids=torch.tensor([ids], device=device)).last_hidden_state
                attn = torch.ones((1, len(ids)), dtype=torch.long, device=device)
                self.ok = bool(torch.allclose(full, self.hidden([(ids, None)], attn), atol=1e-4, rtol=1e-4))
        return self.ok
