"""LoRA fine-tuning of the stand-in model, with OpenAI-like hyperparameters, metrics and checkpoints.

``config`` (settings, OpenAI's "auto" rules) · ``encoding`` (examples → token ids and loss masks)
· ``lora`` (the trained model: adapters, bfloat16 frozen weights, the kept lower layers) ·
``losses`` (SFT, DPO) · ``billing`` (trained tokens as OpenAI bills them) · ``run`` (the loop) ·
``pause`` (pause and resume).
"""
from .billing import billable_tokens
from .config import TrainConfig, TrainingError, TrainResult, resolve_hyperparameters
from .encoding import encode_chat, encode_dpo
from .run import train

__all__ = ["TrainConfig", "TrainResult", "TrainingError", "billable_tokens", "encode_chat", "encode_dpo",
           "resolve_hyperparameters", "train"]
