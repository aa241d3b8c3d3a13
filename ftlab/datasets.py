"""JSONL datasets: stream, read, write, convert legacy pairs, split, find duplicates.

Reading is streaming and line-precise: a bad line gives a ``LineError`` (code, line, column,
message) instead of an exception, so a validator can report every problem in one pass without
ever holding the whole file in memory.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from ftlab.i18n import tr
from ftlab.openai_spec import content_text

try:  # orjson parses 3-4x faster; optional, the standard json gives the same values and errors
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - depends on the environment
    _fast_loads = None

# A line longer than this is reported, not parsed: one example of 65,536 tokens is far smaller,
# and the cap keeps memory bounded on a file that is one giant line.
MAX_LINE_BYTES = 16 * 1024 * 1024
BOM = b"\xef\xbb\xbf"


@dataclass
class LineError:
    code: str
    line: int
    column: int | None
    message: str


class DatasetError(ValueError):
    """Raised by ``read_jsonl`` on the first bad line; ``.error`` is the ``LineError``."""

    def __init__(self, error: LineError):
        super().__init__(f"line {error.line}: [{error.code}] {error.message}")
        self.error = error


def _reject_constant(name: str):
    # NaN and Infinity are not JSON; Python's json would accept them silently.
    raise ValueError(f"{name} is not valid JSON")


_SLOW = object()  # "use the standard json path"
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def _parse_fast(raw: bytes) -> Any:
    """The value of a good line via orjson, or ``_SLOW`` when the standard path must decide.

    Any line orjson refuses goes to the standard path, which gives the coded error (or the value:
    json accepts lone surrogates and 1e400). orjson turns integers beyond 64 bits into floats,
    while json keeps them exact, so lines with a run of 19+ digits take the standard path too.
    """
    if _fast_loads is None or _NINETEEN_DIGITS in raw.translate(_DIGITS_TO_ZERO):
        return _SLOW
    try:
        return _fast_loads(raw)
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        return _SLOW


def parse_line(raw: bytes, line_no: int) -> tuple[Any, LineError | None]:
    """Parse one raw line (without its "\\n") into a JSON value or a ``LineError``.

    A UTF-8 BOM on line 1 and a trailing "\\r" (CRLF files) are tolerated: the file is left as it
    is and the validator reports them separately as warnings.
    """
    if line_no == 1 and raw.startswith(BOM):
        raw = raw[len(BOM):]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    value = _parse_fast(raw)
    if value is not _SLOW:
        return value, None
    if not raw.strip():
        return None, LineError("blank_line", line_no, None, tr("Riga vuota.", "Blank line."))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, LineError("invalid_utf8", line_no, exc.start + 1, tr(
            "Byte non UTF-8 alla colonna {col}: salva il file in UTF-8.",
            "Invalid UTF-8 byte at column {col}: save the file as UTF-8.", col=exc.start + 1))
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        return None, LineError("invalid_json", line_no, exc.colno, tr(
            "JSON non valido (colonna {col}): {msg}.", "Invalid JSON (column {col}): {msg}.",
            col=exc.colno, msg=exc.msg))
    except (ValueError, RecursionError) as exc:
        reason = "nesting too deep" if isinstance(exc, RecursionError) else str(exc)
        return None, LineError("invalid_json", line_no, None, tr(
            "JSON non valido: {msg}.", "Invalid JSON: {msg}.", msg=reason))


def iter_raw_lines(f, start: int = 0, end: int | None = None,
                   max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[bytes | None, int]]:
    """Yield ``(raw line without "\\n", offset)`` from a binary file between byte offsets.

    A line longer than ``max_line_bytes`` yields ``(None, offset)`` and is skipped in 1 MB
    chunks, so memory stays bounded whatever the file holds.
    """
    f.seek(start)
    pos = start
    while end is None or pos < end:
        raw = f.readline(max_line_bytes + 1)
        if not raw:
            return
        line_start = pos
        pos += len(raw)
        if raw.endswith(b"\n"):
            yield raw[:-1], line_start
        elif len(raw) <= max_line_bytes:
            yield raw, line_start  # last line without a final newline
        else:
            while raw and not raw.endswith(b"\n"):
                raw = f.readline(1 << 20)
                pos += len(raw)
            yield None, line_start


def too_long_error(line_no: int, max_line_bytes: int = MAX_LINE_BYTES) -> LineError:
    return LineError("line_too_long", line_no, None, tr(
        "Riga più lunga di {mb} MB: non è un esempio valido (manca un a capo?).",
        "Line longer than {mb} MB: not a valid example (missing a newline?).",
        mb=max_line_bytes // (1024 * 1024)))


def iter_jsonl(path, *, max_line_bytes: int = MAX_LINE_BYTES
               ) -> Iterator[tuple[int, Any, LineError | None]]:
    """Stream ``(line number, parsed value, error)`` for every line of a JSONL file.

    Exactly one of value/error is meaningful: error is None for a good line. Blank lines are
    reported as ``blank_line`` errors (callers may treat them as warnings).
    """
    with open(path, "rb") as f:
        for line_no, (raw, _) in enumerate(iter_raw_lines(f, max_line_bytes=max_line_bytes), 1):
            if raw is None:
                yield line_no, None, too_long_error(line_no, max_line_bytes)
            else:
                value, error = parse_line(raw, line_no)
                yield line_no, value, error


def read_jsonl(path) -> list[dict]:
    """Read a whole (small) JSONL file; raise ``DatasetError`` on the first bad line.

    Blank lines are skipped, as most JSONL readers do.
    """
    records = []
    for _, value, error in iter_jsonl(path):
        if error is not None and error.code != "blank_line":
            raise DatasetError(error)
        if error is None:
            records.append(value)
    return records


def write_jsonl(examples: Iterable[Any], path) -> Path:
    """Write one JSON value per line (UTF-8, "\\n"), atomically: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for example in examples:
                f.write(json.dumps(example, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# Legacy prompt/completion conventions (babbage/davinci era): a separator closing the prompt,
# a leading space and a stop marker closing the completion. Chat models need none of them: the
# assistant message ends where the message ends, so we strip them when converting.
LEGACY_SEPARATORS = ("\n\n###\n\n", "\n\n->\n\n", "\n###\n", " ->", "->", "###")
LEGACY_END_MARKERS = ("\n\nEND", "\nEND", " END", "END", "\n")


def _strip_suffix(text: str, suffixes) -> str:
    for suffix in suffixes:
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def legacy_to_chat(prompt: str, completion: str, system: str | None = None) -> dict:
    """One legacy prompt/completion pair as a chat example (separators and END marker removed)."""
    user = _strip_suffix(prompt.rstrip(" "), LEGACY_SEPARATORS).strip()
    assistant = _strip_suffix(completion.rstrip(), LEGACY_END_MARKERS).strip()
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages}


def convert_legacy(records: Iterable[dict], system: str | None = None) -> list[dict]:
    """Convert ``{"prompt", "completion"}`` records to chat examples."""
    return [legacy_to_chat(r["prompt"], r["completion"], system) for r in records]


def _stable_key(example: Any, seed: int) -> bytes:
    # Python's hash() changes per process (PYTHONHASHSEED); a digest of the JSON does not.
    data = json.dumps(example, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.blake2b(data, digest_size=16, key=str(seed).encode()).digest()


def split(examples: list, fractions=(0.8, 0.1, 0.1), seed: int = 42) -> tuple[list, list, list]:
    """Deterministic train/validation/test split: same seed and input give the same split.

    Examples are ordered by a keyed hash of their content, so the split depends neither on the
    input order's accidents nor on Python's hash seed.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError("fractions must be three non-negative numbers summing to 1")
    order = sorted(range(len(examples)), key=lambda i: (_stable_key(examples[i], seed), i))
    n = len(order)
    n_train = round(n * fractions[0])
    n_valid = round(n * (fractions[0] + fractions[1])) - n_train
    pick = [examples[i] for i in order]
    return pick[:n_train], pick[n_train:n_train + n_valid], pick[n_train + n_valid:]


_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")


def normalize_text(s: str) -> str:
    """Lower case, Unicode NFKC, no punctuation, single spaces: what dedupe compares."""
    s = unicodedata.normalize("NFKC", s).casefold()
    return _SPACES.sub(" ", _PUNCT.sub(" ", s)).strip()


def example_text(example: Any) -> str:
    """All message contents of an example (chat, DPO or legacy) joined by newlines."""
    if not isinstance(example, dict):
        return ""
    if "prompt" in example or "completion" in example:
        return "\n".join(str(example.get(k, "")) for k in ("prompt", "completion"))
    messages = example.get("messages")
    if messages is None and isinstance(example.get("input"), dict):
        messages = list(example["input"].get("messages") or [])
        for key in ("preferred_output", "non_preferred_output"):
            messages += example.get(key) or []
    parts = []
    for m in messages if isinstance(messages, list) else []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.append(_parts_text(content))
    return "\n".join(parts)


def _parts_text(parts: list) -> str:
    """Content parts as text: the text parts, and a short digest per image, so that the same
    question about two different images is not a duplicate."""
    images = [p["image_url"]["url"] for p in parts if isinstance(p, dict) and p.get("type") == "image_url"
              and isinstance(p.get("image_url"), dict) and isinstance(p["image_url"].get("url"), str)]
    marks = [f"[image {hashlib.blake2b(url.encode(), digest_size=6).hexdigest()}]" for url in images]
    return " ".join([content_text(parts)] + marks)


def exact_key(text: str) -> str:
    """What "exact duplicate" compares: the text up to case and spacing (cheap, C-speed)."""
    return " ".join(text.casefold().split())


def text_hash(text: str) -> int:
    """A stable 64-bit hash of ``exact_key(text)`` (exact-duplicate detection)."""
    digest = hashlib.blake2b(exact_key(text).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def shingles(text: str, k: int = 3) -> set[str]:
    """Word k-grams of normalized text (the whole text when shorter than k words)."""
    words = normalize_text(text).split()
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


# MinHash + LSH: near-duplicate candidates without comparing every pair. 16 bands of 4 rows
# find pairs with Jaccard 0.9 with probability > 0.99; each candidate is then checked exactly.
# Hashes are 32-bit and the prime is below 2**32, so (a*h + b) fits in uint64 (numpy, vectorized).
# Kept over datasketch's MinHashLSH: 2.5x faster here and it missed 15 of 400 planted pairs
# (benchmarks/bench_libraries.py).
_BANDS, _ROWS = 16, 4
_PRIME = 4_294_967_291


def _minhash_signatures(sets: list[set[str]]):
    """A (len(sets), 64) array of MinHash values, computed for all sets at once."""
    import numpy as np

    rng = np.random.default_rng(1)  # fixed: the same text always gets the same signature
    a = rng.integers(1, _PRIME, _BANDS * _ROWS, dtype=np.uint64)
    b = rng.integers(0, _PRIME, _BANDS * _ROWS, dtype=np.uint64)
    sizes = np.array([max(1, len(s)) for s in sets])
    flat = np.fromiter((zlib.crc32(x.encode()) for s in sets for x in (s or [""])),
                       dtype=np.uint64, count=int(sizes.sum()))
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    sig = np.empty((len(sets), len(a)), dtype=np.uint64)
    for k in range(len(a)):  # one permutation at a time keeps memory at two flat arrays
        sig[:, k] = np.minimum.reduceat((a[k] * flat + b[k]) % _PRIME, starts)
    return sig


def near_duplicate_pairs(texts: list[str], threshold: float = 0.9) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) of texts whose word-3-gram Jaccard similarity is >= threshold."""
    sets = [shingles(t) for t in texts]
    if not sets:
        return []
    sig = _minhash_signatures(sets)
    buckets: dict[tuple, list[int]] = {}
    for i, sh in enumerate(sets):
        if sh:
            row = sig[i].tolist()
            for band in range(_BANDS):
                buckets.setdefault((band, *row[band * _ROWS:(band + 1) * _ROWS]), []).append(i)
    candidates = {(a, b) for ids in buckets.values() if len(ids) > 1
                  for x, a in enumerate(ids) for b in ids[x + 1:]}
    pairs = []
    for i, j in sorted(candidates):
        sim = jaccard(sets[i], sets[j])
        if sim >= threshold:
            pairs.append((i, j, sim))
    return pairs


def find_duplicates(examples: list, *, near: bool = True, threshold: float = 0.9):
    """Duplicate pairs as a DataFrame with columns ``i, j, kind ("exact"|"near"), similarity``.

    "exact" means equal text up to case and spacing; "near" means word-3-gram Jaccard >= ``threshold``
    (found with MinHash/LSH, then checked exactly).
    """
    import pandas as pd

    texts = [example_text(e) for e in examples]
    rows, first_of, exact = [], {}, set()
    for i, text in enumerate(texts):
        h = text_hash(text)
        for j in first_of.get(h, []):
            rows.append((j, i, "exact", 1.0))
            exact.add((j, i))
        first_of.setdefault(h, []).append(i)
    if near:
        rows += [(i, j, "near", round(s, 4)) for i, j, s in near_duplicate_pairs(texts, threshold)
                 if (i, j) not in exact]
    frame = pd.DataFrame(rows, columns=["i", "j", "kind", "similarity"])
    return frame.sort_values(["i", "j"], ignore_index=True)
