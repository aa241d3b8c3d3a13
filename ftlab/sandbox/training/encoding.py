"""Examples as token ids and loss masks: the chat template's text, and which tokens are trained on.

Loss only on what OpenAI trains on: tokens of assistant messages (their content and the closing
``<|im_end|>``, so the model learns to stop) whose ``weight`` is not 0. Spans are found on the
text rendered by the model's chat template, then mapped to tokens through offsets. Micro-batches
sort a step's examples by length so padding stays small. An example's ``tools`` (or legacy
``functions``), its tool calls and tool results are written into the text by ``tool_prompt``, the
same template the sandbox's chat completions use, so a fine-tune sees the definitions it calls.
"""
from __future__ import annotations

import torch

from ..tool_prompt import assistant_text, functions_of, template_messages
from .config import MAX_TOKENS, MICRO_BATCH_TOKENS


def _render(tokenizer, messages: list[dict], functions=None, generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(template_messages(messages, functions), tokenize=False,
                                         add_generation_prompt=generation_prompt)


def _assistant_spans(tokenizer, messages: list[dict], functions, text: str) -> list[tuple[int, int]]:
    """Character spans of the trained assistant messages (content + end-of-turn token)."""
    spans, cursor = [], 0
    eos = tokenizer.eos_token or ""
    for i, msg in enumerate(messages):
        if msg.get("role") != "assistant" or msg.get("weight", 1) == 0:
            continue
        body = assistant_text(msg)
        prefix = _render(tokenizer, messages[:i], functions, generation_prompt=True)
        start = len(prefix) if text.startswith(prefix) and text.startswith(body, len(prefix)) \
            else text.find(body, cursor)  # templates that rewrite earlier turns: search instead
        if start < 0:
            continue
        end = start + len(body)
        if eos and text.startswith(eos, end):
            end += len(eos)
        spans.append((start, end))
        cursor = end
    return spans


def encode_chat(tokenizer, messages: list[dict], max_tokens: int = MAX_TOKENS, tools=None, functions=None):
    """Token ids of the rendered conversation and a bool mask of the tokens trained on; ``tools``
    / ``functions``: the example's function definitions (rendered into its system turn)."""
    defined = functions_of(tools, functions)
    text = _render(tokenizer, messages, defined)
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    spans = _assistant_spans(tokenizer, messages, defined, text)
    mask = [any(s <= a and b <= e for s, e in spans) and b > a for a, b in enc["offset_mapping"]]
    return enc["input_ids"][:max_tokens], mask[:max_tokens]


def encode_dpo(tokenizer, example: dict, max_tokens: int = MAX_TOKENS):
    """Two encodings (preferred, non-preferred) sharing the prompt of a DPO example."""
    prompt = example["input"]["messages"]
    tools = {k: example["input"].get(k) for k in ("tools", "functions")}
    pair = []
    for key in ("preferred_output", "non_preferred_output"):
        answer = [dict(m, weight=1) for m in example[key]]
        prompt_only = [dict(m, weight=0) for m in prompt]
        pair.append(encode_chat(tokenizer, prompt_only + answer, max_tokens, **tools))
    return pair


def pad_batch(rows, pad_id: int, device):
    """Right-pad (ids, mask) rows into tensors: input_ids, attention_mask, label mask."""
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, (row_ids, row_mask) in enumerate(rows):
        ids[i, : len(row_ids)] = torch.tensor(row_ids)
        attn[i, : len(row_ids)] = 1
        labels[i, : len(row_ids)] = torch.tensor(row_mask, dtype=torch.bool)
    return ids.to(device), attn.to(device), labels.to(device)


def micro_batches(rows: list, budget: int = MICRO_BATCH_TOKENS) -> list[list]:
    """Sort rows by length and cut them into micro-batches of at most ``budget`` padded tokens."""
    rows = sorted(rows, key=lambda r: len(r[0]))
    out, current = [], []
    for row in rows:
        if current and len(row[0]) * (len(current) + 1) > budget:
            out.append(current)
            current = []
        current.append(row)
    if current:
        out.append(current)
    return out
