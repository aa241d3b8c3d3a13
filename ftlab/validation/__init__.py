"""Validate a fine-tuning dataset before uploading it: OpenAI's format rules plus course checks.

``validate(path)`` streams the file (never loads it whole), so a 100 MB file costs little memory.
Every problem becomes an ``Issue`` with a stable English code (the cookbook's seven counter names
where the checks are the same), a severity, the line and message number, and an Italian message
(English with ``FTLAB_LANG=en``). The modules, in the order ``validate`` uses them:

- ``rules``: every code once, as a ``Rule`` (severity, messages, fix, OpenAI's job error);
- ``examples``: the rules one line must follow; ``labels``: class labels and language;
- ``scanner``: reads the file (in two processes when large) into compact facts;
- ``checks``: the rules about the whole file (count, duplicates, balance, leakage …);
- ``report``: the ``Report`` (data); ``display``: its plots and HTML.
"""
from __future__ import annotations

from typing import Callable

from ftlab.openai_spec import COURSE_MODEL, MIN_TRAINING_EXAMPLES, RECOMMENDED_EXAMPLES
from ftlab.validation import checks
from ftlab.validation.checks import NEAR_DUP_MAX_BYTES, check_dataset, check_leakage
from ftlab.validation.examples import check_example, check_messages, detect_format
from ftlab.validation.labels import FirstLineLabel, KeyLabel, guess_language, load_metadata
from ftlab.validation.report import Issue, Report, issues_of
from ftlab.validation.rules import CODES, FIXES, RULES, Rule
from ftlab.validation.scanner import CHUNK_BYTES, ISSUES_PER_CODE, PARALLEL_MIN_BYTES, Checker, scan

DEFAULT_MODEL = COURSE_MODEL
MIN_EXAMPLES = MIN_TRAINING_EXAMPLES

__all__ = ["validate", "Report", "Issue", "Rule", "RULES", "CODES", "FIXES", "FirstLineLabel",
           "KeyLabel", "check_example", "check_messages", "detect_format", "guess_language"]


def validate(source, model: str = DEFAULT_MODEL, *, method=None, validation_file=None,
             label_key: str | None = None, label: Callable | None = None, metadata=None,
             progress: bool = False, near_duplicates: bool = True) -> Report:
    """Validate a JSONL path (or an iterable of examples) for fine-tuning ``model``.

    ``method``: None (detect), "supervised"/"dpo" or an OpenAI method dict. ``label_key`` names a
    key of the side metadata (``metadata`` path/list/dict, or ``<name>_meta.jsonl`` next to the
    file) or of the example itself; ``label`` is a function example → class (e.g.
    ``FirstLineLabel("Categoria:")``). Never raises on bad data; never modifies the file.
    """
    meta = load_metadata(metadata, source) if label_key else {}
    if label is None and label_key and not meta:
        label = KeyLabel(label_key)  # no side metadata: the key is in the example itself
    keep_texts = near_duplicates and _small_enough(source)  # near duplicates need the texts
    train = scan(source, Checker(model, label, keep_texts), progress)
    label_of = None
    if label is not None:
        label_of = lambda k, line: train.labels[k]  # noqa: E731
    elif label_key:
        label_of = lambda k, line: (meta.get(line) or {}).get(label_key)  # noqa: E731
    fmt, balance = check_dataset(train, _expected_format(method), is_training=True,
                                 near_skipped=near_duplicates and not keep_texts, label_of=label_of)
    issues = issues_of(train.issues, "training")
    valid = None
    if validation_file is not None:
        valid = scan(validation_file, Checker(model), progress)
        check_dataset(valid, fmt, is_training=False, near_skipped=False, label_of=None)
        check_leakage(valid, train)
        issues += issues_of(valid.issues, "validation")
    return Report(source=_name(source), model=model, fmt=fmt, n_examples=len(train.lines),
                  n_lines=train.n_lines, issues=issues, counts=_counts(issues, train),
                  token_counts=list(train.tokens), labels=balance,
                  validation_token_counts=list(valid.tokens) if valid else None)


def _small_enough(source) -> bool:
    from pathlib import Path
    return not isinstance(source, (str, Path)) or Path(source).stat().st_size <= checks.NEAR_DUP_MAX_BYTES


def _name(source) -> str:
    from pathlib import Path
    return Path(source).name if isinstance(source, (str, Path)) else "<examples>"


def _counts(issues: list[Issue], train) -> dict[str, int]:
    """Issues per code, exact also beyond the per-code cap (the training file's own totals)."""
    counts: dict[str, int] = {}
    for i in issues:
        counts[i.code] = counts.get(i.code, 0) + 1
    for code, n in train.counts.items():
        counts[code] = max(counts.get(code, 0), n)
    return counts


def _expected_format(method) -> str | None:
    kind = method.get("type") if isinstance(method, dict) else method
    return {"supervised": "chat", "dpo": "dpo", None: None}.get(kind, kind)
