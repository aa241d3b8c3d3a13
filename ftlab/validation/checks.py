"""The dataset checks: rules about the whole file, run on the facts the scanner gathered.

Example count, one format per file, exact and near duplicates, length outliers, system-message
and language consistency, class balance, and leakage of training examples into validation.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

from ftlab import datasets, tokens
from ftlab.i18n import tr
from ftlab.openai_spec import MIN_TRAINING_EXAMPLES, RECOMMENDED_EXAMPLES
from ftlab.validation.labels import LANGUAGES
from ftlab.validation.scanner import FORMATS, Facts

NEAR_DUP_MAX_BYTES = 10 << 20  # near-duplicate search keeps texts in memory: only below this
_CHAT = FORMATS.index("chat")


def check_dataset(c: Facts, fmt_expected: str | None, *, is_training: bool, near_skipped: bool,
                  label_of: Callable | None) -> tuple[str | None, dict | None]:
    """Add the file-level issues to ``c``; return the file's format and its class counts."""
    n = len(c.lines)
    if c.crlf:
        c.add_issue("crlf_line_endings", None, None, {"n": c.crlf})
    if is_training:
        _count_examples(c, n)
    fmt = _check_formats(c, fmt_expected)
    _duplicates(c)
    if c.texts is not None:
        for i, j, sim in datasets.near_duplicate_pairs(c.texts):
            if c.hashes[i] != c.hashes[j]:
                c.add_issue("near_duplicate_example", c.lines[j], None, {"other": c.lines[i], "similarity": sim})
    elif near_skipped and n:
        c.add_issue("near_duplicates_skipped", None, None, {"mb": NEAR_DUP_MAX_BYTES >> 20})
    _outliers(c)
    _system_messages(c)
    _languages(c)
    return fmt, _balance(c, label_of) if label_of else None


def check_leakage(valid: Facts, train: Facts) -> None:
    """A validation example that is also in training measures nothing."""
    train_line: dict[int, int] = {}
    for line, h in zip(train.lines, train.hashes):
        train_line.setdefault(h, line)
    for line, h in zip(valid.lines, valid.hashes):
        if h in train_line:
            valid.add_issue("validation_leakage", line, None, {"other": train_line[h]})


def _count_examples(c: Facts, n: int) -> None:
    if n == 0:
        c.add_issue("empty_file", None, None, {})
    elif n < MIN_TRAINING_EXAMPLES:
        c.add_issue("too_few_examples", None, None, {"n": n})
    elif n < RECOMMENDED_EXAMPLES:
        c.add_issue("few_examples", None, None, {"n": n})


def _check_formats(c: Facts, expected: str | None) -> str | None:
    """The file's format (the method's, else the most common one); flag lines of another."""
    fmts = [FORMATS[f] for f in c.formats]
    present = {f for f in fmts if f}
    fmt = expected or (max(present, key=fmts.count) if present else None)
    for line, f in zip(c.lines, fmts):
        if f == "legacy":
            c.add_issue("legacy_format", line, None, {})
        elif f and f != fmt:
            c.add_issue("method_mismatch", line, None, {"found": f, "expected": fmt})
    return fmt


def _duplicates(c: Facts) -> None:
    first: dict[int, int] = {}
    for line, h in zip(c.lines, c.hashes):
        if h in first:
            c.add_issue("duplicate_example", line, None, {"other": first[h]})
        else:
            first[h] = line


def _outliers(c: Facts) -> None:
    # Tukey's fences with k=3 ("far out"): robust to the outliers themselves.
    if len(c.tokens) < 20:
        return
    values = sorted(c.tokens)
    q1, med, q3 = (tokens._percentile(values, q) for q in (0.25, 0.5, 0.75))
    spread = max(q3 - q1, 0.1 * med, 1)
    lo, hi = q1 - 3 * spread, q3 + 3 * spread
    for line, t in zip(c.lines, c.tokens):
        if t < lo or t > hi:
            c.add_issue("length_outlier", line, None, {"tokens": t, "median": med})


def _chat_lines(c: Facts, values) -> list[tuple[int, int]]:
    """(line, value) of each chat example."""
    return [(line, v) for line, f, v in zip(c.lines, c.formats, values) if f == _CHAT]


def _system_messages(c: Facts) -> None:
    """A system message in only some examples: flag the minority."""
    # Count the few distinct values (in C) before listing anything: memory stays flat.
    counts = Counter(zip(c.formats, c.system))
    n_chat = counts[_CHAT, 0] + counts[_CHAT, 1]
    n_sys = counts[_CHAT, 1]
    if 0 < n_sys < n_chat:
        minority = 1 if n_sys <= n_chat / 2 else 0
        for line, s in _chat_lines(c, c.system):
            if s == minority:
                c.add_issue("inconsistent_system_message", line, None, {"n_with": n_sys, "n": n_chat})


def _languages(c: Facts) -> None:
    """Italian and English examples mixed: flag those in the less common language."""
    counts = Counter(zip(c.formats, c.language))
    n_it, n_en = (counts[_CHAT, 1 + LANGUAGES.index(lang)] for lang in ("it", "en"))
    if n_it and n_en:
        main, other = ("it", "en") if n_it >= n_en else ("en", "it")
        names = {"it": tr("italiano", "Italian"), "en": tr("inglese", "English")}
        code = 1 + LANGUAGES.index(other)
        for line, lang in _chat_lines(c, c.language):
            if lang == code:
                c.add_issue("mixed_languages", line, None, {"lang": names[other], "main": names[main]})


def _balance(c: Facts, label_of: Callable) -> dict:
    counts: dict = {}
    for k, line in enumerate(c.lines):
        lab = label_of(k, line)
        try:
            hash(lab)
        except TypeError:  # e.g. a list from a label function: count it by its text
            lab = str(lab)
        if lab is None:
            c.add_issue("missing_label", line, None, {})
        else:
            counts[lab] = counts.get(lab, 0) + 1
    counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))
    if len(counts) >= 2:
        big, small = max(counts.values()), min(counts.values())
        share = len(c.lines) / len(counts)
        rare = [k for k, v in counts.items() if v < 0.5 * share]
        if big > 3 * small or rare:
            detail = ", ".join(f"{k}={v}" for k, v in counts.items())
            c.add_issue("class_imbalance", None, None, {"detail": detail})
    return counts
