"""Reading a file once, line by line, into compact ``Facts``: the scanner.

``scan(source, checker)`` is the whole interface. A path is streamed (never loaded whole); a file
of ``PARALLEL_MIN_BYTES`` or more is cut at line boundaries into byte ranges that two forked
processes check, and their facts are merged in file order. Facts are arrays, not objects, so
memory stays flat on a 100 MB file.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import sys
from array import array
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable

from ftlab import datasets, tokens
from ftlab.openai_spec import token_limit
from ftlab.validation.examples import check_example
from ftlab.validation.labels import LANGUAGES, guess_language, user_prose

ISSUES_PER_CODE = 1000        # keep at most this many issues per code (counts stay exact)
PARALLEL_MIN_BYTES = 8 << 20  # smaller files are checked in-process: forking costs more
CHUNK_BYTES = 4 << 20         # small ranges: the two workers finish within ~0.2 s of each other
FORMATS = (None, "chat", "dpo", "legacy")


class Facts:
    """What the checks need to know about each example of (part of) a file, plus its issues."""

    def __init__(self, keep_texts: bool = False):
        self.n_lines = 0
        self.crlf = 0
        self.lines = array("q")      # line of each example (local to a byte range until merged)
        self.tokens = array("l")
        self.hashes = array("Q")
        self.formats = array("b")    # index into FORMATS
        self.system = array("b")     # 1 if a chat example starts with a system message
        self.language = array("b")   # 0 unknown, else 1 + index into LANGUAGES (chat examples)
        self.labels: list = []
        self.texts: list | None = [] if keep_texts else None
        self.issues: list = []       # (code, line, message_index, values)
        self.counts: dict[str, int] = {}

    def add_issue(self, code, line, index, values) -> None:
        n = self.counts.get(code, 0)
        self.counts[code] = n + 1
        if n < ISSUES_PER_CODE:
            self.issues.append((code, line, index, values))

    @classmethod
    def merge(cls, parts: list[Facts]) -> Facts:
        """One ``Facts`` with file line numbers (each part numbered its lines from 1)."""
        out, offset = cls(bool(parts) and parts[0].texts is not None), 0
        for p in parts:
            out.lines.extend(x + offset for x in p.lines)
            for attr in ("tokens", "hashes", "formats", "system", "language", "labels"):
                getattr(out, attr).extend(getattr(p, attr))
            if out.texts is not None:
                out.texts.extend(p.texts)
            seen = {code: 0 for code in p.counts}  # issues of each code met so far in this part
            for code, line, index, values in p.issues:
                if out.counts.get(code, 0) + seen[code] < ISSUES_PER_CODE:  # the cap, file-wide
                    out.issues.append((code, line + offset if line else line, index, values))
                seen[code] += 1
            for code, n in p.counts.items():
                out.counts[code] = out.counts.get(code, 0) + n
            out.crlf += p.crlf
            offset += p.n_lines
        out.n_lines = offset
        return out


class Checker:
    """Checks examples one by one and records their facts."""

    def __init__(self, model: str, label: Callable | None = None, keep_texts: bool = False):
        self.model = model
        self.limit = token_limit(model)
        self.counter = tokens.TokenCounter(tokens.encoding_for_model(model))
        self.label = label
        self.keep_texts = keep_texts

    def add(self, facts: Facts, line: int, obj: Any) -> None:
        try:
            self._add(facts, line, obj)
        except RecursionError:  # parsed, but too deep to walk: still a coded error
            facts.add_issue("invalid_json", line, None, {"detail": "nesting too deep"})

    def _add(self, facts: Facts, line: int, obj: Any) -> None:
        fmt, found = check_example(obj)
        for code, index, values in found:
            facts.add_issue(code, line, index, values)
        if not isinstance(obj, dict):
            return
        n = self.counter.example(obj)
        if n > self.limit:
            facts.add_issue("too_many_tokens", line, None, {"tokens": n, "limit": self.limit, "model": self.model})
        text = datasets.example_text(obj)
        system, language = 0, 0
        if fmt == "chat" and isinstance(obj["messages"], list):
            first = obj["messages"][0] if obj["messages"] else None
            system = isinstance(first, dict) and first.get("role") == "system"
            lang = guess_language(user_prose(obj))
            language = 0 if lang is None else 1 + LANGUAGES.index(lang)
        facts.lines.append(line)
        facts.tokens.append(n)
        facts.hashes.append(datasets.text_hash(text))
        facts.formats.append(FORMATS.index(fmt))
        facts.system.append(system)
        facts.language.append(language)
        if self.label is not None:
            try:
                facts.labels.append(self.label(obj))
            except Exception:  # a student's label function must not stop the validation
                facts.labels.append(None)
        if self.keep_texts:
            facts.texts.append(text)


def scan(source, checker: Checker, progress: bool = False) -> Facts:
    """The facts of a JSONL path or of an iterable of parsed examples."""
    if not isinstance(source, (str, Path)):
        facts = Facts(checker.keep_texts)
        for obj in source:
            facts.n_lines += 1
            checker.add(facts, facts.n_lines, obj)
        return facts
    path = Path(source)
    facts = Facts.merge(_scan_file(path, checker, progress))
    with open(path, "rb") as f:
        if f.read(3) == datasets.BOM:
            facts.add_issue("utf8_bom", 1, None, {})
    return facts


def scan_range(checker: Checker, path: str, start: int, end: int | None) -> Facts:
    """The facts of the lines in bytes ``start:end`` of ``path`` (lines numbered from 1)."""
    facts = Facts(checker.keep_texts)
    with open(path, "rb") as f, _gc_paused():
        for raw, _ in datasets.iter_raw_lines(f, start, end):
            facts.n_lines += 1
            line = facts.n_lines
            if raw is None:
                facts.add_issue("line_too_long", line, None, {"mb": datasets.MAX_LINE_BYTES >> 20})
                continue
            if raw.endswith(b"\r"):
                facts.crlf += 1
            # parse_line strips a BOM only on line 1, and only the file's first line is line 1
            obj, error = datasets.parse_line(raw, line if start == 0 else 0)
            if error is not None:
                facts.add_issue(error.code, line, None, {"column": error.column, "detail": error.message})
            else:
                checker.add(facts, line, obj)
    return facts


@contextmanager
def _gc_paused():
    """Pause the cycle collector: parsed lines hold no cycles, and its passes cost ~20% CPU."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _scan_file(path: Path, checker: Checker, progress: bool) -> list[Facts]:
    size = path.stat().st_size
    workers = min(2, os.cpu_count() or 1)
    # fork shares the built tokenizer with the workers for free; only Linux forks safely
    if size < PARALLEL_MIN_BYTES or workers < 2 or not sys.platform.startswith("linux"):
        bar = _progress_bar(size, path.name) if progress else None
        parts = [scan_range(checker, str(path), 0, None)]
        if bar:
            bar.update(size)
            bar.close()
        return parts
    ranges = _ranges(path, size, workers)
    bar = _progress_bar(size, path.name) if progress else None
    parts: list = [None] * len(ranges)
    for k, facts in fork_map(lambda s, e: scan_range(checker, str(path), s, e), ranges, workers):
        parts[k] = facts
        if bar:
            bar.update(ranges[k][1] - ranges[k][0])
    if bar:
        bar.close()
    return parts


def fork_map(fn: Callable, args: list[tuple], workers: int) -> Iterable[tuple[int, Any]]:
    """Yield ``(k, fn(*args[k]))`` as forked worker processes finish them (Linux only).

    ``fn`` reaches the workers by fork, never pickled: a built tokenizer or a student's label
    function costs nothing to share. Only the results travel back (pickled).
    """
    ctx = multiprocessing.get_context("fork")
    tasks, results = ctx.SimpleQueue(), ctx.Queue()
    gc.freeze()  # the collector would otherwise touch, and so copy, every inherited page
    try:
        procs = [ctx.Process(target=_work, args=(fn, tasks, results), daemon=True) for _ in range(workers)]
        for p in procs:
            p.start()
    finally:
        gc.unfreeze()
    for k, a in enumerate(args):
        tasks.put((k, a))
    for _ in procs:
        tasks.put(None)
    try:
        for _ in args:
            k, error, value = _next_result(results, procs)
            if error:
                raise RuntimeError(f"validation worker failed: {error}")
            yield k, value
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()


def _work(fn, tasks, results) -> None:
    while (task := tasks.get()) is not None:
        k, a = task
        try:
            results.put((k, None, fn(*a)))
        except Exception as err:  # reported to the parent, which raises
            results.put((k, f"{type(err).__name__}: {err}", None))


def _next_result(results, procs):
    """The next result; raise if every worker is gone without sending it (e.g. killed)."""
    while True:
        try:
            return results.get(timeout=0.5)
        except queue.Empty:
            if all(p.exitcode is not None for p in procs):
                raise RuntimeError("validation workers exited early (out of memory?)") from None


def _next_line_start(f, offset: int) -> int:
    """The first line start at or after ``offset`` (scanning in 1 MB blocks: lines may be huge)."""
    if offset == 0:
        return 0
    f.seek(offset - 1)
    pos = offset - 1
    while True:
        block = f.read(1 << 20)
        if not block:
            return pos
        k = block.find(b"\n")
        if k >= 0:
            return pos + k + 1
        pos += len(block)


def _ranges(path: Path, size: int, workers: int) -> list[tuple[int, int]]:
    # A multiple of the worker count, so no worker is left alone with the last range.
    n = workers * max(1, -(-size // (CHUNK_BYTES * workers)))
    with open(path, "rb") as f:
        starts = sorted({_next_line_start(f, size * k // n) for k in range(n)})
    return [(s, e) for s, e in zip(starts, starts[1:] + [size]) if s < e]


def _progress_bar(total: int, name: str):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr, leave=False)
