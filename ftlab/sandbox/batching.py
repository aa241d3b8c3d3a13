"""Continuous batching: concurrent chat requests for the same weights share each decoding step.

Why: on a CPU, one decoding step of the 135M stand-in is bound by reading its weights from
memory (about 0.5 GB a step in float32), not by arithmetic, so 8 rows cost little more than 1
(figures in benchmarks/sandbox_figures.md). A step uses the cores other processes leave
free (``cpu``). A single row's step has its own shortcuts: its products split in two, one per
core (``layout.lone_row_layout``), and when greedy, a float16 output layer with float32 refinement
(``greedyhead``: same argmax). One scheduler thread owns the model:

* a new request is prefilled on its own, then joins the running batch at the next step, its KV
  cache left-padded to the batch's length (each row keeps its own positions);
* a finished row (end of turn, ``max_tokens``, a stop string seen by the caller) leaves at once;
* a batch runs one set of weights (the base, or one adapter). Requests join in arrival order and
  a request for other weights stops the queue there, so it waits only for the batch to drain.

Each request samples with its own ``torch.Generator``, so a seeded request draws the same tokens
whoever shares its batch.
"""
from __future__ import annotations

import atexit
import queue
import threading
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field

from ftlab.sandbox import cpu  # noqa: I001  (first: it sets the kernels before torch loads)

import torch
import torch.nn.functional as F

MAX_ROWS = 16   # rows decoded together: past ~16, a step on 2 cores is no longer nearly free


def sample(logits: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator) -> torch.Tensor:
    """Next token per row: argmax at temperature 0, else nucleus sampling with ``gen``."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        outside = sorted_p.cumsum(-1) - sorted_p >= top_p   # keep the smallest set reaching top_p
        sorted_p[outside] = 0.0
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=gen).squeeze(-1)


@dataclass(eq=False)
class Request:
    """One chat request. ``events`` receives, after every step, a list of ``(row, token)`` for
    its rows still running, then ``None`` when all are done (or an exception)."""
    prompt: list[int]
    n: int
    temperature: float
    top_p: float
    limit: int                 # new tokens per row at most
    adapter_dir: object        # None = the base model
    key: object                # which weights it needs (None = base)
    gen: torch.Generator
    events: queue.Queue = field(default_factory=queue.Queue)
    stopped: set = field(default_factory=set)   # rows the caller has ended (stop strings)
    constraint: object = None   # constrained.Constraint: the tokens allowed next (response_format)

    def allowed(self, logits: torch.Tensor, generated: list[list[int]]) -> torch.Tensor:
        """The rows' logits, masked to what the constraint allows after each row's tokens."""
        if self.constraint is None:
            return logits
        from .constrained import mask
        return torch.stack([mask(row, self.constraint(self.prompt + tokens))
                            for row, tokens in zip(logits, generated)])


@dataclass(eq=False)
class _Row:
    request: Request
    index: int       # choice index within its request
    last: int        # the token to feed next
    position: int    # that token's position in the sequence
    count: int = 1   # tokens generated so far
    tokens: list = field(default_factory=list)   # kept only for a constrained request


def _left_pad(t: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    """Zero-pad ``t`` on the left of ``dim`` (the last or the second-to-last) up to ``width``."""
    missing = width - t.shape[dim]
    if missing == 0:
        return t
    return F.pad(t, (missing, 0) if dim == -1 else (0, 0, missing, 0))


class Batcher:
    """The scheduler thread of an ``inference.Engine`` (``engine.model``, ``engine.use``).

    Keep every multi-threaded torch operation of the process in this thread: once another
    thread has run one, libgomp manages more threads than there are cores, stops spinning
    between parallel regions, and each step waits for wake-ups (a lone request then decoded
    at about 60 % of its speed; benchmarks/sandbox_figures.md)."""

    def __init__(self, engine):
        self.engine = engine
        self._pending: deque[Request] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._others = cpu.OtherProcesses()
        self._reset()

    def _reset(self) -> None:
        self.rows: list[_Row] = []
        self.cache = None
        self.mask = None
        self.key = None
        self._weights = nullcontext()

    def submit(self, request: Request) -> None:
        with self._cond:
            if self._closing:
                raise RuntimeError("the inference engine was closed")
            self._pending.append(request)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="ftlab-batcher", daemon=True)
                self._thread.start()
                atexit.register(self.close)
            self._cond.notify()

    # -- the scheduler thread
    def close(self) -> None:
        """Stop the scheduler thread after its current step. Run at exit: a daemon thread still
        inside torch when Python finalizes is ended by ``pthread_exit``, which aborts the
        process ("terminate called without an active exception", 1 run in 3 here)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self.rows and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return self._refuse_all()
                joining = self._take()
            with torch.inference_mode():
                for request in joining:
                    self._guarded(self._join, [request], request)
                if self.rows:
                    self._guarded(self._step, {r.request for r in self.rows})
                else:
                    self._drain()

    def _refuse_all(self) -> None:
        """Closing: every request still waiting or decoding gets an error, not silence."""
        error = RuntimeError("the inference engine was closed")
        for request in {r.request for r in self.rows} | set(self._pending):
            request.events.put(error)
        self._pending.clear()
        self._drain()   # leaves the batch's weights too, as an emptied batch does

    def _guarded(self, work, requests, *args) -> None:
        """Run a step; if it breaks, fail its requests (not the thread) and start afresh."""
        try:
            work(*args)
        except Exception as exc:
            for request in set(requests) | {r.request for r in self.rows}:
                request.events.put(exc)
            self._drain()

    def _take(self) -> list[Request]:
        """Pending requests that may join now: the queue's prefix for the batch's weights."""
        if not self.rows:
            self.key = self._pending[0].key
        joining, rows = [], len(self.rows)
        while self._pending and self._pending[0].key == self.key:
            if rows and rows + self._pending[0].n > MAX_ROWS:
                break
            request = self._pending.popleft()
            joining.append(request)
            rows += request.n
        return joining

    def _join(self, request: Request) -> None:
        """Prefill a request's prompt (its ``n`` rows) and add its rows to the batch."""
        from transformers import DynamicCache

        if not self.rows:   # a new batch: switch to the request's weights
            self._weights = self.engine.use(request.adapter_dir)
            self._weights.__enter__()
        ids = torch.tensor([request.prompt] * request.n, device=self.engine.device)
        cache = DynamicCache()
        cpu.share_threads(self._others)
        logits = self.engine.prefill(ids, cache)
        logits = request.allowed(logits.cpu(), [[] for _ in range(request.n)])
        first = sample(logits, request.temperature, request.top_p, request.gen).tolist()
        request.events.put(list(enumerate(first)))
        rows = [_Row(request, i, tok, len(request.prompt), tokens=[tok] if request.constraint else [])
                for i, tok in enumerate(first)]
        keep = [i for i, row in enumerate(rows) if not self._finished(row)]
        if keep:
            self._merge(cache, keep)
            self.rows += [rows[i] for i in keep]
        else:
            self._end(request)

    def _merge(self, cache, keep: list[int]) -> None:
        """Append the kept rows of a prefilled cache to the batch's cache, left-padding the shorter."""
        index = torch.tensor(keep, device=self.engine.device)
        new_mask = torch.ones((len(keep), cache.get_seq_length()), dtype=torch.long, device=index.device)
        layers = [(layer.keys[index], layer.values[index]) for layer in cache.layers]
        if self.cache is None:
            for layer, (k, v) in zip(cache.layers, layers):
                layer.keys, layer.values = k, v
            self.cache, self.mask = cache, new_mask
            return
        width = max(self.mask.shape[1], new_mask.shape[1])
        self.mask = torch.cat([_left_pad(self.mask, width, -1), _left_pad(new_mask, width, -1)])
        for layer, (k, v) in zip(self.cache.layers, layers):
            layer.keys = torch.cat([_left_pad(layer.keys, width, -2), _left_pad(k, width, -2)])
            layer.values = torch.cat([_left_pad(layer.values, width, -2), _left_pad(v, width, -2)])

    def _step(self) -> None:
        """One decoding step for every row; finished rows leave the batch."""
        device = self.engine.device
        ids = torch.tensor([[r.last] for r in self.rows], device=device)
        positions = torch.tensor([[r.position] for r in self.rows], device=device)
        self.mask = F.pad(self.mask, (0, 1), value=1)
        cpu.share_threads(self._others, most=2 if len(self.rows) == 1 else None)   # a lone row: two halves
        greedy = all(r.request.temperature <= 0 and r.request.constraint is None for r in self.rows)
        logits = self.engine.decode_step(ids, self.mask, positions, self.cache, greedy).cpu()
        by_request: dict[Request, list[int]] = {}
        for i, row in enumerate(self.rows):
            by_request.setdefault(row.request, []).append(i)
        for request, where in by_request.items():
            rows = request.allowed(logits[where], [self.rows[i].tokens for i in where])
            tokens = sample(rows, request.temperature, request.top_p, request.gen).tolist()
            for i, tok in zip(where, tokens):
                row = self.rows[i]
                row.last, row.position, row.count = tok, row.position + 1, row.count + 1
                if request.constraint:
                    row.tokens.append(tok)
            request.events.put([(self.rows[i].index, tok) for i, tok in zip(where, tokens)])
        self._keep([i for i, row in enumerate(self.rows) if not self._finished(row)])

    def _finished(self, row: _Row) -> bool:
        return (row.last in self.engine.eos_ids or row.count >= row.request.limit
                or row.index in row.request.stopped)

    def _keep(self, keep: list[int]) -> None:
        """Drop the other rows (ending requests with no row left) and unneeded left padding."""
        if len(keep) == len(self.rows):
            return
        before = {r.request for r in self.rows}
        self.rows = [self.rows[i] for i in keep]
        for request in before - {r.request for r in self.rows}:
            self._end(request)
        if not self.rows:
            return self._drain()
        index = torch.tensor(keep, device=self.engine.device)
        mask = self.mask[index]
        start = int(mask.any(0).nonzero()[0])   # columns that are padding in every row go
        self.mask = mask[:, start:]
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[index, :, start:], layer.values[index, :, start:]

    def _end(self, request: Request) -> None:
        request.events.put(None)

    def _drain(self) -> None:
        """The batch is empty: leave its weights and forget its cache."""
        self._weights.__exit__(None, None, None)
        self._reset()
