"""OpenAI's list pages: the ``limit`` and ``after`` checks every list route shares."""
from __future__ import annotations

from ..errors import bad_request
from ..store import PageError
from ..types import Page


def limit(value: int, hi: int = 10_000) -> int:
    if not 1 <= value <= hi:
        raise bad_request(f"Invalid 'limit': expected an integer between 1 and {hi}.", "limit", "invalid_value")
    return value


def page(fn, **kw) -> dict:
    """One page from a store listing ``fn(after=…, limit=…)`` returning ``(items, has_more)``."""
    try:
        return Page.of(*fn(**kw))
    except PageError as exc:
        raise bad_request(f"Invalid 'after': no object with id '{exc}' in this list.", "after", "invalid_value")
