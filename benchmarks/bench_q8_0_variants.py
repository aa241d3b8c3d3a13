"""Which 8-bit roundings of the course model keep the sandbox's greedy answers? (issue 16's 48/50 goal)

Each variant rounds the merged model's weight matrices in memory exactly as a GGUF file would store
them (transformers' GGUF loader dequantizes q8_0 blocks to these same float32 values), then answers
data/converti_python/test.jsonl's prompts greedily with transformers; agreement with the sandbox as in
bench_export.py (identical answers; median common-prefix share of the others). The size is the q8_0
file's, plus what the matrices kept in f16 add. Variants:

- ``q8_0``: llama.cpp's q8_0 (gguf.quants; byte-identical to llama.cpp's own quantizer, see NOTES);
- ``q8_0-lsq``: the same 8-bit codes, each block's scale refitted by least squares (less error, same format);
- ``q8_0+f16:LAYERS``: q8_0 with the matrices of decoder layers LAYERS (e.g. ``20-29``) kept in f16;
- ``q8_0+f16:embd``: q8_0 with token_embd (also the tied output head) kept in f16;
- ``q8_0-shift``: q8_0 with its block grid moved by 16 columns: another 8-bit rounding exactly as
  coarse as q8_0's (the noise floor: how often an equally good rounding keeps the answers);
- ``bf16``: every matrix rounded to bfloat16 (a smaller perturbation: ~1/3.6 of q8_0's RMS change).

    python benchmarks/bench_q8_0_variants.py [--prompts 50] [--variants q8_0,q8_0-lsq,q8_0+f16:20-29,bf16]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_export  # noqa: E402
from roundings import rounded  # noqa: E402
import ftlab  # noqa: E402
from ftlab import export as ex  # noqa: E402
from ftlab import gguf_export, jobs  # noqa: E402

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", default=None)
    parser.add_argument("--variants", default="q8_0,q8_0-lsq,q8_0+f16:20-29,q8_0+f16:0-9,bf16")
    args = parser.parse_args()
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    client = ftlab.connect()
    model = args.model or jobs.course_model(client)
    convs = bench_export.conversations(args.prompts)
    reference = bench_export.sandbox_answers(client, model, convs, args.max_tokens)
    source = ex.resolve(model)
    with tempfile.TemporaryDirectory() as tmp:   # the q8_0 file's size, metadata included
        merged, tokenizer = ex.merged_model(source)
        base_size = gguf_export.write(merged, tokenizer, Path(tmp) / "m.gguf", "q8_0", progress=False).stat().st_size
    print(f"model {model}; {len(convs)} prompts, {args.max_tokens} new tokens; {bench_export.load()}")
    for variant in args.variants.split(","):
        merged, tokenizer = ex.merged_model(source)
        extra, error = rounded(variant, merged)
        answers = ex.answers_of(merged, tokenizer, convs, max_tokens=args.max_tokens)
        size = f"{(base_size + extra) / 1e6:6.1f} MB" if variant != "bf16" else "   (n/a)"
        print(f"{variant:16s} {size}  RMS change {error:.2e}  {ex.agreement(answers, reference)}  "
              f"({bench_export.load()})", flush=True)


if __name__ == "__main__":
    main()
