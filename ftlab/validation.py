"""Validate a fine-tuning dataset before uploading it: OpenAI's format rules plus course checks.

``validate(path)`` streams the file (never loads it whole), so a 100 MB file costs little memory;
large files are split at line boundaries into byte ranges checked by two processes. Every
problem becomes an ``Issue`` with a stable English code (the cookbook's seven counter names where
the checks are the same), a severity, the line and message number, and an Italian message
(English with ``FTLAB_LANG=en``). The ``Report`` gathers issues, token statistics and plots.
"""
from __future__ import annotations

import gc
import json
import os
import sys
from array import array
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ftlab import datasets, tokens
from ftlab.i18n import tr

DEFAULT_MODEL = "gpt-4.1-nano-2025-04-14"
MIN_EXAMPLES, RECOMMENDED_EXAMPLES = 10, 50
ISSUES_PER_CODE = 1000      # keep at most this many issues per code (counts stay exact)
PARALLEL_MIN_BYTES = 8 << 20  # smaller files are checked in-process: forking costs more
CHUNK_BYTES = 4 << 20      # small ranges: the two workers finish within ~0.2 s of each other
NEAR_DUP_MAX_BYTES = 10 << 20  # near-duplicate search keeps texts in memory: only below this

ROLES = ("system", "user", "assistant", "tool", "function")
MESSAGE_KEYS = {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}
CHAT_KEYS = {"messages", "tools", "parallel_tool_calls", "functions"}
DPO_KEYS = {"input", "preferred_output", "non_preferred_output"}

# code -> (severity, Italian template, English template, short description)
CODES: dict[str, tuple[str, str, str, str]] = {
    # reading the file
    "invalid_utf8": ("error", "Byte non UTF-8 alla colonna {column}: salva il file in UTF-8.",
                     "Invalid UTF-8 byte at column {column}: save the file as UTF-8.",
                     "The line is not valid UTF-8."),
    "invalid_json": ("error", "JSON non valido: {detail}", "Invalid JSON: {detail}",
                     "The line is not valid JSON (or nests too deep)."),
    "line_too_long": ("error", "Riga più lunga di {mb} MB: manca un a capo tra gli esempi?",
                      "Line longer than {mb} MB: a missing newline between examples?",
                      "A single line is too large to be one example."),
    "blank_line": ("warning", "Riga vuota: toglila, ogni riga deve essere un esempio.",
                   "Blank line: remove it, every line must be one example.",
                   "An empty or whitespace-only line."),
    "utf8_bom": ("warning", "Il file inizia con un BOM UTF-8: salvalo in UTF-8 senza BOM.",
                 "The file starts with a UTF-8 BOM: save it as UTF-8 without BOM.",
                 "Byte-order mark at the start of the file."),
    "crlf_line_endings": ("info", "Righe che terminano con CRLF (Windows): {n}. Accettato, ma meglio \\n.",
                          "Lines ending with CRLF (Windows): {n}. Accepted, but \\n is better.",
                          "Windows line endings."),
    "empty_file": ("error", "Il file non contiene esempi.", "The file contains no examples.",
                   "No example at all."),
    # the cookbook's seven counters
    "data_type": ("error", "La riga non è un oggetto JSON ({{…}}) ma {type}.",
                  "The line is not a JSON object ({{…}}) but {type}.",
                  "A line that is not a JSON object."),
    "missing_messages_list": ("error", "Manca la lista \"messages\" (o è vuota o non è una lista).",
                              "The \"messages\" list is missing, empty or not a list.",
                              "No non-empty messages list."),
    "message_missing_key": ("error", "Al messaggio {message_index} manca la chiave \"{key}\".",
                            "Message {message_index} lacks the \"{key}\" key.",
                            "A message without role or content."),
    "message_unrecognized_key": ("error", "Chiave sconosciuta \"{key}\" nel messaggio {message_index}.",
                                 "Unrecognized key \"{key}\" in message {message_index}.",
                                 "A message key OpenAI does not accept."),
    "unrecognized_role": ("error", "Ruolo {role} non valido nel messaggio {message_index}: usa system, user, assistant o tool.",
                          "Invalid role {role} in message {message_index}: use system, user, assistant or tool.",
                          "A role other than system/user/assistant/tool/function."),
    "missing_content": ("error", "Il messaggio {message_index} non ha contenuto (null è ammesso solo con tool_calls).",
                        "Message {message_index} has no content (null is allowed only with tool_calls).",
                        "content null without tool_calls/function_call."),
    "example_missing_assistant_message": ("error", "L'esempio non ha nessun messaggio assistant: il modello non avrebbe nulla da imparare.",
                                          "The example has no assistant message: the model would learn nothing.",
                                          "No assistant message."),
    # more format rules
    "message_not_object": ("error", "Il messaggio {message_index} non è un oggetto JSON.",
                           "Message {message_index} is not a JSON object.", "A message that is not an object."),
    "invalid_content_type": ("error", "Il contenuto del messaggio {message_index} deve essere una stringa, non {type}.",
                             "The content of message {message_index} must be a string, not {type}.",
                             "Content (or prompt/completion) of the wrong type, e.g. a number."),
    "invalid_name": ("error", "Il campo \"name\" del messaggio {message_index} deve essere una stringa.",
                     "The \"name\" of message {message_index} must be a string.", "A name that is not a string."),
    "invalid_weight": ("error", "\"weight\" nel messaggio {message_index}: ammesso solo sui messaggi assistant e solo 0 o 1.",
                       "\"weight\" in message {message_index}: allowed only on assistant messages and only 0 or 1.",
                       "weight outside assistant messages or not 0/1."),
    "example_weight": ("error", "\"weight\" va messo sui singoli messaggi assistant, non sull'esempio.",
                       "\"weight\" belongs on assistant messages, not on the example.",
                       "A per-example weight key."),
    "unrecognized_key": ("error", "Chiave sconosciuta \"{key}\" nell'esempio.",
                         "Unrecognized key \"{key}\" in the example.", "A top-level key OpenAI does not accept."),
    "no_trainable_assistant": ("error", "Tutti i messaggi assistant hanno weight 0: l'esempio non insegna nulla.",
                               "Every assistant message has weight 0: the example teaches nothing.",
                               "No assistant message with weight 1."),
    "invalid_tool_calls": ("error", "tool_calls/function_call non validi nel messaggio {message_index}: {detail}",
                           "Invalid tool_calls/function_call in message {message_index}: {detail}",
                           "Malformed tool calls."),
    "unmatched_tool_call": ("error", "Il messaggio tool {message_index} risponde a un id sconosciuto ({id}).",
                            "Tool message {message_index} answers an unknown id ({id}).",
                            "A tool message whose tool_call_id matches no earlier tool call."),
    "invalid_tools": ("error", "\"{key}\" non valido: tools deve essere una lista di oggetti, parallel_tool_calls un booleano.",
                      "Invalid \"{key}\": tools must be a list of objects, parallel_tool_calls a boolean.",
                      "Malformed tools / parallel_tool_calls."),
    "legacy_format": ("error", "Formato prompt/completion (vecchi modelli): converti in messaggi chat con ftlab.convert_legacy.",
                      "prompt/completion format (old models): convert to chat messages with ftlab.convert_legacy.",
                      "A legacy prompt/completion line for a chat model."),
    "invalid_dpo_example": ("error", "Esempio DPO non valido: {detail}", "Invalid DPO example: {detail}",
                            "A DPO line with a wrong structure."),
    "method_mismatch": ("error", "Esempio in formato {found}, ma il metodo scelto richiede {expected}.",
                        "Example in {found} format, but the chosen method needs {expected}.",
                        "A line whose format does not match the method (or the rest of the file)."),
    "too_few_examples": ("error", "Troppo pochi esempi ({n}): OpenAI ne richiede almeno 10.",
                         "Too few examples ({n}): OpenAI requires at least 10.", "Fewer than 10 examples."),
    "few_examples": ("warning", "{n} esempi: di solito servono almeno 50 esempi buoni per vedere miglioramenti.",
                     "{n} examples: improvements usually need at least 50 good ones.", "Fewer than 50 examples."),
    "too_many_tokens": ("warning", "{tokens} token, oltre il limite di {limit} per {model}: l'esempio verrà troncato.",
                        "{tokens} tokens, over the {limit} limit for {model}: the example will be truncated.",
                        "An example over the model's token limit."),
    # course-quality checks
    "missing_user_message": ("warning", "L'esempio non ha un messaggio user.", "The example has no user message.",
                             "No user message."),
    "empty_content": ("warning", "Il messaggio {message_index} è vuoto o contiene solo spazi.",
                      "Message {message_index} is empty or whitespace only.", "Empty or whitespace-only content."),
    "legacy_marker": ("warning", "Il messaggio {message_index} usa il marcatore {marker!r} dei vecchi modelli: con i modelli chat non serve.",
                      "Message {message_index} uses the old models' marker {marker!r}: chat models do not need it.",
                      "A legacy separator or END marker."),
    "length_outlier": ("warning", "{tokens} token: molto più lungo (o corto) degli altri esempi (mediana {median}).",
                       "{tokens} tokens: much longer (or shorter) than the other examples (median {median}).",
                       "Token length far from the rest of the file."),
    "duplicate_example": ("warning", "Duplicato esatto della riga {other}.", "Exact duplicate of line {other}.",
                          "Same text as an earlier example (ignoring case and spacing)."),
    "near_duplicate_example": ("warning", "Quasi identico alla riga {other} (somiglianza {similarity:.2f}).",
                               "Nearly identical to line {other} (similarity {similarity:.2f}).",
                               "Word-3-gram Jaccard similarity >= 0.9 with another example."),
    "near_duplicates_skipped": ("info", "File oltre {mb} MB: cercati solo i duplicati esatti, non quelli quasi identici.",
                                "File over {mb} MB: only exact duplicates were searched, not near ones.",
                                "Near-duplicate search skipped on a large file."),
    "validation_leakage": ("warning", "Questo esempio di validazione è anche nel training (riga {other}): la validazione non misura più nulla.",
                           "This validation example is also in training (line {other}): validation measures nothing.",
                           "A validation example duplicated in the training file."),
    "class_imbalance": ("warning", "Classi sbilanciate: {detail}", "Unbalanced classes: {detail}",
                        "The largest class is over 3x the smallest, or a class is very rare."),
    "missing_label": ("warning", "Nessuna etichetta trovata per questo esempio.", "No label found for this example.",
                      "The label function/key gave nothing."),
    "inconsistent_system_message": ("warning", "Messaggio system solo in una parte degli esempi ({n_with} su {n}): mettilo in tutti o in nessuno.",
                                    "System message in only part of the examples ({n_with} of {n}): use it in all or none.",
                                    "System message in some examples only."),
    "mixed_languages": ("warning", "Esempio in {lang}, mentre la maggior parte è in {main}.",
                        "Example in {lang}, while most are in {main}.", "An example in a different language from most."),
}

# The fix for each code, for the docs table (docs/validation-codes.md).
FIXES = {
    "invalid_utf8": "Re-save the file as UTF-8.", "invalid_json": "Fix the JSON (quotes, commas, brackets); one object per line.",
    "line_too_long": "Put one example per line; split the text.", "blank_line": "Delete empty lines.",
    "utf8_bom": "Save as UTF-8 without BOM.", "crlf_line_endings": "Optional: save with \\n line endings.",
    "empty_file": "Add examples.", "data_type": "Each line must be an object {...}.",
    "missing_messages_list": "Add a non-empty \"messages\" list.", "message_missing_key": "Give every message a role and a content.",
    "message_unrecognized_key": "Remove the key (allowed: role, content, name, weight, tool_calls, tool_call_id, function_call).",
    "unrecognized_role": "Use system, user, assistant or tool.", "missing_content": "Write the content, or add tool_calls.",
    "example_missing_assistant_message": "Add the assistant answer.", "message_not_object": "Messages are objects {\"role\", \"content\"}.",
    "invalid_content_type": "Quote the value: content is text.", "invalid_name": "Make name a string.",
    "invalid_weight": "Use weight 0 or 1, on assistant messages only.", "example_weight": "Move weight onto assistant messages.",
    "unrecognized_key": "Remove the key (allowed: messages, tools, parallel_tool_calls).",
    "no_trainable_assistant": "Set weight 1 on at least one assistant message.",
    "invalid_tool_calls": "Each call: {id, type: \"function\", function: {name, arguments: string}}.",
    "unmatched_tool_call": "Use the id of an earlier tool call.", "invalid_tools": "tools: list of objects; parallel_tool_calls: true/false.",
    "legacy_format": "Convert with ftlab.convert_legacy.", "invalid_dpo_example": "input.messages + one assistant message in each output.",
    "method_mismatch": "Use one format per file, the one the method needs.", "too_few_examples": "Add examples (at least 10).",
    "few_examples": "Aim for 50-100 good examples.", "too_many_tokens": "Shorten the example or split it.",
    "missing_user_message": "Add the user's request.", "empty_content": "Write the content or remove the message.",
    "legacy_marker": "Remove the separator/END marker.", "length_outlier": "Check the example; shorten or remove it.",
    "duplicate_example": "Remove the duplicate.", "near_duplicate_example": "Remove or vary one of the two.",
    "near_duplicates_skipped": "Run find_duplicates on a sample.", "validation_leakage": "Remove it from one of the two files.",
    "class_imbalance": "Add examples of the rare classes or drop some of the common ones.",
    "missing_label": "Give every example a label.", "inconsistent_system_message": "Use the same system message in every example.",
    "mixed_languages": "Translate the example or remove it.",
}

# What OpenAI's job error says for the first error (see job_error()).
_JOB_DETAIL = {
    "message_missing_key": "Discriminator '{key}' is missing in value",
    "unrecognized_role": "Invalid value for 'role'",
    "missing_content": "'content' is required unless tool_calls are given",
    "invalid_content_type": "Input should be a valid string",
    "message_unrecognized_key": "Extra inputs are not permitted: '{key}'",
    "invalid_weight": "'weight' must be 0 or 1 on assistant messages",
    "example_weight": 'contains an extra "weight"',
    "unrecognized_key": 'contains an extra "{key}"',
    "method_mismatch": "is {found} data, but the fine-tuning method expects {expected} data",
}


@dataclass
class Issue:
    code: str
    severity: str
    line: int | None
    message_index: int | None
    message: str
    example: int | None = None   # 1-based example number (the line, for files)
    file: str = "training"
    values: dict = field(default_factory=dict, repr=False)


def _count(n: int, it_one: str, it_many: str, en_one: str, en_many: str) -> str:
    """"1 errore", "2 errori", "0 errori" (English with FTLAB_LANG=en): the noun agrees with n."""
    return f"{n} " + (tr(it_one, en_one) if n == 1 else tr(it_many, en_many))


class _Default(dict):
    def __missing__(self, key):
        return "?"


def _render(code: str, values: dict) -> str:
    _, it, en, _ = CODES[code]
    return tr(it, en).format_map(_Default(values))


# ---------------------------------------------------------------- per-example checks


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def detect_format(obj: Any) -> str | None:
    """"chat", "dpo", "legacy" or None for one parsed line."""
    if not isinstance(obj, dict):
        return None
    if "messages" in obj:
        return "chat"
    if "input" in obj or "preferred_output" in obj:
        return "dpo"
    if "prompt" in obj or "completion" in obj:
        return "legacy"
    return None


_MARKERS = ("\n\nEND", "\n\n###\n\n", "\n\n->\n\n")


def check_messages(messages: Any, out: list) -> None:
    """Append ``(code, message_index, values)`` for every rule a messages list breaks."""
    if not isinstance(messages, list) or not messages:
        out.append(("missing_messages_list", None, {}))
        return
    call_ids, has_assistant, trainable, has_user = set(), False, False, False
    for i, m in enumerate(messages, 1):
        if not isinstance(m, dict):
            out.append(("message_not_object", i, {}))
            continue
        role = m.get("role")
        if "role" not in m:
            out.append(("message_missing_key", i, {"key": "role"}))
        elif not isinstance(role, str) or role not in ROLES:
            out.append(("unrecognized_role", i, {"role": json.dumps(role, ensure_ascii=False)[:40]}))
        for key in m:
            if key not in MESSAGE_KEYS:
                out.append(("message_unrecognized_key", i, {"key": str(key)[:40]}))
        calls = m.get("tool_calls") or m.get("function_call")
        content = m.get("content")
        if "content" not in m and not calls:
            out.append(("message_missing_key", i, {"key": "content"}))
        elif content is None and not calls and "content" in m:
            out.append(("missing_content", i, {}))
        elif content is not None and not isinstance(content, str):
            out.append(("invalid_content_type", i, {"type": _type_name(content)}))
        elif isinstance(content, str):
            if not content.strip() and not calls:
                out.append(("empty_content", i, {}))
            # every marker starts with a blank line: one search skips them all in the usual case
            marker = "\n\n" in content and next((k for k in _MARKERS if k in content), None) or (
                "END" if role == "assistant" and content.rstrip().endswith("\nEND") else None)
            if marker:
                out.append(("legacy_marker", i, {"marker": marker}))
        if "name" in m and not isinstance(m["name"], str):
            out.append(("invalid_name", i, {}))
        if "weight" in m and (role != "assistant" or type(m["weight"]) is not int or m["weight"] not in (0, 1)):
            out.append(("invalid_weight", i, {}))
        if "tool_calls" in m:
            _check_tool_calls(m["tool_calls"], role, i, call_ids, out)
        if "function_call" in m and not _is_call(m["function_call"]):
            out.append(("invalid_tool_calls", i, {"detail": "function_call"}))
        if role == "tool":
            if "tool_call_id" not in m:
                out.append(("message_missing_key", i, {"key": "tool_call_id"}))
            elif not isinstance(m["tool_call_id"], str) or m["tool_call_id"] not in call_ids:
                out.append(("unmatched_tool_call", i, {"id": str(m["tool_call_id"])[:40]}))
        has_user |= role == "user"
        if role == "assistant":
            has_assistant = True
            trainable |= m.get("weight", 1) == 1
    if not has_assistant:
        out.append(("example_missing_assistant_message", None, {}))
    elif not trainable:
        out.append(("no_trainable_assistant", None, {}))
    if not has_user:
        out.append(("missing_user_message", None, {}))


def _is_call(fn: Any) -> bool:
    return isinstance(fn, dict) and isinstance(fn.get("name"), str) and isinstance(fn.get("arguments"), str)


def _check_tool_calls(calls: Any, role: Any, i: int, call_ids: set, out: list) -> None:
    if role != "assistant" or not isinstance(calls, list) or not calls:
        out.append(("invalid_tool_calls", i, {"detail": "tool_calls: non-empty list on assistant messages"}))
        return
    for call in calls:
        ok = (isinstance(call, dict) and isinstance(call.get("id"), str)
              and call.get("type", "function") == "function" and _is_call(call.get("function")))
        if not ok:
            out.append(("invalid_tool_calls", i, {"detail": "{id, type: function, function: {name, arguments}}"}))
            return
        call_ids.add(call["id"])


def _check_tools(obj: dict, out: list) -> None:
    tools = obj.get("tools", [])
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        out.append(("invalid_tools", None, {"key": "tools"}))
    if "parallel_tool_calls" in obj and not isinstance(obj["parallel_tool_calls"], bool):
        out.append(("invalid_tools", None, {"key": "parallel_tool_calls"}))


def _check_dpo(obj: dict, out: list) -> None:
    for key in obj:
        if key not in DPO_KEYS:
            out.append(("unrecognized_key", None, {"key": str(key)[:40]}))
    inp = obj.get("input")
    if not isinstance(inp, dict) or not isinstance(inp.get("messages"), list) or not inp["messages"]:
        out.append(("invalid_dpo_example", None, {"detail": "input.messages"}))
    else:
        sub: list = []
        check_messages(inp["messages"] + [{"role": "assistant", "content": "x"}], sub)
        out += [s for s in sub if s[0] not in ("legacy_marker",)]
        _check_tools(inp, out)
    for key in ("preferred_output", "non_preferred_output"):
        value = obj.get(key)
        good = (isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict)
                and value[0].get("role") == "assistant"
                and (isinstance(value[0].get("content"), str) or value[0].get("tool_calls")))
        if not good:
            out.append(("invalid_dpo_example", None, {"detail": f"{key}: one assistant message"}))


def check_example(obj: Any) -> tuple[str | None, list]:
    """Format of one parsed line and the ``(code, message_index, values)`` it breaks."""
    out: list = []
    fmt = detect_format(obj)
    if not isinstance(obj, dict):
        out.append(("data_type", None, {"type": _type_name(obj)}))
    elif fmt == "chat":
        for key in obj:
            if key == "weight":
                out.append(("example_weight", None, {}))
            elif key not in CHAT_KEYS:
                out.append(("unrecognized_key", None, {"key": str(key)[:40]}))
        _check_tools(obj, out)
        check_messages(obj["messages"], out)
    elif fmt == "dpo":
        _check_dpo(obj, out)
    elif fmt == "legacy":
        for key in ("prompt", "completion"):
            if not isinstance(obj.get(key), str):
                out.append(("invalid_content_type", None, {"type": _type_name(obj.get(key))}))
    else:
        out.append(("missing_messages_list", None, {}))
    return fmt, out


# ---------------------------------------------------------------- labels and language

class FirstLineLabel:
    """Label = what follows ``prefix`` on the first line of the first assistant message.

    ``FirstLineLabel("Categoria:")`` reads "Categoria: resi" → "resi" (customer-service data).
    A class, not a lambda, so worker processes can receive it.
    """

    def __init__(self, prefix: str = "Categoria:"):
        self.prefix = prefix

    def __call__(self, example: dict) -> str | None:
        messages = example.get("messages") if isinstance(example, dict) else None
        for m in messages if isinstance(messages, list) else []:
            if isinstance(m, dict) and m.get("role") == "assistant" and isinstance(m.get("content"), str):
                first = m["content"].strip().split("\n", 1)[0]
                return first[len(self.prefix):].strip() or None if first.startswith(self.prefix) else None
        return None


_STOP = {
    "it": {"il", "la", "di", "che", "è", "per", "non", "una", "sono", "del", "della", "con", "come", "mi", "ho"},
    "en": {"the", "is", "of", "and", "to", "that", "for", "with", "are", "this", "you", "my", "have", "it", "not"},
}


def guess_language(text: str) -> str | None:
    """"it", "en" or None (not sure), from common words in the first 600 characters."""
    words = text[:600].casefold().split()
    # distinct common words (set intersection runs in C: this is on the hot path, once per example)
    it, en = len(_STOP["it"].intersection(words)), len(_STOP["en"].intersection(words))
    best, other = ("it", en) if it >= en else ("en", it)
    return best if max(it, en) >= 3 and max(it, en) >= 2 * other else None


def _prose(example: dict) -> str:
    # Language is judged on the user's words (answers may be code).
    msgs = example.get("messages") if isinstance(example.get("messages"), list) else []
    return " ".join(m["content"] for m in msgs if isinstance(m, dict) and m.get("role") == "user"
                    and isinstance(m.get("content"), str))


# ---------------------------------------------------------------- scanning (per chunk)

_FMT_CODE = {None: 0, "chat": 1, "dpo": 2, "legacy": 3}
_FMT_NAME = {v: k for k, v in _FMT_CODE.items()}


class KeyLabel:
    """Label = ``example[key]`` (a picklable function for ``label``)."""

    def __init__(self, key: str):
        self.key = key

    def __call__(self, example: dict):
        return example.get(self.key) if isinstance(example, dict) else None


class _Chunk:
    """Compact results of one byte range: arrays, not objects, so memory stays flat."""

    def __init__(self):
        self.n_lines = 0
        self.crlf = 0
        self.lines = array("q")      # line of each example (local to the chunk until merged)
        self.tokens = array("l")
        self.hashes = array("Q")
        self.flags = array("b")      # fmt code | 4 if system message | 8 if Italian | 16 if English
        self.labels: list = []
        self.texts: list | None = None
        self.issues: list = []       # (code, line, message_index, values)
        self.counts: dict[str, int] = {}

    def add_issue(self, code, line, index, values):
        n = self.counts.get(code, 0)
        self.counts[code] = n + 1
        if n < ISSUES_PER_CODE:
            self.issues.append((code, line, index, values))


class _Checker:
    """Checks examples one by one and records their compact facts in a ``_Chunk``."""

    def __init__(self, model: str, label: Callable | None, keep_texts: bool):
        self.model = model
        self.limit = tokens.token_limit(model)
        self.counter = tokens.TokenCounter(tokens.encoding_for_model(model))
        self.label = label
        self.keep_texts = keep_texts

    def add(self, chunk: _Chunk, line: int, obj: Any) -> None:
        fmt, found = check_example(obj)
        for code, index, values in found:
            chunk.add_issue(code, line, index, values)
        if not isinstance(obj, dict):
            return
        n = self.counter.example(obj)
        if n > self.limit:
            chunk.add_issue("too_many_tokens", line, None, {"tokens": n, "limit": self.limit, "model": self.model})
        text = datasets.example_text(obj)
        flags = _FMT_CODE[fmt]
        if fmt == "chat" and isinstance(obj["messages"], list):
            first = obj["messages"][0] if obj["messages"] else None
            flags |= 4 if isinstance(first, dict) and first.get("role") == "system" else 0
            flags |= {"it": 8, "en": 16, None: 0}[guess_language(_prose(obj))]
        chunk.lines.append(line)
        chunk.tokens.append(n)
        chunk.hashes.append(datasets.text_hash(text))
        chunk.flags.append(flags)
        if self.label is not None:
            try:
                chunk.labels.append(self.label(obj))
            except Exception:  # a student's label function must not stop the validation
                chunk.labels.append(None)
        if self.keep_texts:
            chunk.texts.append(text)


_STATE: dict = {}  # set before forking workers, read by _scan_range in the children


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


def _scan_range(path: str, start: int, end: int | None, checker: _Checker | None = None) -> _Chunk:
    checker = checker or _STATE["checker"]
    chunk = _Chunk()
    chunk.texts = [] if checker.keep_texts else None
    with open(path, "rb") as f, _gc_paused():
        for raw, _ in datasets.iter_raw_lines(f, start, end):
            chunk.n_lines += 1
            line = chunk.n_lines
            if raw is None:
                chunk.add_issue("line_too_long", line, None, {"mb": datasets.MAX_LINE_BYTES >> 20})
                continue
            if raw.endswith(b"\r"):
                chunk.crlf += 1
            # parse_line strips a BOM only on line 1, and only the file's first line is line 1
            obj, error = datasets.parse_line(raw, line if start == 0 else 0)
            if error is not None:
                values = {"column": error.column, "detail": error.message}
                chunk.add_issue(error.code, line, None, values)
            else:
                try:
                    checker.add(chunk, line, obj)
                except RecursionError:  # parsed, but too deep to walk: still a coded error
                    chunk.add_issue("invalid_json", line, None, {"detail": "nesting too deep"})
    return chunk


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


def _scan_file(path: Path, checker: _Checker, progress: bool) -> list[_Chunk]:
    size = path.stat().st_size
    bar = _progress_bar(size, path.name) if progress else None
    workers = min(2, os.cpu_count() or 1)
    # fork shares the built tokenizer with the workers for free; only Linux forks safely
    if size < PARALLEL_MIN_BYTES or workers < 2 or not sys.platform.startswith("linux"):
        chunks = [_scan_range(str(path), 0, None, checker)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ranges = _ranges(path, size, workers)
        _STATE["checker"] = checker  # children get it by fork, no pickling of label functions
        chunks = []
        gc.freeze()  # the collector would otherwise touch, and so copy, every inherited page
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                for (s, e), chunk in zip(ranges, pool.map(_scan_range, [str(path)] * len(ranges),
                                                         [s for s, _ in ranges], [e for _, e in ranges])):
                    chunks.append(chunk)
                    if bar:
                        bar.update(e - s)
        finally:
            _STATE.clear()
            gc.unfreeze()
    if bar:
        bar.n = size
        bar.close()
    return chunks


def _progress_bar(total: int, name: str):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr, leave=False)


# ---------------------------------------------------------------- the report


class Report:
    """The result of ``validate``: issues, token statistics, class balance and plots."""

    def __init__(self, *, source: str, model: str, fmt: str | None, n_examples: int, n_lines: int,
                 issues: list[Issue], counts: dict, token_counts: list[int], labels: dict | None):
        self.source, self.model, self.format = source, model, fmt
        self.n_examples, self.n_lines = n_examples, n_lines
        self.issues, self.counts = issues, counts
        self.token_counts = token_counts
        self.token_stats = tokens.token_stats(token_counts)
        self.label_counts = labels  # label -> number of examples, or None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not any(CODES[c][0] == "error" for c, n in self.counts.items() if n)

    def to_frame(self):
        import pandas as pd
        cols = ["code", "severity", "file", "line", "message_index", "message"]
        frame = pd.DataFrame([{c: getattr(i, c) for c in cols} for i in self.issues], columns=cols)
        return frame.astype({"line": "Int64", "message_index": "Int64"})

    def to_dict(self) -> dict:
        return {"source": self.source, "model": self.model, "format": self.format, "ok": self.ok,
                "n_examples": self.n_examples, "n_lines": self.n_lines, "counts": self.counts,
                "token_stats": self.token_stats, "label_counts": self.label_counts,
                "job_error": self.job_error(),
                "issues": [{k: v for k, v in asdict(i).items() if k != "values"} for i in self.issues]}

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)

    def job_error(self) -> dict | None:
        """The ``error`` OpenAI would put on a job trained on this file (None if it would start)."""
        errors = [i for i in self.issues if i.severity == "error" and i.file == "training"]
        # OpenAI reads the lines before counting them: line errors come first.
        first = next((i for i in errors if i.line is not None), errors[0] if errors else None)
        if first is None:
            return None
        if first.code in ("too_few_examples", "empty_file"):
            message = (f"Training file has {self.n_examples} example(s), "
                       f"but must have at least {MIN_EXAMPLES} examples")
            return {"code": "invalid_n_examples", "message": message, "param": "training_file"}
        if first.code in ("legacy_format", "data_type", "missing_messages_list", "method_mismatch") \
                and self.format in ("legacy", None):
            return {"code": "invalid_file_format", "param": "training_file",
                    "message": "Unexpected file format, expected either prompt/completion pairs or chat messages."}
        if first.code in ("invalid_json", "invalid_utf8", "line_too_long", "data_type"):
            return {"code": "invalid_file_format", "param": "training_file",
                    "message": f"Invalid file format. Line {first.line}: {CODES[first.code][3]}"}
        detail = _JOB_DETAIL.get(first.code, CODES[first.code][3]).format_map(_Default(first.values))
        where = f"Example {first.example or first.line}" + (
            f", message {first.message_index}" if first.message_index else "")
        return {"code": "invalid_training_file", "param": "training_file",
                "message": f"Invalid file format. {where} {detail}"}

    def summary(self) -> str:
        n_err = sum(n for c, n in self.counts.items() if CODES[c][0] == "error")
        n_warn = sum(n for c, n in self.counts.items() if CODES[c][0] == "warning")
        s = self.token_stats
        head = "{}: {} ({}), {}, {}.".format(
            self.source, _count(self.n_examples, "esempio", "esempi", "example", "examples"),
            self.format or "?", _count(n_err, "errore", "errori", "error", "errors"),
            _count(n_warn, "avviso", "avvisi", "warning", "warnings"))
        verdict = tr("Pronto per il caricamento.", "Ready to upload.") if self.ok else tr(
            "Da correggere prima del caricamento.", "Fix it before uploading.")
        toks = tr("Token per esempio ({m}): min {min}, mediana {median}, media {mean}, max {max}, p10 {p10}, p90 {p90}; totale {total}.",
                  "Tokens per example ({m}): min {min}, median {median}, mean {mean}, max {max}, p10 {p10}, p90 {p90}; total {total}.",
                  m=self.model, **{k: s[k] for k in ("min", "median", "mean", "max", "p10", "p90", "total")})
        lines = [head + " " + verdict, toks]
        for code, n in sorted(self.counts.items(), key=lambda kv: ("error", "warning", "info").index(CODES[kv[0]][0])):
            lines.append(f"  [{CODES[code][0]}] {code}: {n}")
        if self.label_counts:
            lines.append(tr("Classi: ", "Classes: ") + ", ".join(f"{k}={v}" for k, v in self.label_counts.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def plot_tokens(self, ax=None):
        """Histogram of tokens per example, with the model's limit if it is in view."""
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(6, 3))[1]
        ax.hist(self.token_counts, bins=min(50, max(5, len(self.token_counts) // 5 or 5)), color="#3b7dd8")
        ax.set_xlabel(tr("token per esempio", "tokens per example"))
        ax.set_ylabel(tr("esempi", "examples"))
        ax.set_title(tr("Lunghezza degli esempi ({m})", "Example length ({m})", m=self.model))
        limit = tokens.token_limit(self.model)
        if self.token_counts and max(self.token_counts) > limit * 0.5:
            ax.axvline(limit, color="red", linestyle="--", label=tr("limite", "limit"))
            ax.legend()
        return ax

    def plot_balance(self, ax=None):
        """Bar chart of examples per class (needs ``label_key`` or ``label`` in validate)."""
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(6, 3))[1]
        counts = self.label_counts or {}
        ax.bar([str(k) for k in counts], list(counts.values()), color="#e08a2c")
        ax.set_ylabel(tr("esempi", "examples"))
        ax.set_title(tr("Equilibrio delle classi", "Class balance") if counts else
                     tr("Nessuna etichetta: usa label_key o label", "No labels: use label_key or label"))
        ax.tick_params(axis="x", rotation=30)
        return ax

    def _repr_html_(self) -> str:
        import html
        color = "#1a7f37" if self.ok else "#c62828"
        head = html.escape(self.summary().split("\n")[0])
        names = "".join(f"<th>{k}</th>" for k in self.token_stats)
        stats = "".join(f"<td>{html.escape(str(v))}</td>" for v in self.token_stats.values())
        counts = "".join(f"<tr><td><code>{c}</code></td><td>{CODES[c][0]}</td><td>{n}</td></tr>"
                         for c, n in self.counts.items())
        frame = self.to_frame().head(50)
        issues = frame.to_html(index=False, na_rep="", escape=True) if len(frame) else ""
        more = tr("(primi 50 di {n})", "(first 50 of {n})", n=len(self.issues)) if len(self.issues) > 50 else ""
        title = tr("Token per esempio", "Tokens per example")
        return (f"<div><p style='color:{color};font-weight:bold'>{head}</p>"
                f"<p>{title}</p><table><tr>{names}</tr><tr>{stats}</tr></table>"
                + (f"<table><tr><th>code</th><th>severity</th><th>n</th></tr>{counts}</table>" if counts else "")
                + f"{issues}<p>{more}</p></div>")


# ---------------------------------------------------------------- validate()


def _load_metadata(metadata, source) -> dict[int, dict]:
    """line → metadata record, from a JSONL path, a list (index = line - 1) or a dict."""
    if metadata is None and isinstance(source, (str, Path)):
        guess = Path(source).with_name(Path(source).stem + "_meta.jsonl")
        metadata = guess if guess.exists() else None
    if metadata is None:
        return {}
    if isinstance(metadata, dict):
        return metadata
    if isinstance(metadata, (str, Path)):
        metadata = datasets.read_jsonl(metadata)
    return {int(r.get("line", k)): r for k, r in enumerate(metadata, 1)}


def _scan(source, model, label, keep_near, progress) -> tuple[list[_Chunk], str, bool]:
    """Scan a path or an iterable of examples into chunks; also say if texts were kept."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        keep = keep_near and path.stat().st_size <= NEAR_DUP_MAX_BYTES
        chunks = _scan_file(path, _Checker(model, label, keep), progress)
        with open(path, "rb") as f:
            bom = f.read(3) == datasets.BOM
        if bom:
            chunks[0].add_issue("utf8_bom", 1, None, {})
        return chunks, path.name, keep
    checker, chunk = _Checker(model, label, keep_near), _Chunk()
    chunk.texts = [] if keep_near else None
    for obj in source:
        chunk.n_lines += 1
        try:
            checker.add(chunk, chunk.n_lines, obj)
        except RecursionError:
            chunk.add_issue("invalid_json", chunk.n_lines, None, {"detail": "nesting too deep"})
    return [chunk], "<examples>", keep_near


def _merge(chunks: list[_Chunk]) -> _Chunk:
    """One chunk with global line numbers (each chunk numbered its lines from 1)."""
    out, offset = _Chunk(), 0
    out.texts = [] if chunks and chunks[0].texts is not None else None
    for c in chunks:
        out.lines.extend(x + offset for x in c.lines)
        for attr in ("tokens", "hashes", "flags", "labels"):
            getattr(out, attr).extend(getattr(c, attr))
        if out.texts is not None:
            out.texts.extend(c.texts)
        seen = {code: 0 for code in c.counts}  # issues of each code met so far in this chunk
        for code, line, index, values in c.issues:
            if out.counts.get(code, 0) + seen[code] < ISSUES_PER_CODE:  # the cap, over the whole file
                out.issues.append((code, line + offset if line else line, index, values))
            seen[code] += 1
        for code, n in c.counts.items():
            out.counts[code] = out.counts.get(code, 0) + n
        out.crlf += c.crlf
        offset += c.n_lines
    out.n_lines = offset
    return out


def _dataset_checks(c: _Chunk, fmt_expected: str | None, model: str, is_training: bool, near_skipped: bool,
                    label_of_line: Callable | None) -> tuple[str | None, dict | None]:
    """File-level checks (count, format mix, duplicates, outliers, style, balance) into ``c``."""
    n = len(c.lines)
    if c.crlf:
        c.add_issue("crlf_line_endings", None, None, {"n": c.crlf})
    if is_training:
        if n == 0:
            c.add_issue("empty_file", None, None, {})
        elif n < MIN_EXAMPLES:
            c.add_issue("too_few_examples", None, None, {"n": n})
        elif n < RECOMMENDED_EXAMPLES:
            c.add_issue("few_examples", None, None, {"n": n})
    fmts = [_FMT_NAME[f & 3] for f in c.flags]
    present = {f for f in fmts if f}
    fmt = fmt_expected or (max(present, key=fmts.count) if present else None)
    for line, f in zip(c.lines, fmts):
        if f == "legacy":
            c.add_issue("legacy_format", line, None, {})
        elif f and f != fmt:
            c.add_issue("method_mismatch", line, None, {"found": f, "expected": fmt})
    _duplicates(c)
    if c.texts is not None:
        for i, j, sim in datasets.near_duplicate_pairs(c.texts):
            if c.hashes[i] != c.hashes[j]:
                c.add_issue("near_duplicate_example", c.lines[j], None, {"other": c.lines[i], "similarity": sim})
    elif near_skipped and n:
        c.add_issue("near_duplicates_skipped", None, None, {"mb": NEAR_DUP_MAX_BYTES >> 20})
    _outliers(c)
    _style(c)
    return fmt, _balance(c, label_of_line) if label_of_line else None


def _duplicates(c: _Chunk) -> None:
    first: dict[int, int] = {}
    for line, h in zip(c.lines, c.hashes):
        if h in first:
            c.add_issue("duplicate_example", line, None, {"other": first[h]})
        else:
            first[h] = line


def _outliers(c: _Chunk) -> None:
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


def _style(c: _Chunk) -> None:
    # Count the few distinct flag values (in C) instead of listing every chat example: no
    # per-example objects, so memory stays flat on large files.
    chat = {f: n for f, n in Counter(c.flags).items() if f & 3 == 1}
    n_chat = sum(chat.values())
    n_sys = sum(n for f, n in chat.items() if f & 4)
    if 0 < n_sys < n_chat:
        minority = 4 if n_sys <= n_chat / 2 else 0
        for line, f in zip(c.lines, c.flags):
            if f & 3 == 1 and f & 4 == minority:
                c.add_issue("inconsistent_system_message", line, None, {"n_with": n_sys, "n": n_chat})
    n_it = sum(n for f, n in chat.items() if f & 8)
    n_en = sum(n for f, n in chat.items() if f & 16)
    if n_it and n_en:
        main, bit, other = ("it", 16, "en") if n_it >= n_en else ("en", 8, "it")
        names = {"it": tr("italiano", "Italian"), "en": tr("inglese", "English")}
        for line, f in zip(c.lines, c.flags):
            if f & 3 == 1 and f & bit:
                c.add_issue("mixed_languages", line, None, {"lang": names[other], "main": names[main]})


def _balance(c: _Chunk, label_of_line: Callable) -> dict:
    counts: dict = {}
    for k, line in enumerate(c.lines):
        lab = label_of_line(k, line)
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


def _issues(c: _Chunk, file: str) -> list[Issue]:
    out = []
    for code, line, index, values in sorted(c.issues, key=lambda t: (t[1] or 0, t[2] or 1 << 30)):
        values = dict(values, line=line, message_index=index)
        out.append(Issue(code, CODES[code][0], line, index, _render(code, values), line, file, values))
    return out


def _expected_format(method) -> str | None:
    kind = method.get("type") if isinstance(method, dict) else method
    return {"supervised": "chat", "dpo": "dpo", None: None}.get(kind, kind)


def validate(source, model: str = DEFAULT_MODEL, *, method=None, validation_file=None,
             label_key: str | None = None, label: Callable | None = None, metadata=None,
             progress: bool = False, near_duplicates: bool = True) -> Report:
    """Validate a JSONL path (or an iterable of examples) for fine-tuning ``model``.

    ``method``: None (detect), "supervised"/"dpo" or an OpenAI method dict. ``label_key`` names a
    key of the side metadata (``metadata`` path/list/dict, or ``<name>_meta.jsonl`` next to the
    file) or of the example itself; ``label`` is a function example → class (e.g.
    ``FirstLineLabel("Categoria:")``). Never raises on bad data; never modifies the file.
    """
    meta = _load_metadata(metadata, source) if label_key else {}
    if label is None and label_key and not meta:
        label = KeyLabel(label_key)  # no side metadata: the key is in the example itself
    chunks, name, kept = _scan(source, model, label, near_duplicates, progress)
    c = _merge(chunks)
    label_of_line = None
    if label is not None:
        label_of_line = lambda k, line: c.labels[k]  # noqa: E731
    elif label_key:
        label_of_line = lambda k, line: (meta.get(line) or {}).get(label_key)  # noqa: E731
    fmt, balance = _dataset_checks(c, _expected_format(method), model, True,
                                   near_duplicates and not kept, label_of_line)
    issues = _issues(c, "training")
    if validation_file is not None:
        issues += _validation_file_issues(validation_file, c, model, fmt, progress)
    counts = {}
    for i in issues:
        counts[i.code] = counts.get(i.code, 0) + 1
    for code, n in c.counts.items():  # exact totals, also beyond the per-code cap
        counts[code] = max(counts.get(code, 0), n)
    return Report(source=name, model=model, fmt=fmt, n_examples=len(c.lines), n_lines=c.n_lines,
                  issues=issues, counts=counts, token_counts=list(c.tokens), labels=balance)


def _validation_file_issues(validation_file, train: _Chunk, model, fmt, progress) -> list[Issue]:
    chunks, _, _ = _scan(validation_file, model, None, False, progress)
    v = _merge(chunks)
    _dataset_checks(v, fmt, model, False, False, None)
    train_line = {}
    for line, h in zip(train.lines, train.hashes):
        train_line.setdefault(h, line)
    for line, h in zip(v.lines, v.hashes):
        if h in train_line:
            v.add_issue("validation_leakage", line, None, {"other": train_line[h]})
    return _issues(v, "validation")


# ---------------------------------------------------------------- CLI


def cli(args) -> int:
    """``ftlab validate FILE [--model M] [--json] [--no-progress]``: exit 1 on errors."""
    path = Path(args.file)
    if not path.is_file():
        print(tr("File non trovato: {p}", "File not found: {p}", p=path), file=sys.stderr)
        return 2
    show = not getattr(args, "no_progress", False) and sys.stderr.isatty()
    report = validate(path, model=args.model, progress=show)
    if args.json:
        print(report.to_json(indent=2))
    else:
        print(report.summary())
        for issue in report.issues[:50]:
            where = f"{issue.file}:{issue.line}" if issue.line else issue.file
            print(f"  {where}: [{issue.severity}] {issue.code}: {issue.message}")
        if len(report.issues) > 50:
            more = _count(len(report.issues) - 50, "altro problema", "altri problemi", "more", "more")
            print(tr("  … e {more} (usa --json per tutti).", "  … and {more} (use --json for all).", more=more))
    return 0 if report.ok else 1
