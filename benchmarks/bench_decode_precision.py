"""Where a lone greedy decoding step's time goes, and what lower-precision weights would buy.

Issue 14 asks one greedy stream to reach half of llama.cpp's decode speed with answers unchanged.
This script prints the figures that decide how (after a first line naming the CPU):

1. the floor: the time of the decoder's matrix-vector products alone, for one token, with the
   stand-in's 30 layers' shapes in float32, bfloat16, float16 and dynamic int8 weights (nothing
   else of a step: no attention, norms or output layer);
2. the sandbox's engine, greedy, one request at a time, on the first N test prompts of
   ``data/converti_python`` and ``data/assistenza_clienti``: tokens/s as it is, then with every
   linear layer of the decoder reading a float16 copy of its weight for a lone row, and how many
   answers stay identical;
3. exact answers at float16's speed would need the float16 model as a draft checked by the float32
   one (speculative decoding): transformers' assisted generation with that draft, its speed next to
   plain greedy ``generate`` and whether the answers are the same.

    python benchmarks/bench_decode_precision.py [--prompts 50] [--max-tokens 64]

Figures are printed, never asserted; the load average is printed with them.
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ftlab.sandbox import cpu  # noqa: E402,I001  (first: it sets the kernels before torch loads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from bench_sandbox import load  # noqa: E402  (this folder: the load average beside every figure)
from ftlab.sandbox import inference, layout  # noqa: E402


def prompts(n: int) -> list[list[dict]]:
    out = []
    for name in ("converti_python", "assistenza_clienti"):
        lines = (ROOT / "data" / name / "test.jsonl").read_text(encoding="utf-8").splitlines()[:n]
        out += [[m for m in json.loads(line)["messages"] if m["role"] != "assistant"] for line in lines]
    return out


def float16_rows(layer: layout.LoneRowLinear) -> None:
    """Make ``layer`` multiply a lone row by a float16 copy of its weight (input and output float32).
    The copy is made on first use, in the thread that decodes: a multi-threaded torch operation in
    another thread slows every later step (``batching.Batcher``)."""
    usual = layer.forward

    def forward(self, x):
        if x.numel() != self.in_features:
            return usual(x)
        if getattr(self, "_w16", None) is None:
            self._w16 = self.weight.detach().to(torch.float16, memory_format=torch.contiguous_format)
        return F.linear(x.half(), self._w16).float()
    layer.forward = types.MethodType(forward, layer)


def engine_answers(engine, convs, max_tokens: int) -> tuple[list[str], float]:
    texts, tokens, start = [], 0, time.perf_counter()
    for conv in convs:
        choice = engine.chat(conv, temperature=0, max_tokens=max_tokens).choices[0]
        texts.append(choice.text)
        tokens += choice.completion_tokens
    return texts, tokens / (time.perf_counter() - start)


def floor(engine) -> None:
    """Matrix-vector products of every decoder linear layer for one token, per weight type."""
    layers = [m for name, m in engine.model.named_modules()
              if isinstance(m, torch.nn.Linear) and ".layers." in name]
    plain = [torch.nn.Linear(m.in_features, m.out_features, bias=False) for m in layers]
    variants = {"float32": (plain, torch.float32)}
    for dtype in (torch.bfloat16, torch.float16):
        variants[str(dtype).split(".")[1]] = ([copy.deepcopy(m).to(dtype) for m in plain], dtype)
    variants["int8 (dynamic)"] = (list(torch.ao.quantization.quantize_dynamic(
        torch.nn.Sequential(*copy.deepcopy(plain)), {torch.nn.Linear}, dtype=torch.qint8)), torch.float32)
    for label, (mods, dtype) in variants.items():
        inputs = {m.in_features: torch.randn(1, m.in_features).to(dtype) for m in plain}

        def step():
            for m in mods:
                m(inputs[m.in_features])
        for _ in range(3):
            step()
        start, n = time.perf_counter(), 20
        for _ in range(n):
            step()
        print(f"  floor, {len(mods)} decoder products of one token, {label:15s}: "
              f"{(time.perf_counter() - start) / n * 1000:5.1f} ms {load()}")


def assisted(engine, convs, max_tokens: int) -> None:
    model = engine.model
    draft = copy.deepcopy(model)
    for m in draft.modules():
        if isinstance(m, layout.LoneRowLinear):
            float16_rows(m)
    ids = [torch.tensor([engine.prompt_ids(c)]) for c in convs]

    def run(**extra):
        out, tokens, start = [], 0, time.perf_counter()
        for x in ids:
            y = model.generate(x, do_sample=False, max_new_tokens=max_tokens, **extra)[0, x.shape[1]:].tolist()
            out.append(y)
            tokens += len(y)
        return out, tokens / (time.perf_counter() - start)
    plain, plain_rate = run()
    drafted, drafted_rate = run(assistant_model=draft)
    same = sum(a == b for a, b in zip(plain, drafted))
    print(f"  transformers generate, greedy: {plain_rate:5.1f} tokens/s; assisted by the float16 draft: "
          f"{drafted_rate:5.1f} tokens/s, {same}/{len(plain)} answers identical {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=50, help="test prompts per dataset")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--part", choices=("engine", "floor", "assisted"), default=None,
                        help="run one part only (each part runs in a process of its own by default)")
    args = parser.parse_args()
    if args.part is None:   # fresh processes: threads a part started must not slow the next one
        print(cpu.describe(), flush=True)
        for part in ("engine", "floor", "assisted"):
            subprocess.run([sys.executable, __file__, "--part", part, "--prompts", str(args.prompts),
                            "--max-tokens", str(args.max_tokens)], check=True)
        return
    convs = prompts(args.prompts)
    engine = inference.Engine()
    if args.part == "engine":
        exact, exact_rate = engine_answers(engine, convs, args.max_tokens)
        for m in engine.model.modules():
            if isinstance(m, layout.LoneRowLinear):
                float16_rows(m)
        rough, rough_rate = engine_answers(engine, convs, args.max_tokens)
        same = sum(a == b for a, b in zip(exact, rough))
        print(f"  engine, greedy, one request at a time ({len(convs)} prompts, up to {args.max_tokens} tokens): "
              f"float32 weights {exact_rate:5.1f} tokens/s; float16 decoder weights {rough_rate:5.1f} tokens/s, "
              f"{same}/{len(convs)} answers identical {load()}")
    elif args.part == "floor":
        floor(engine)
    else:
        assisted(engine, convs[: max(2, len(convs) // 4)], args.max_tokens)


if __name__ == "__main__":
    main()
