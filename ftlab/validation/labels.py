"""What an example is about: its class label (for the balance check) and its language.

Label functions are classes, not lambdas, so the scanner's worker processes can receive them.
"""
from __future__ import annotations

from pathlib import Path

from ftlab import datasets
from ftlab.openai_spec import content_text


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


class KeyLabel:
    """Label = ``example[key]`` (a picklable function for ``label``)."""

    def __init__(self, key: str):
        self.key = key

    def __call__(self, example: dict):
        return example.get(self.key) if isinstance(example, dict) else None


def load_metadata(metadata, source) -> dict[int, dict]:
    """line → metadata record, from a JSONL path, a list (index = line - 1) or a dict.

    With ``metadata=None`` a file ``<name>_meta.jsonl`` beside ``source`` is used if present.
    """
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


LANGUAGES = ("it", "en")
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


def user_prose(example: dict) -> str:
    """The user's words of a chat example (language is judged on them: answers may be code)."""
    msgs = example.get("messages") if isinstance(example.get("messages"), list) else []
    texts = (content_text(m.get("content")) for m in msgs if isinstance(m, dict) and m.get("role") == "user")
    return " ".join(t for t in texts if t is not None)
