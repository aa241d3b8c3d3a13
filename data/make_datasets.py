"""Build the course's datasets from the hand-written sources in ``data/sources/``.

Usage::

    python data/make_datasets.py            # rewrite the files in data/
    python data/make_datasets.py --out DIR  # write them elsewhere (tests compare byte for byte)
    python data/make_datasets.py --out DIR --more-scenarios
        # the customer-service fine-tune with 100 more training situations (an experiment, below)

Deterministic: the same sources give the same bytes on every machine (seeded ``random.Random``,
never Python's hash seed). ``data/esempi_errati/`` is not made here (owned by the validator).
"""
from __future__ import annotations

import argparse
import ast
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # importing the sources must not litter data/ with __pycache__
sys.path.insert(0, str(HERE / "sources"))

import assistenza_clienti  # noqa: E402
import converti_python  # noqa: E402
import funzioni_negozio  # noqa: E402
import legacy  # noqa: E402

SEED = 42
N_TEST = 50
N_VALIDATION = 20


def write_jsonl(rows: list[dict], path: Path) -> None:
    """One JSON object per line, UTF-8, non-ASCII kept readable, "\\n" line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def function_name(code: str) -> str:
    """The name of the single top-level function in an answer."""
    return next(n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef))


def split_labels(n: int, seed: int = SEED) -> list[str]:
    """Assign each of n examples to test / validation / train with a seeded shuffle.

    Our own split rather than ``ftlab.datasets.split``: the course needs exact sizes
    (50 test, 20 validation), and that function takes fractions.
    """
    order = list(range(n))
    random.Random(seed).shuffle(order)
    labels = ["train"] * n
    for rank, i in enumerate(order):
        if rank < N_TEST:
            labels[i] = "test"
        elif rank < N_TEST + N_VALIDATION:
            labels[i] = "validation"
    return labels


def build_converti_python(out: Path) -> None:
    """data/converti_python/{train,validation,test,checks}.jsonl."""
    tasks = converti_python.TASKS
    labels = split_labels(len(tasks))
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    checks = []
    for task, label in zip(tasks, labels):
        splits[label].append({"messages": [
            {"role": "system", "content": converti_python.SYSTEM},
            {"role": "user", "content": task["request"]},
            {"role": "assistant", "content": task["code"]},
        ]})
        checks.append({"request": task["request"], "function": function_name(task["code"]),
                       "checks": task["checks"], "split": label})
    for label, rows in splits.items():
        write_jsonl(rows, out / "converti_python" / f"{label}.jsonl")
    write_jsonl(checks, out / "converti_python" / "checks.jsonl")


def customer_message(rng: random.Random, person: tuple, request: str) -> str:
    """The customer's text: an opening, the request, maybe a sign-off; the name appears once."""
    first, last = person[0], person[1]
    names = {"first": first, "full": f"{first} {last}"}
    greeting = rng.choice(assistenza_clienti.GREETINGS)
    named = "{" in greeting
    sign_off = rng.choice(assistenza_clienti.SIGN_OFFS_PLAIN if named
                          else assistenza_clienti.SIGN_OFFS_NAMED)
    parts = [greeting.format(**names), request, sign_off.format(**names)]
    return " ".join(p for p in parts if p)


def spread_by_origin(people: list[tuple], rng: random.Random) -> list[tuple]:
    """Order people so that every run of consecutive entries mixes origins in proportion."""
    by_origin: dict[str, list[tuple]] = {}
    for person in people:
        by_origin.setdefault(person[3], []).append(person)
    keyed = []
    for members in by_origin.values():
        rng.shuffle(members)
        keyed += [((k + 0.5) / len(members), person) for k, person in enumerate(members)]
    return [person for _, person in sorted(keyed, key=lambda kp: (kp[0], kp[1][3]))]


def assign_customers(rng: random.Random) -> list[tuple[str, str, str, tuple]]:
    """Pair every scenario with a customer: (category, request, reply, person).

    Inside each category women and men alternate, and customers are drawn from an
    origin-spread queue, so neither gender nor origin correlates with a category by accident
    (a spurious pattern a fine-tuned model would learn).
    """
    queues = {g: spread_by_origin([c for c in assistenza_clienti.CUSTOMERS if c[2] == g], rng)
              for g in ("F", "M")}
    used: Counter = Counter()
    items = []
    for category, pairs in assistenza_clienti.SCENARIOS.items():
        for j, (request, reply) in enumerate(pairs):
            gender = "FM"[j % 2]
            person = queues[gender][used[gender] % len(queues[gender])]
            used[gender] += 1
            items.append((category, request, reply, person))
    rng.shuffle(items)
    return items


def service_example(system: str, user: str, category: str, first_name: str, reply: str,
                    signature: str) -> dict:
    """One customer-service example in the house format: category line, greeting, reply, signature."""
    answer = f"Categoria: {category}\n\nGentile {first_name}, {reply}\n\n{signature}"
    return {"messages": [{"role": "system", "content": system},
                         {"role": "user", "content": user},
                         {"role": "assistant", "content": answer}]}


def build_assistenza_clienti(out: Path) -> None:
    """data/assistenza_clienti.jsonl and its metadata file, line by line."""
    rng = random.Random(SEED)
    examples, meta = [], []
    for i, (category, request, reply, person) in enumerate(assign_customers(rng)):
        order = f"n. {rng.randint(10000, 99999)}"
        user = customer_message(rng, person, request.format(ordine=order))
        examples.append(service_example(assistenza_clienti.SYSTEM, user, category, person[0],
                                        reply.format(ordine=order), assistenza_clienti.SIGNATURE))
        meta.append({"line": i + 1, "category": category,
                     "customer_name": f"{person[0]} {person[1]}", "gender": person[2],
                     "origin": person[3], "origin_detail": person[4]})
    write_jsonl(examples, out / "assistenza_clienti.jsonl")
    write_jsonl(meta, out / "assistenza_clienti_meta.jsonl")


FT_SPLITS = {"test": (12, 1), "validation": (3, 2), "train": (None, 3)}  # scenarios/category, variants each
# --more-scenarios: train also on TRAIN_ONLY_SCENARIOS, two variants each instead of three (390
# examples, not 285). Measured 2026-12-07 (benchmarks/bench_service_limits.py, same 60 test
# requests): category accuracy 0.617 at LR x12 (0.63 on the course's data), 0.667 at LR x24 (0.65)
# for +40 % training time, so the course keeps its data; a linear probe on the frozen base rises
# from 0.65 to 0.73 with them (that script's --probe).
MORE_TRAIN_VARIANTS = 2


def short_reply(reply: str) -> str:
    """The first sentence of a reply (two when the first is a bare courtesy): a short answer."""
    sentences = re.split(r"(?<=[.!?]) (?=[A-ZÈ])", reply)
    keep = 2 if len(sentences[0].split()) < 6 and len(sentences) > 1 else 1
    return " ".join(sentences[:keep])


def typo(text: str, rng: random.Random, kind: int) -> str:
    """A customer's slip of kind 0-3: none, all lowercase, no accents, two letters swapped."""
    if kind == 1:
        return text.lower()
    if kind == 2:
        return text.translate(str.maketrans("àèéìòù", "aeeiou"))
    if kind == 3:
        words = [i for i, w in enumerate(text.split(" ")) if len(w) > 5 and w.isalpha()]
        if words:
            parts = text.split(" ")
            i = rng.choice(words)
            j = rng.randrange(1, len(parts[i]) - 2)
            w = parts[i]
            parts[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            return " ".join(parts)
    return text


def ft_scenarios(rng: random.Random, more: bool = False) -> dict[str, list[tuple[str, str, str]]]:
    """Split each category's scenarios into test / validation / train (the train-only ones join
    train): a test scenario is never trained on, not even reworded."""
    out: dict[str, list[tuple[str, str, str]]] = {label: [] for label in FT_SPLITS}
    for category, pairs in assistenza_clienti.SCENARIOS.items():
        pairs = [(r, short_reply(a)) for r, a in pairs] + assistenza_clienti.EXTRA_SCENARIOS[category]
        order = list(range(len(pairs)))
        rng.shuffle(order)
        start = 0
        for label, (n, _) in FT_SPLITS.items():
            chosen = order[start:start + n] if n else order[start:]
            start += len(chosen)
            out[label] += [(category, *pairs[i]) for i in sorted(chosen)]
        if more:   # after the draw, so the test and validation splits stay the same
            out["train"] += [(category, *pair) for pair in assistenza_clienti.TRAIN_ONLY_SCENARIOS[category]]
    return out


def build_ft_split(label: str, scenarios: list, queues: dict, used: Counter, rng: random.Random,
                   variants: int | None = None):
    """The examples and meta rows of one split: each scenario in ``variants`` wordings and customers."""
    examples, meta = [], []
    variants = variants or FT_SPLITS[label][1]
    items = [(s, v) for s in scenarios for v in range(variants)]
    rng.shuffle(items)
    for i, ((category, request, reply), v) in enumerate(items):
        gender = "FM"[(used["all"] + v) % 2]
        used["all"] += 1
        person = queues[gender][used[gender] % len(queues[gender])]
        used[gender] += 1
        first, last = person[0], person[1]
        order = f"n. {rng.randint(10000, 99999)}"
        opening = rng.choice(assistenza_clienti.FT_OPENINGS).format(first=first, full=f"{first} {last}")
        body = typo(request.format(ordine=order), rng, rng.randrange(4))
        user = " ".join(p for p in (opening, body, rng.choice(assistenza_clienti.FT_DETAILS)) if p)
        examples.append(service_example(assistenza_clienti.FT_SYSTEM, user, category, first,
                                        reply.format(ordine=order), assistenza_clienti.FT_SIGNATURE))
        meta.append({"line": i + 1, "category": category, "first_name": first,
                     "customer_name": f"{first} {last}", "gender": person[2],
                     "origin": person[3], "origin_detail": person[4], "request": request})
    return examples, meta


def build_assistenza_clienti_ft(out: Path, more: bool = False) -> None:
    """data/assistenza_clienti/{train,validation,test}.jsonl and their ``*_meta.jsonl``."""
    rng = random.Random(SEED)
    queues = {g: spread_by_origin([c for c in assistenza_clienti.CUSTOMERS if c[2] == g], rng)
              for g in ("F", "M")}
    used: Counter = Counter()
    for label, scenarios in ft_scenarios(rng, more).items():
        variants = MORE_TRAIN_VARIANTS if more and label == "train" else None
        examples, meta = build_ft_split(label, scenarios, queues, used, rng, variants)
        write_jsonl(examples, out / "assistenza_clienti" / f"{label}.jsonl")
        write_jsonl(meta, out / "assistenza_clienti" / f"{label}_meta.jsonl")


def build_legacy(out: Path) -> None:
    """data/legacy_prompt_completion.jsonl in the course's old format."""
    rows = [{"prompt": p + legacy.PROMPT_SEPARATOR, "completion": c + legacy.END_MARKER}
            for p, c in legacy.PAIRS]
    write_jsonl(rows, out / "legacy_prompt_completion.jsonl")


def build_all(out: Path = HERE, more_scenarios: bool = False) -> None:
    """Write every generated dataset under ``out``."""
    build_converti_python(out)
    build_assistenza_clienti(out)
    build_assistenza_clienti_ft(out, more_scenarios)
    build_legacy(out)
    funzioni_negozio.build(out, write_jsonl)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild the course datasets.")
    parser.add_argument("--out", type=Path, default=HERE, help="output dir (default: data/)")
    parser.add_argument("--more-scenarios", action="store_true",
                        help="the customer-service training split with TRAIN_ONLY_SCENARIOS too")
    args = parser.parse_args(argv)
    if args.more_scenarios and args.out.resolve() == HERE.resolve():
        parser.error("--more-scenarios is an experiment: write it elsewhere with --out DIR")
    build_all(args.out, args.more_scenarios)


if __name__ == "__main__":
    main()
