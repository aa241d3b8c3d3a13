"""What the engine answers: choices, token counts, streamed deltas (no torch here: the API's
process reads these from the engine's process, ``engine_process``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, NamedTuple

from ftlab.sandbox.tool_prompt import ToolUse


@dataclass
class Choice:
    text: str
    finish_reason: str        # "stop" | "length" | "tool_calls"
    completion_tokens: int
    tool_calls: list[dict] | None = None   # [{"name", "arguments": JSON string}] when the reply is calls

    def read_calls(self, tools: ToolUse | None) -> "Choice":
        """This choice with the calls its text makes (a reply cut by ``max_tokens`` makes none)."""
        calls = tools.calls(self.text) if tools and self.finish_reason == "stop" else None
        return Choice(self.text, "tool_calls", self.completion_tokens, calls) if calls else self


class ChatResult(NamedTuple):
    choices: list[Choice]
    prompt_tokens: int


@dataclass
class StreamResult:
    text: str
    finish_reason: str
    completion_tokens: int
    prompt_tokens: int
    tool_calls: list[dict] | None = None

    @classmethod
    def of(cls, choice: Choice, prompt_tokens: int) -> "StreamResult":
        return cls(choice.text, choice.finish_reason, choice.completion_tokens, prompt_tokens, choice.tool_calls)


class Stream:
    """Iterate for text deltas; afterwards ``.result`` holds finish_reason and token counts."""

    def __init__(self, deltas: Iterator[str]):
        self._deltas, self.result = deltas, None

    def __iter__(self):
        self.result = yield from self._deltas
