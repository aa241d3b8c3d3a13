"""Italian-first user messages, English with ``FTLAB_LANG=en``."""
from __future__ import annotations

import os


def lang() -> str:
    """Return ``"en"`` when ``FTLAB_LANG`` starts with "en", else ``"it"`` (the course language)."""
    return "en" if os.environ.get("FTLAB_LANG", "it").lower().startswith("en") else "it"


def tr(it: str, en: str, /, **values) -> str:
    """Pick the message for the current language and fill in ``values`` (``str.format`` style)."""
    text = en if lang() == "en" else it
    return text.format(**values) if values else text


def num(x: float, digits: int = 2, *, signed: bool = False) -> str:
    """``x`` with ``digits`` decimals as the user's language writes it: 0,25 in Italian, 0.25 in
    English; ``signed`` writes the sign of positive numbers too (+0,25: a gap, a difference)."""
    text = f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
    return text if lang() == "en" else text.replace(".", ",")
