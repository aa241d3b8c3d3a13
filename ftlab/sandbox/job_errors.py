"""The ``error`` OpenAI puts on a fine-tuning job whose training file breaks a rule.

The sandbox fails jobs with it; ``Report.job_error()`` shows it before an upload. The wording
per rule is the Rule's ``job_detail`` (ftlab/validation/rules.py); the frames around it are
OpenAI's observed messages (invalid_n_examples, invalid_file_format, invalid_training_file).
"""
from __future__ import annotations

from ftlab.openai_spec import MIN_TRAINING_EXAMPLES
from ftlab.validation.rules import RULES

_WRONG_FORMAT = ("legacy_format", "data_type", "missing_messages_list", "method_mismatch")
_UNREADABLE = ("invalid_json", "invalid_utf8", "line_too_long", "data_type")


class _Default(dict):
    def __missing__(self, key):
        return "?"


def job_error(report) -> dict | None:
    """The job error for a validation ``Report`` of the training file (None if it would start)."""
    errors = [i for i in report.issues if i.severity == "error" and i.file == "training"]
    # OpenAI reads the lines before counting them: line errors come first.
    first = next((i for i in errors if i.line is not None), errors[0] if errors else None)
    if first is None:
        return None
    if first.code in ("too_few_examples", "empty_file"):
        message = (f"Training file has {report.n_examples} example(s), "
                   f"but must have at least {MIN_TRAINING_EXAMPLES} examples")
        return {"code": "invalid_n_examples", "message": message, "param": "training_file"}
    if first.code in _WRONG_FORMAT and report.format in ("legacy", None):
        return {"code": "invalid_file_format", "param": "training_file",
                "message": "Unexpected file format, expected either prompt/completion pairs or chat messages."}
    rule = RULES[first.code]
    if first.code in _UNREADABLE:
        return {"code": "invalid_file_format", "param": "training_file",
                "message": f"Invalid file format. Line {first.line}: {rule.description}"}
    detail = (rule.job_detail or rule.description).format_map(_Default(first.values))
    where = f"Example {first.example or first.line}" + (
        f", message {first.message_index}" if first.message_index else "")
    return {"code": "invalid_training_file", "param": "training_file",
            "message": f"Invalid file format. {where} {detail}"}
