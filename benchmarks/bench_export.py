"""Export of the course model: times, sizes, greedy agreement with the sandbox, llama.cpp's speed.

Prints, for the course's fine-tuned model (``ftlab.jobs.course_model``, trained first if missing):

- export times (targets: hf <= 20 s, gguf q8_0 <= 40 s on 2 cores) and file sizes (q8_0 <= 180 MB);
- how many of data/converti_python/test.jsonl's prompts get the sandbox's exact greedy answer from
  the HF folder and from the GGUF files loaded back with transformers (goal for q8_0: >= 48/50);
- with llama-cpp-python importable (``--llama-cpp-path DIR`` adds DIR to sys.path), its greedy
  answers on the q8_0 GGUF against the sandbox's, and its decode speed next to the sandbox's as a
  ratio measured in the same run. Without it, that column is skipped and the reason printed.

    python benchmarks/bench_export.py [--prompts 50] [--max-tokens 64] [--llama-cpp-path /tmp/llamacpp]

Figures are printed, never asserted. The load average is printed with them: on a shared machine
times grow with it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ftlab  # noqa: E402
from ftlab import export as ex  # noqa: E402
from ftlab import jobs  # noqa: E402
from ftlab.paths import DATA_DIR  # noqa: E402


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def conversations(n: int) -> list[list[dict]]:
    rows = [json.loads(line) for line in (DATA_DIR / "converti_python" / "test.jsonl").open(encoding="utf-8")]
    return [[m for m in r["messages"] if m["role"] != "assistant"] for r in rows[:n]]


def sandbox_answers(client, model: str, convs, max_tokens: int) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    def ask(messages):
        return client.chat.completions.create(model=model, messages=messages, temperature=0,
                                              max_tokens=max_tokens).choices[0].message.content
    with ThreadPoolExecutor(8) as pool:   # the sandbox batches concurrent requests
        return list(pool.map(ask, convs))


def decode_rate_sandbox(client, model: str, messages, tokens: int) -> float:
    start = time.perf_counter()
    resp = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=tokens)
    return resp.usage.completion_tokens / (time.perf_counter() - start)


def find_llama(path: str | None):
    if path:
        sys.path.append(path)   # after site-packages: its own numpy or jinja2 must not shadow ours
    try:
        import llama_cpp
        return llama_cpp, None
    except ImportError as exc:
        return None, f"llama_cpp not importable ({exc}); build it with `pip install --target DIR llama-cpp-python`"


def llama_answers(llama, convs, max_tokens: int) -> list[str]:
    return [llama.create_chat_completion(messages=m, temperature=0.0, max_tokens=max_tokens)
            ["choices"][0]["message"]["content"] for m in convs]


def decode_rate_llama(llama, messages, tokens: int) -> float:
    start = time.perf_counter()
    out = llama.create_chat_completion(messages=messages, temperature=0.0, max_tokens=tokens)
    return out["usage"]["completion_tokens"] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", default=None, help="sandbox model id (default: the course model)")
    parser.add_argument("--llama-cpp-path", default=None)
    parser.add_argument("--formats", default="hf,gguf f16,gguf q8_0",
                        help="comma-separated subset of: hf, gguf f16, gguf q8_0")
    args = parser.parse_args()

    client = ftlab.connect()
    model = args.model or jobs.course_model(client)
    convs = conversations(args.prompts)
    print(f"model {model}; {len(convs)} prompts, {args.max_tokens} new tokens; {load()}")
    reference = sandbox_answers(client, model, convs, args.max_tokens)

    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        targets = {"hf": ("hf", None, ""), "gguf f16": ("gguf", "f16", "model-f16.gguf"),
                   "gguf q8_0": ("gguf", "q8_0", "model-q8_0.gguf")}
        targets = {k: v for k, v in targets.items() if k in args.formats.split(",")}
        files = {}
        for label, (fmt, quant, name) in targets.items():
            start = time.perf_counter()
            out = ex.export(model, format=fmt, quant=quant, out=Path(tmp) / label.replace(" ", "-"), progress=False)
            seconds = time.perf_counter() - start
            files[label] = out / name if name else out
            size = sum(p.stat().st_size for p in out.iterdir())
            print(f"export {label:10s} {seconds:6.1f} s  {size / 1e6:7.1f} MB  ({load()})")
        for label, path in files.items():
            got = ex.greedy_answers(path, convs, max_tokens=args.max_tokens)
            same = sum(a == b for a, b in zip(got, reference))
            print(f"transformers on {label:10s}: {same}/{len(convs)} answers identical to the sandbox's")

        llama_cpp, why = find_llama(args.llama_cpp_path)
        if llama_cpp is None:
            print(f"llama.cpp: skipped: {why}")
            return
        if "gguf q8_0" not in files:
            print("llama.cpp: skipped: the q8_0 GGUF was not exported in this run (--formats)")
            return
        llama = llama_cpp.Llama(model_path=str(files["gguf q8_0"]), n_ctx=2048, n_threads=os.cpu_count(),
                                verbose=False)
        got = llama_answers(llama, convs, args.max_tokens)
        same = sum(a == b for a, b in zip(got, reference))
        print(f"llama.cpp {llama_cpp.__version__} on q8_0: {same}/{len(convs)} answers identical to the sandbox's")
        long = [{"role": "user", "content": "Scrivi una storia lunga su un programmatore Python."}]
        rates = [(decode_rate_llama(llama, long, 128), decode_rate_sandbox(client, model, long, 128))
                 for _ in range(2)]
        llama_rate, sandbox_rate = max(r[0] for r in rates), max(r[1] for r in rates)
        print(f"decode, one request of 128 tokens: llama.cpp {llama_rate:.1f} tok/s, sandbox {sandbox_rate:.1f} "
              f"tok/s, ratio {llama_rate / sandbox_rate:.2f} ({load()})")


if __name__ == "__main__":
    main()
