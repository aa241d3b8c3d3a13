"""Chat completions on the stand-in model, its fine-tuned adapters and their checkpoints.

One base model stays in memory; LoRA adapters are loaded on demand into the same peft model (a
small LRU cache), the base answering with the adapter disabled. Concurrent requests for the same
weights are decoded together (``batching``: on a CPU that is nearly free per extra row). Every
OpenAI parameter maps onto a few readable lines:
``temperature`` (0 = greedy), ``top_p`` (nucleus), ``max_tokens`` (→ ``finish_reason="length"``),
``n`` (rows of one batch), ``stop`` strings (cut before them, ``"stop"``), ``seed`` (a private
``torch.Generator``: same seed, same answer), ``tools`` (a ``tool_prompt.ToolUse``: functions in the
prompt; a required call decoded under its JSON schema; calls read back into ``Choice.tool_calls``).
"""
from __future__ import annotations

import os
import queue
import threading
from collections import OrderedDict
from contextlib import nullcontext
from pathlib import Path
from typing import Iterator

from ftlab.sandbox import cpu  # noqa: I001  (first: it sets the kernels before torch loads)

import torch

from ftlab.sandbox import layout, models
from ftlab.sandbox.batching import Batcher, Request
from ftlab.sandbox.greedyhead import GreedyHead
from ftlab.sandbox.replies import ChatResult, Choice, Stream, StreamResult
from ftlab.sandbox.tool_prompt import ToolUse, template_messages

DEFAULT_MAX_TOKENS = 512   # OpenAI's default is "up to the context"; a 135M model rambles, so cap it
MAX_ADAPTERS = 8           # adapters kept loaded at once (each is a few MB)


def _first_stop(text: str, stop: list[str]) -> int:
    """Index of the earliest stop string in ``text``, or -1."""
    hits = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return min(hits) if hits else -1


class Engine:
    """Holds the base model and its adapters; ``chat`` and ``stream`` answer chat requests."""

    def __init__(self, base_dir=None, device: str | None = None):
        cpu.configure()
        if base_dir is None:
            self.model, self.tokenizer = models.load_base(device)
        else:
            from transformers import AutoModelForCausalLM, AutoTokenizer
            self.tokenizer = AutoTokenizer.from_pretrained(base_dir)
            self.model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
            self.model.to(device or models.default_device()).eval()
        self.device = next(self.model.parameters()).device
        if self.device.type == "cpu":   # a lone row's step reads the weights faster (see layout)
            layout.lone_row_layout(self.model)
        self.eos_ids = {i for i in (self.tokenizer.eos_token_id, self.model.generation_config.eos_token_id)
                        if isinstance(i, int)}
        self.context = getattr(self.model.config, "max_position_embeddings", 8192)
        # greedy steps of a single row read a float16 copy of the output layer (see greedyhead)
        self.fast_greedy = self.device.type == "cpu"
        self._greedy_head: GreedyHead | None = None
        self._adapters: OrderedDict[str, str] = OrderedDict()   # key → peft adapter name
        self._tokenizer_lock = threading.Lock()   # one Rust tokenizer, many request threads
        self._batcher = Batcher(self)

    # -- adapters
    @staticmethod
    def weights_key(adapter_dir):
        """What identifies a set of weights: None (base) or the adapter's path and mtime."""
        if adapter_dir is None:
            return None
        path = Path(adapter_dir).resolve()
        weights = path / "adapter_model.safetensors"
        return f"{path}@{weights.stat().st_mtime_ns if weights.exists() else 0}"

    def use(self, adapter_dir):
        """Make ``adapter_dir`` (None = base) the active weights; returns a context to run under.
        Called only by the batcher's thread, between batches."""
        from peft import PeftModel

        if adapter_dir is None:
            return self.model.disable_adapter() if isinstance(self.model, PeftModel) else nullcontext()
        path, key = Path(adapter_dir).resolve(), self.weights_key(adapter_dir)
        name = self._adapters.get(key)
        if name is None:
            name = f"a{abs(hash(key)) % 10**12}"
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(str(path), adapter_name=name)
            else:
                self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=name)
            self._adapters[key] = name
        self._adapters.move_to_end(key)
        self.model.set_adapter(name)
        while len(self._adapters) > MAX_ADAPTERS:
            self.model.delete_adapter(self._adapters.popitem(last=False)[1])
        self.model.eval()
        return nullcontext()

    def prefill(self, input_ids, cache) -> torch.Tensor:
        """Float32 logits of the token after each row of ``input_ids``, filling ``cache``."""
        return self.model(input_ids=input_ids, past_key_values=cache, use_cache=True, logits_to_keep=1).logits[:, -1]

    def decode_step(self, input_ids, attention_mask, position_ids, cache, greedy: bool = False) -> torch.Tensor:
        """Float32 logits of each row's next token (one token per row). ``greedy``: only the
        argmax will be used, so a single row may take the float16 output layer's shortcut."""
        body = self.model.get_decoder()   # with an adapter, its LoRA layers are inside
        hidden = body(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                      past_key_values=cache, use_cache=True).last_hidden_state[:, -1]
        if greedy and len(hidden) == 1 and self.fast_greedy:
            return self._fast_head()(hidden)
        return self.model.get_output_embeddings()(hidden)

    def _fast_head(self) -> GreedyHead:
        """Made on first use, in the batcher's thread: one multi-threaded torch operation in the
        main thread (this copy, at start) made every later batched step ~35% slower here."""
        if self._greedy_head is None:
            self._greedy_head = GreedyHead(self.model.get_output_embeddings().weight)
        return self._greedy_head

    # -- generation
    def prompt_ids(self, messages: list[dict], tools: ToolUse | None = None) -> list[int]:
        """The prompt's tokens: the conversation in ``tool_prompt``'s template (as at training)."""
        turns = template_messages(messages, tools.shown if tools else None)
        with self._tokenizer_lock:
            text = self.tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
            return self.tokenizer(text + (tools.prefix if tools else ""), add_special_tokens=False)["input_ids"]

    def _decode(self, tokens: list[int]) -> str:
        with self._tokenizer_lock:
            return self.tokenizer.decode(tokens, skip_special_tokens=True)

    def constraint(self, response_format: dict | None, tools: ToolUse | None = None):
        """The decoding constraint of a forced call or a ``response_format`` (None for plain text)."""
        from .constrained import call_constraint, json_constraint

        if tools and tools.forced:
            return call_constraint(self.tokenizer, self.eos_ids, tools.forced)
        kind = (response_format or {}).get("type", "text")
        if kind == "text":
            return None
        schema = response_format["json_schema"].get("schema") if kind == "json_schema" else None
        return json_constraint(self.tokenizer, self.eos_ids, schema)

    def _steps(self, prompt: list[int], n: int, temperature: float, top_p: float, max_tokens: int,
               seed: int | None, adapter_dir, response_format=None, tools=None) -> tuple[Request, Iterator[list[tuple[int, int]]]]:
        """Submit the request to the batcher; iterate ``(row, token)`` lists, one per step."""
        gen = torch.Generator().manual_seed(seed if seed is not None else int.from_bytes(os.urandom(4), "little"))
        request = Request(prompt, n, temperature, top_p, max_tokens, adapter_dir,
                          self.weights_key(adapter_dir), gen, constraint=self.constraint(response_format, tools))
        self._batcher.submit(request)

        def events():
            while (item := request.events.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        return request, events()

    def _generate(self, messages, adapter_dir, temperature, top_p, max_tokens, n, stop, seed, response_format=None,
                  tools=None):
        """Core loop: yields (row, text so far, finished reason or None, tokens) as rows progress."""
        stop = [stop] if isinstance(stop, str) else list(stop or [])
        prompt = self.prompt_ids(messages, tools)
        limit = max(0, min(max_tokens or DEFAULT_MAX_TOKENS, self.context - len(prompt)))
        tokens = [[] for _ in range(n)]
        done: list[str | None] = [None] * n
        yield len(prompt)
        if limit:
            request, steps = self._steps(prompt, n, temperature, top_p, limit, seed, adapter_dir, response_format,
                                         tools)
            try:
                for new in steps:
                    for row, tok in new:
                        if done[row]:
                            continue
                        if tok in self.eos_ids:
                            done[row] = "stop"
                            yield row, self._decode(tokens[row]), "stop", len(tokens[row])
                            continue
                        tokens[row].append(tok)
                        text = self._decode(tokens[row])
                        cut = _first_stop(text, stop)
                        if cut >= 0:
                            done[row] = "stop"
                            request.stopped.add(row)   # the batcher drops the row at its next step
                            yield row, text[:cut], "stop", len(tokens[row])
                        else:
                            yield row, text, None, len(tokens[row])
            finally:   # also when the caller stops reading: free the rows
                request.stopped.update(range(n))
        for row in range(n):
            if not done[row]:
                yield row, self._decode(tokens[row]), "length", len(tokens[row])

    def chat(self, messages: list[dict], *, adapter_dir=None, temperature: float = 1.0, top_p: float = 1.0,
             max_tokens: int | None = None, n: int = 1, stop=None, seed: int | None = None,
             response_format: dict | None = None, tools: ToolUse | None = None) -> ChatResult:
        """Complete a conversation ``n`` times: ``ChatResult(choices, prompt_tokens)``."""
        events = self._generate(messages, adapter_dir, temperature, top_p, max_tokens, n, stop, seed, response_format,
                                tools)
        prompt_tokens = next(events)
        final: dict[int, Choice] = {}
        for row, text, reason, count in events:
            if reason:
                final[row] = Choice(text, reason, count)
        return ChatResult([final[i].read_calls(tools) for i in range(n)], prompt_tokens)

    def stream(self, messages: list[dict], *, adapter_dir=None, temperature: float = 1.0, top_p: float = 1.0,
               max_tokens: int | None = None, stop=None, seed: int | None = None,
               response_format: dict | None = None, tools: ToolUse | None = None) -> Stream:
        """One completion as text deltas (see ``Stream``); text that may begin a stop string is
        held back until it is clear it does not. The result's ``tool_calls``: see ``Choice``."""
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        hold = max((len(s) for s in stops), default=1) - 1

        def deltas():
            events = self._generate(messages, adapter_dir, temperature, top_p, max_tokens, 1, stops, seed,
                                    response_format, tools)
            prompt_tokens, sent = next(events), 0
            for _, text, reason, count in events:
                safe = len(text) if reason else len(text) - hold
                if not reason and text.endswith("\ufffd"):   # half of a multi-byte character
                    safe = min(safe, len(text) - 1)
                if safe > sent:
                    yield text[sent:safe]
                    sent = safe
                if reason:
                    return StreamResult.of(Choice(text, reason, count).read_calls(tools), prompt_tokens)
            return StreamResult("", "length", 0, prompt_tokens)

        return Stream(deltas())

    def stream_detached(self, messages: list[dict], **settings) -> Stream:
        """``stream``, generated to its end in a thread of its own whatever the reader does: a
        client that stops reading can then never keep the engine (and every later request) waiting."""
        out: queue.Queue = queue.Queue()

        def produce():
            try:
                stream = self.stream(messages, **settings)
                for delta in stream:
                    out.put(delta)
                out.put(stream.result)
            except Exception as exc:   # re-raised to the reader
                out.put(exc)

        def deltas():
            while isinstance(item := out.get(), str):
                yield item
            if isinstance(item, Exception):
                raise item
            return item

        threading.Thread(target=produce, daemon=True, name="ftlab-stream").start()
        return Stream(deltas())
