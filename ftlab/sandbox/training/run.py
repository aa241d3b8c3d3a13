"""A training run: the loop of optimizer steps, validations, checkpoints and stop requests.

What the worker calls: ``config.resolve_hyperparameters`` then ``train``. Reproducible: the same
seed gives the same LoRA init, data order and losses, on one thread or two (``cpu``). Stoppable:
``should_stop`` is polled between micro-batches (well under a second each); a pause saves what a
resumed run needs to continue exactly (``pause``).
"""
from __future__ import annotations

import json
import math
import random
import shutil
import time
from pathlib import Path
from typing import Callable

from ftlab.sandbox import cpu  # noqa: I001  (first: it sets the kernels before torch loads)

import torch

from ftlab.i18n import tr
from ftlab.sandbox import models

from . import losses, pause
from .billing import billable_tokens
from .config import BASE_LR, EVAL_POINTS, MICRO_BATCH_TOKENS, TrainConfig, TrainingError, TrainResult
from .encoding import pad_batch, micro_batches, encode_chat, encode_dpo
from .lora import FrozenPrefix, attach_lora, fast_dtype, first_lora_layer, freeze_in


class _Stopped(Exception):
    def __init__(self, reason: str):
        self.reason = reason


class Run:
    """State of one training run; methods are the loop's steps."""

    def __init__(self, train_examples, valid_examples, config: TrainConfig, out_dir: Path,
                 should_stop: Callable[[], str | None] | None):
        if config.method not in ("supervised", "dpo"):
            raise TrainingError(tr("Metodo di fine-tuning non supportato dalla sandbox: {m}.",
                                   "Fine-tuning method not supported by the sandbox: {m}.",
                                   m=config.method))
        self.cpus = cpu.OtherProcesses()
        # no interval has passed yet, so this reading sees no other process: every usable core for
        # loading the model (a reused worker may have been left with fewer); read again below
        cpu.share_threads(self.cpus)
        self.config, self.out_dir = config, Path(out_dir)
        self.should_stop = should_stop or (lambda: None)
        self.dpo = config.method == "dpo"
        self.cancelled_while_preparing()
        base, self.tokenizer = models.load_base(progress=False)
        self.cancelled_while_preparing()
        self.device = next(base.parameters()).device
        self.model = attach_lora(base, config.seed)
        fast = fast_dtype(self.device)   # bfloat16 matmuls for the frozen weights, if fast here
        self.head = None
        if fast:
            freeze_in(self.model, fast)
            self.head = base.get_output_embeddings().weight.detach().to(fast)
        self.prefix = FrozenPrefix(self.model, first_lora_layer(base))
        encode = (lambda ex: encode_dpo(self.tokenizer, ex)) if self.dpo else \
            (lambda ex: [encode_chat(self.tokenizer, ex["messages"], tools=ex.get("tools"), functions=ex.get("functions"))])
        self.train = [encode(ex) for ex in self.preparing(train_examples)]
        self.valid = [encode(ex) for ex in self.preparing(valid_examples or [])]
        self.tokens = [billable_tokens(ex, config.method) for ex in train_examples]
        if self.train:
            self.prefix.check(self.train[0][0][0])
        self.pad_id = self.tokenizer.pad_token_id
        n = len(self.train)
        self.batch_size = max(1, min(config.batch_size, n))
        self.steps_per_epoch = math.ceil(n / self.batch_size)
        self.total_steps = self.steps_per_epoch * config.n_epochs
        self.eval_every = max(1, self.total_steps // EVAL_POINTS)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=BASE_LR * config.learning_rate_multiplier,
                                           weight_decay=0.0)
        warmup = min(10, max(1, self.total_steps // 20))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min((s + 1) / warmup, max(0.0, (self.total_steps - s) / max(1, self.total_steps - warmup))))
        self.step, self.trained_tokens, self.valid_cursor, self.useful_tokens = 0, 0, 0, 0
        # again now: the first reading came before any interval had passed (it saw no other process),
        # and the first steps would keep its answer for 10 s
        cpu.share_threads(self.cpus)
        self.threads_checked = time.monotonic()

    # -- stopping
    def cancelled_while_preparing(self) -> None:
        """A cancel before the first step ends the run at once (a pause waits for step 0, so
        that it can save a state to resume from)."""
        if self.should_stop() == "cancel":
            raise _Stopped("cancel")

    def preparing(self, examples):
        for i, example in enumerate(examples):
            if i % 16 == 0:
                self.cancelled_while_preparing()
            yield example

    # -- data order
    def epoch_order(self, epoch: int) -> list[int]:
        order = list(range(len(self.train)))
        random.Random(self.config.seed * 1_000_003 + epoch).shuffle(order)
        return order

    def step_examples(self, step: int) -> list[int]:
        epoch, k = divmod(step, self.steps_per_epoch)
        return self.epoch_order(epoch)[k * self.batch_size:(k + 1) * self.batch_size]

    def poll(self):
        if time.monotonic() - self.threads_checked > 10:   # the machine's load changes
            cpu.share_threads(self.cpus)
            self.threads_checked = time.monotonic()
        reason = self.should_stop()
        if reason in ("cancel", "pause"):
            raise _Stopped(reason)

    # -- losses
    def sft_loss(self, rows, n_labels: int):
        """Sum of token losses / labels in the whole step (so micro-batches add up exactly)."""
        ids, attn, labels = pad_batch(rows, self.pad_id, self.device)
        return losses.sft_loss(self.model, ids, attn, labels, n_labels, self.prefix.hidden(rows, attn), self.head)

    def dpo_loss(self, pairs, n_pairs: int):
        """DPO's loss, the reference being the adapter off."""
        rows = [r for pair in pairs for r in pair]
        ids, attn, labels = pad_batch(rows, self.pad_id, self.device)

        def seq_logps():
            return losses.sequence_logprobs(self.model, ids, attn, labels, self.prefix.hidden(rows, attn), self.head)

        policy, _ = seq_logps()
        with torch.no_grad(), self.model.disable_adapter():
            reference, _ = seq_logps()
        return losses.dpo_loss(policy, reference, self.config.beta, n_pairs)

    def train_step(self) -> dict:
        """One optimizer step over the step's examples, in length-sorted micro-batches."""
        picked = [self.train[i] for i in self.step_examples(self.step)]
        loss_sum, hits, count = 0.0, 0, 0
        if self.dpo:
            chunks = [picked[i:i + 2] for i in range(0, len(picked), 2)]
            for chunk in chunks:
                self.poll()
                loss, h, c = self.dpo_loss(chunk, len(picked))
                loss.backward()
                loss_sum, hits, count = loss_sum + loss.item() * len(picked), hits + h, count + c
            mean_loss = loss_sum / max(1, len(picked))
        else:
            rows = [enc[0] for enc in picked]
            n_labels = sum(sum(mask[1:]) for _, mask in rows)
            for chunk in micro_batches(rows):
                self.poll()
                loss, h, c = self.sft_loss(chunk, n_labels)
                if c:
                    loss.backward()
                loss_sum, hits, count = loss_sum + loss.item() * max(1, n_labels), hits + h, count + c
            mean_loss = loss_sum / max(1, n_labels)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.trained_tokens += sum(self.tokens[i] for i in self.step_examples(self.step))
        self.useful_tokens += sum(len(ids) for enc in picked for ids, _ in enc)
        self.step += 1
        return {"train_loss": mean_loss if count else None,
                "train_mean_token_accuracy": hits / count if count else None}

    @torch.inference_mode()
    def evaluate(self, examples) -> tuple[float | None, float | None]:
        """Mean token loss and accuracy (DPO: mean pair loss and win rate) on ``examples``."""
        self.model.eval()
        try:
            loss_sum, hits, count = 0.0, 0, 0
            if self.dpo:
                for i in range(0, len(examples), 2):
                    self.poll()
                    loss, h, c = self.dpo_loss(examples[i:i + 2], 1)
                    loss_sum, hits, count = loss_sum + loss.item(), hits + h, count + c
                return (loss_sum / count, hits / count) if count else (None, None)
            rows = [enc[0] for enc in examples]
            for chunk in micro_batches(rows, budget=MICRO_BATCH_TOKENS * 2):
                self.poll()
                n = sum(sum(mask[1:]) for _, mask in chunk)
                loss, h, c = self.sft_loss(chunk, n)
                loss_sum, hits, count = loss_sum + loss.item() * n, hits + h, count + c
            return (loss_sum / count, hits / count) if count else (None, None)
        finally:
            self.model.train()

    def interval_valid(self):
        """A validation batch (batch_size examples, rotating through the set), as OpenAI reports."""
        if not self.valid:
            return None, None
        k = min(len(self.valid), max(self.batch_size, 1))
        picked = [self.valid[(self.valid_cursor + j) % len(self.valid)] for j in range(k)]
        self.valid_cursor = (self.valid_cursor + k) % len(self.valid)
        return self.evaluate(picked)

    # -- persistence (pause.py)
    def save_pause(self, where: Path) -> None:
        pause.save(self, where)

    def load_pause(self, where: Path) -> None:
        pause.load(self, where)

    def save_adapter(self, where: Path, metrics: dict | None = None) -> Path:
        self.model.save_pretrained(where)
        if metrics is not None:
            (where / "metrics.json").write_text(json.dumps(metrics, indent=1))
        return where


def train(train_examples: list[dict], valid_examples: list[dict] | None, config: TrainConfig,
          out_dir, *, on_step: Callable[[dict], None] | None = None,
          on_checkpoint: Callable[[int, int, Path, dict], None] | None = None,
          should_stop: Callable[[], str | None] | None = None,
          resume_from=None) -> TrainResult:
    """Fine-tune a LoRA adapter; see the module docstring and ``ftlab`` contracts for the callbacks.

    Writes ``out_dir/checkpoints/step-N`` (one adapter per epoch, with ``metrics.json``),
    ``out_dir/adapter`` (the final one), and on pause ``out_dir/pause`` (pass it as
    ``resume_from`` to continue exactly where it stopped).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        run = Run(train_examples, valid_examples, config, out_dir, should_stop)
    except _Stopped:   # cancelled while loading the model or encoding the data: nothing trained
        return TrainResult(0, 0, None, "cancel")
    if resume_from is not None:
        run.load_pause(Path(resume_from))
    try:
        while run.step < run.total_steps:
            metrics = run.train_step()
            metrics.update(step=run.step, total_steps=run.total_steps, valid_loss=None,
                           valid_mean_token_accuracy=None, full_valid_loss=None,
                           full_valid_mean_token_accuracy=None)
            epoch_end = run.step % run.steps_per_epoch == 0
            if run.step % run.eval_every == 0 or epoch_end:
                metrics["valid_loss"], metrics["valid_mean_token_accuracy"] = run.interval_valid()
            if epoch_end and run.valid:
                metrics["full_valid_loss"], metrics["full_valid_mean_token_accuracy"] = \
                    run.evaluate(run.valid)
            if on_step:
                on_step(dict(metrics))
            if epoch_end:
                ckpt = run.save_adapter(out_dir / "checkpoints" / f"step-{run.step}", metrics)
                if on_checkpoint:
                    on_checkpoint(run.step, run.step // run.steps_per_epoch, ckpt, dict(metrics))
    except _Stopped as stop:
        if stop.reason == "pause":
            run.save_pause(out_dir / "pause")
        return TrainResult(run.trained_tokens, run.step, None, stop.reason, run.useful_tokens)
    final = out_dir / "adapter"
    if final.exists():
        shutil.rmtree(final)
    run.save_adapter(final)
    return TrainResult(run.trained_tokens, run.step, final, None, run.useful_tokens)
