"""Export of the course model: times, sizes, greedy agreement with the sandbox, llama.cpp's speed.

Prints, for the course's fine-tuned model (``ftlab.jobs.course_model``, trained first if missing),
after a first line naming the CPU's vector extensions (they decide which kernels run):

- export times (targets: hf <= 20 s, gguf q8_0 <= 40 s on 2 cores, also in CPU-seconds) and sizes
  (q8_0 <= 180 MB);
- agreement with the sandbox's greedy answers on data/converti_python/test.jsonl's prompts, for the
  HF folder and the GGUF files loaded back with transformers: identical answers (goal for q8_0:
  >= 48/50) and, for the others, the median share of the sandbox's answer they repeat before they
  part (``ftlab.export.agreement``);
- the noise floor: the same agreement for the merged model rounded to q8_0 on a block grid moved by
  16 columns (``roundings.py``), another 8-bit rounding exactly as coarse (the relative RMS changes
  of bf16, q8_0 and the shifted q8_0 are printed): greedy answers of a 135M model flip on near-ties,
  so this is what any 8-bit file can be expected to reach;
- with llama-cpp-python importable (``--llama-cpp-path DIR`` adds DIR to sys.path), its greedy
  agreement on each GGUF (loaded with ``ftlab.llamacpp.open_llama``: on AMX CPUs its repacked
  buffers crash) and its decode speed next to the sandbox's as a ratio measured in the same run,
  per wall second and per CPU-second. Without it, that part is skipped and the reason printed.

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
sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def find_llama(path: str | None):
    if path:
        sys.path.append(path)   # after site-packages: its own numpy or jinja2 must not shadow ours
    try:
        import llama_cpp
        return llama_cpp, None
    except ImportError as exc:
        return None, f"llama_cpp not importable ({exc}); build it with `pip install --target DIR llama-cpp-python`"


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time used so far by a process and its children (this one by default)."""
    import psutil
    proc = psutil.Process(pid)
    times = [proc.cpu_times()] + [c.cpu_times() for c in proc.children(recursive=True)]
    return sum(t.user + t.system for t in times)


def decode_rate(generate, pid: int | None = None) -> tuple[float, float]:
    """``(tokens/s, tokens per CPU-second)`` of one ``generate()`` returning its completion tokens."""
    start, cpu = time.perf_counter(), cpu_seconds(pid)
    tokens = generate()
    return tokens / (time.perf_counter() - start), tokens / max(cpu_seconds(pid) - cpu, 1e-9)


def show(label: str, answers: list[str], reference: list[str]) -> None:
    print(f"{label:38s}: {ex.agreement(answers, reference)}")


def exports(model: str, tmp: str, formats: list[str]) -> dict[str, Path]:
    targets = {"hf": ("hf", None, ""), "gguf f16": ("gguf", "f16", "model-f16.gguf"),
               "gguf q8_0": ("gguf", "q8_0", "model-q8_0.gguf")}
    files = {}
    for label, (fmt, quant, name) in ((k, v) for k, v in targets.items() if k in formats):
        start, cpu = time.perf_counter(), cpu_seconds()
        out = ex.export(model, format=fmt, quant=quant, out=Path(tmp) / label.replace(" ", "-"), progress=False)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        files[label] = out / name if name else out
        size = sum(p.stat().st_size for p in out.iterdir())
        print(f"export {label:10s} {seconds:6.1f} s ({cpu:5.1f} CPU-s)  {size / 1e6:7.1f} MB  ({load()})")
    return files


def noise_floor(model: str, convs, reference, max_tokens: int) -> None:
    """The sandbox's model under another 8-bit rounding exactly as coarse as q8_0 (its block grid
    moved by 16 columns): how often an equally good rounding keeps the greedy answers."""
    from roundings import rounded
    source = ex.resolve(model)
    changes = {}
    for variant in ("bf16", "q8_0", "q8_0-shift"):   # the last one stays in `merged`
        merged, tokenizer = ex.merged_model(source)
        changes[variant] = rounded(variant, merged)[1]
    print("relative RMS change of the weight matrices: " + ", ".join(f"{k} {v:.2e}" for k, v in changes.items()))
    show("noise floor: q8_0 on a shifted grid", ex.answers_of(merged, tokenizer, convs, max_tokens=max_tokens),
         reference)


def llama_cpp_check(llama_cpp, client, model: str, files: dict, convs, reference, max_tokens: int) -> None:
    from ftlab import llamacpp
    from ftlab.sandbox import control
    llamas = {label: llamacpp.open_llama(path) for label, path in files.items() if label.startswith("gguf")}
    if not llamas:
        print("llama.cpp: skipped: no GGUF was exported in this run (--formats)")
        return
    for label, llama in llamas.items():
        show(f"llama.cpp {llama_cpp.__version__} on {label}", llamacpp.greedy_answers(llama, convs, max_tokens=max_tokens),
             reference)
    long = [{"role": "user", "content": "Scrivi una storia lunga su un programmatore Python."}]
    llama = llamas.get("gguf q8_0") or next(iter(llamas.values()))
    server = (control.status() or {}).get("pid")

    def ours():
        return llama.create_chat_completion(messages=long, temperature=0.0, max_tokens=128)["usage"]["completion_tokens"]

    def sandbox():
        return client.chat.completions.create(model=model, messages=long, temperature=0,
                                              max_tokens=128).usage.completion_tokens
    rates = [(decode_rate(ours), decode_rate(sandbox, server)) for _ in range(2)]   # alternated: same load
    (lw, lc), (sw, sc) = max(r[0] for r in rates), max(r[1] for r in rates)
    print(f"decode, one request of 128 tokens: llama.cpp {lw:.1f} tok/s ({lc:.1f}/CPU-s), sandbox {sw:.1f} tok/s "
          f"({sc:.1f}/CPU-s); ratio {lw / sw:.2f} wall, {lc / sc:.2f} per CPU-s ({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", default=None, help="sandbox model id (default: the course model)")
    parser.add_argument("--llama-cpp-path", default=None)
    parser.add_argument("--formats", default="hf,gguf f16,gguf q8_0",
                        help="comma-separated subset of: hf, gguf f16, gguf q8_0")
    parser.add_argument("--skip-transformers", action="store_true",
                        help="do not load the exported files back with transformers (the slowest part)")
    args = parser.parse_args()

    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    client = ftlab.connect()
    model = args.model or jobs.course_model(client)
    convs = conversations(args.prompts)
    print(f"model {model}; {len(convs)} prompts, {args.max_tokens} new tokens; {load()}")
    reference = sandbox_answers(client, model, convs, args.max_tokens)

    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        files = exports(model, tmp, args.formats.split(","))
        for label, path in ({} if args.skip_transformers else files).items():
            show(f"transformers on {label}", ex.greedy_answers(path, convs, max_tokens=args.max_tokens), reference)
        noise_floor(model, convs, reference, args.max_tokens)
        llama_cpp, why = find_llama(args.llama_cpp_path)
        if llama_cpp is None:
            print(f"llama.cpp: skipped: {why}")
            return
        llama_cpp_check(llama_cpp, client, model, files, convs, reference, args.max_tokens)


if __name__ == "__main__":
    main()
