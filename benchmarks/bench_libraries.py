"""Benchmark: ftlab's own near-duplicate search, completion cache and A/B statistics against the
libraries that do the same (datasketch, diskcache, scipy.stats). Prints figures; asserts nothing.

The libraries are not ftlab dependencies; install them aside to run this, e.g.

    python -m pip install --target /tmp/libs datasketch diskcache scipy
    FTLAB_HOME=$(mktemp -d) python benchmarks/bench_libraries.py --libs /tmp/libs

A library that is missing is skipped. Each row carries the load average: on shared cores the
times vary, their ratios much less.
"""
from __future__ import annotations

import argparse
import importlib
import os
import random
import sys
import tempfile
import time


def best(fn, repeat: int = 3):
    """Lowest wall time of ``repeat`` runs, and the last result."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def texts_with_planted_pairs(n: int, seed: int = 0) -> tuple[list[str], int]:
    """``n`` varied texts; every 50th is followed by a copy plus one word (Jaccard ≥ 0.9)."""
    rng = random.Random(seed)
    words = ("il la di che per non una sono con come funzione lista numero stringa valore calcola "
             "somma restituisce elemento ogni quando dati file riga chiave dizionario").split()
    texts = [" ".join(rng.choices(words, k=rng.randint(30, 60))) for _ in range(n)]
    for i in range(0, n - 1, 50):
        texts[i + 1] = texts[i] + " fine"
    return texts, len(range(0, n - 1, 50))


def datasketch_pairs(texts, threshold=0.9):
    from datasketch import MinHash, MinHashLSH

    from ftlab import datasets
    sets = [datasets.shingles(t) for t in texts]
    lsh, signatures = MinHashLSH(threshold=threshold, num_perm=64), []
    for i, s in enumerate(sets):
        m = MinHash(num_perm=64, seed=1)
        m.update_batch([x.encode() for x in s])
        lsh.insert(i, m)
        signatures.append(m)
    pairs = set()
    for i, m in enumerate(signatures):
        for j in lsh.query(m):
            if j > i and (sim := datasets.jaccard(sets[i], sets[j])) >= threshold:
                pairs.add((i, j, sim))
    return pairs


def near_duplicates(n: int) -> None:
    from ftlab import datasets
    texts, planted = texts_with_planted_pairs(n)
    t_own, own = best(lambda: datasets.near_duplicate_pairs(texts), 2)
    print(f"near duplicates, {n} texts, {planted} planted pairs (load {os.getloadavg()[0]:.1f}):")
    print(f"  ftlab (numpy MinHash, 16x4 bands)  {t_own:6.2f} s  {len(own)} pairs")
    if _have("datasketch"):
        t_ds, ds = best(lambda: datasketch_pairs(texts), 2)
        print(f"  datasketch MinHashLSH (64 perms)   {t_ds:6.2f} s  {len(ds)} pairs, "
              f"{len(set(own) - ds)} of ftlab's missed")


def statistics() -> None:
    from ftlab import evaluation as ev
    rng = random.Random(1)
    a = [rng.random() < 0.7 for _ in range(200)]
    b = [rng.random() < 0.6 for _ in range(200)]
    test = ev.mcnemar(a, b)
    t_own, _ = best(lambda: ev.mcnemar(a, b), 5)
    diffs = [float(y) - float(x) for x, y in zip(a, b)]
    t_boot, ci = best(lambda: ev.bootstrap_ci(diffs), 3)
    print(f"A/B statistics, 200 pairs (load {os.getloadavg()[0]:.1f}):")
    print(f"  ftlab mcnemar p={test['p_value']} {t_own * 1e3:.2f} ms; bootstrap_ci {ci} {t_boot * 1e3:.0f} ms")
    if _have("scipy"):
        start = time.perf_counter()
        import scipy.stats as st
        t_import = time.perf_counter() - start
        k, n = min(test["only_a"], test["only_b"]), test["only_a"] + test["only_b"]
        t_bin, p = best(lambda: st.binomtest(k, n, 0.5).pvalue, 5)
        t_sb, res = best(lambda: st.bootstrap((diffs,), lambda x, axis: x.mean(axis=axis), n_resamples=2000,
                                              method="percentile", random_state=0).confidence_interval, 3)
        print(f"  scipy binomtest p={p:.4f} {t_bin * 1e3:.2f} ms; bootstrap ({res.low:.4f}, {res.high:.4f}) "
              f"{t_sb * 1e3:.0f} ms; import scipy.stats {t_import:.2f} s")


def cache(n: int = 1000) -> None:
    from ftlab import evaluation as ev
    records = [(ev.cache_key("m", [{"role": "user", "content": str(i)}], {}, "b"), {"text": "x" * 200, "i": i})
               for i in range(n)]

    def own():
        for key, record in records:
            ev._cache_put(key, record)
        return sum(ev._cache_get(key)["i"] for key, _ in records)

    t_own, _ = best(own, 2)
    print(f"completion cache, {n} puts + gets (load {os.getloadavg()[0]:.1f}):")
    print(f"  ftlab JSON files   {t_own * 1e3:5.0f} ms")
    if _have("diskcache"):
        import diskcache

        def disk():
            with diskcache.Cache(tempfile.mkdtemp()) as c:
                for key, record in records:
                    c.set(key, record)
                return sum(c.get(key)["i"] for key, _ in records)
        t_disk, _ = best(disk, 2)
        print(f"  diskcache (SQLite) {t_disk * 1e3:5.0f} ms")


def _have(name: str) -> bool:
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        print(f"  ({name} not installed: skipped)")
        return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--libs", help="a directory the libraries were installed to (--target)")
    ap.add_argument("--texts", type=int, default=20_000)
    args = ap.parse_args()
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    if args.libs:
        sys.path.append(args.libs)  # after the venv: its numpy stays the one in use
    os.environ.setdefault("FTLAB_HOME", tempfile.mkdtemp(prefix="ftlab-bench-"))
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}")
    near_duplicates(args.texts)
    statistics()
    cache()


if __name__ == "__main__":
    main()
