"""Benchmark: `ftlab validate` against a straightforward load-everything-then-count script.

Generates chat JSONL files (25, 50, 100 MB by default) in a temporary directory (deleted after),
then runs each approach in its own process and prints wall time, MB/s and peak RSS (sampled
every 20 ms over the whole process tree, so worker processes count too). Both compute o200k
token statistics; `ftlab validate` also runs every format and quality check.

    python benchmarks/bench_validate.py [--sizes 25 50 100] [--keep DIR] [--repeat 3]

Figures depend on the machine's load: each row carries the 1-minute load average at its start,
and with --repeat the best wall time is marked; CPU seconds (user + system of the whole process
tree) vary much less with load than wall time does.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent

WORDS = ("il la di che per non una sono con come funzione lista numero stringa valore calcola "
         "somma restituisce elemento ogni quando dati file riga chiave dizionario ordina filtra "
         "conta media massimo minimo parola testo utente cliente ordine prodotto prezzo data").split()
SYSTEM = "Sei un assistente che converte richieste in italiano in funzioni Python ben scritte."

# The straightforward approach: read it all, parse it all, then count (as the cookbook does).
NAIVE = r"""
import json, statistics, sys
from ftlab.tokens import get_encoding
enc = get_encoding("o200k_base")
with open(sys.argv[1], encoding="utf-8") as f:
    dataset = [json.loads(line) for line in f]
counts = []
for ex in dataset:
    n = 3
    for m in ex["messages"]:
        n += 3 + sum(len(enc.encode(v)) for v in m.values() if isinstance(v, str))
    counts.append(n)
counts.sort()
print(json.dumps({"n": len(counts), "median": statistics.median(counts), "max": counts[-1]}))
"""


def make_file(path: Path, megabytes: int, seed: int = 0) -> int:
    """Write varied chat examples until the file reaches ``megabytes``; return the count."""
    rng = random.Random(seed)
    target, size, n = megabytes * 1_000_000, 0, 0
    with open(path, "w", encoding="utf-8") as f:
        while size < target:
            words = rng.choices(WORDS, k=rng.randint(8, 60))
            name = "_".join(rng.choices(WORDS, k=2))
            body = "\n".join(f"    x{k} = {rng.randint(0, 999)} + len({rng.choice(WORDS)!r})"
                             for k in range(rng.randint(2, 20)))
            ex = {"messages": [{"role": "system", "content": SYSTEM},
                               {"role": "user", "content": " ".join(words).capitalize() + f" ({n})."},
                               {"role": "assistant", "content": f"def {name}(xs):\n{body}\n    return x0"}]}
            line = json.dumps(ex, ensure_ascii=False) + "\n"
            f.write(line)
            size += len(line.encode("utf-8"))
            n += 1
    return n


def run(cmd: list[str]) -> dict:
    """Run ``cmd``; return wall seconds, peak RSS of the process tree (MB) and its output."""
    start, before = time.perf_counter(), os.times()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    root, peak, peak_pss, peak_main = psutil.Process(proc.pid), 0, 0, 0
    while proc.poll() is None:
        try:
            tree = [root] + root.children(recursive=True)
            mems = [p.memory_full_info() for p in tree]
            peak = max(peak, sum(m.rss for m in mems))
            # PSS shares pages that forked workers have in common with the parent fairly
            peak_pss = max(peak_pss, sum(m.pss for m in mems))
            peak_main = max(peak_main, mems[0].rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    out, err = proc.communicate()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"cpu": cpu, "seconds": time.perf_counter() - start, "peak_mb": peak / 1e6, "pss_mb": peak_pss / 1e6,
            "main_mb": peak_main / 1e6, "rc": proc.returncode, "stdout": out.decode(), "stderr": err.decode()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100], help="file sizes in MB")
    ap.add_argument("--keep", help="write the files here and keep them")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each approach (best is marked)")
    args = ap.parse_args()
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="ftlab-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"cpus={os.cpu_count()} load average={os.getloadavg()} python={sys.version.split()[0]}")
    print("peak RSS: sum over the process tree (shared pages counted in each process), its PSS,\n"
          "and the main process alone; CPU s: user+sys of the process tree")
    print(f"{'file':>8} {'examples':>9} {'approach':>14} {'seconds':>8} {'MB/s':>7} {'CPU s':>6} "
          f"{'RSS tree':>9} {'PSS tree':>9} {'RSS main':>9} {'load':>5}")
    try:
        for mb in args.sizes:
            path = tmp / f"chat_{mb}mb.jsonl"
            n = make_file(path, mb) if not path.exists() else sum(1 for _ in open(path, "rb"))
            real_mb = path.stat().st_size / 1e6
            runs = [("ftlab validate", [sys.executable, "-m", "ftlab.cli", "validate", str(path),
                                        "--json", "--no-progress"])]
            if not args.no_naive:
                runs.append(("load-all", [sys.executable, "-c", NAIVE, str(path)]))
            for name, cmd in runs:
                results = []
                for _ in range(args.repeat):
                    load = os.getloadavg()[0]
                    r = run(cmd)
                    if name == "ftlab validate":
                        report = json.loads(r["stdout"])
                        check = report["token_stats"]
                        assert report["n_examples"] == n, (report["n_examples"], n)
                    elif r["rc"] != 0:
                        raise SystemExit(r["stderr"])
                    results.append(r)
                    print(f"{real_mb:>7.0f}M {n:>9} {name:>14} {r['seconds']:>8.2f} "
                          f"{real_mb / r['seconds']:>7.1f} {r['cpu']:>6.1f} {r['peak_mb']:>9.0f} "
                          f"{r['pss_mb']:>9.0f} {r['main_mb']:>9.0f} {load:>5.2f}")
                if args.repeat > 1:
                    best = min(results, key=lambda r: r["seconds"])
                    print(f"{'':>8} {'':>9} {'best wall':>14} {best['seconds']:>8.2f} "
                          f"{real_mb / best['seconds']:>7.1f} {min(r['cpu'] for r in results):>6.1f}  (CPU: lowest)")
            print(f"         o200k tokens per example: median {check['median']}, p90 {check['p90']}, "
                  f"max {check['max']}, total {check['total']}")
            print(f"         load average now {os.getloadavg()}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
