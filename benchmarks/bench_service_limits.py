"""Benchmark: what limits the customer-service fine-tune's category accuracy (issue 12's 0.85 goal)?

Trains the course's customer-service data in this process with the sandbox's own trainer (seed
42), overriding what the SDK cannot reach (which layers get LoRA, its rank) as well as the
hyperparameters, then greedy-decodes only the first line of each reply ("Categoria: …") on the
test requests and on as many training requests. Test accuracy far below training accuracy means
the model does not generalise to unseen scenarios; both low means it is under-trained.
Chapter 06 measures the full replies through the SDK; this script isolates the category.

    python benchmarks/bench_service_limits.py [--epochs 1] [--batch-size 1] [--lr-multiplier 4]
        [--layer-fraction 0.5] [--rank 16] [--train-limit N] [--data DIR] [--probe]

``--probe`` trains nothing: it fits a linear classifier (a "probe") on the frozen base model's
hidden states of each training request and scores it on the test requests, layer by layer. It
says how well the base model's own representation of a request separates the categories on
unseen scenarios. A fine-tune, which changes that representation, could do better; here it does
not (0.65 both ways on the course's data), and layer 0 (the input embeddings: which words the
request uses) scores about as much as any deeper layer.

``--data``: another build of the dataset (``python data/make_datasets.py --out DIR`` writes
DIR/assistenza_clienti/), e.g. to compare how the scenarios are split before changing the course's.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ftlab.sandbox import cpu  # noqa: E402,I001  (first: it sets the kernels before torch loads)

import torch  # noqa: E402

from ftlab.datasets import read_jsonl  # noqa: E402
from ftlab.sandbox import models  # noqa: E402
from ftlab.sandbox.training import lora, run  # noqa: E402
from ftlab.sandbox.training.config import TrainConfig  # noqa: E402
from ftlab.sandbox.training.encoding import _render  # noqa: E402

DATA = ROOT / "data" / "assistenza_clienti"
CATEGORY = re.compile(r"Categoria: ([a-z ]+)")


def category(text: str) -> str | None:
    match = CATEGORY.match(text)
    return match.group(1).strip() if match else None


def first_lines(model, tokenizer, examples: list[dict], batch: int = 10) -> list[str]:
    """Greedy start of each reply (enough tokens for the longest category)."""
    tokenizer.padding_side = "left"
    out = []
    for i in range(0, len(examples), batch):
        prompts = [_render(tokenizer, [m for m in e["messages"] if m["role"] != "assistant"], None, True)
                   for e in examples[i:i + batch]]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            gen = model.generate(**enc, max_new_tokens=14, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        out += [tokenizer.decode(g[enc["input_ids"].shape[1]:], skip_special_tokens=True) for g in gen]
    return out


def accuracy(model, tokenizer, examples: list[dict]) -> tuple[float, Counter]:
    """Share of right categories, and the (expected, given) confusions."""
    wrong = Counter()
    right = 0
    for example, text in zip(examples, first_lines(model, tokenizer, examples)):
        want, got = category(example["messages"][-1]["content"]), category(text)
        right += want == got
        if want != got:
            wrong[(want, got)] += 1
    return right / len(examples), wrong


def request_features(model, tokenizer, examples: list[dict]) -> torch.Tensor:
    """(examples, layers + 1, 2 x width): each layer's mean and last-token hidden state of the prompt."""
    rows = []
    for e in examples:
        prompt = _render(tokenizer, [m for m in e["messages"] if m["role"] != "assistant"], None, True)
        enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            states = model(**enc, output_hidden_states=True).hidden_states
        rows.append(torch.stack([torch.cat([h[0].mean(0), h[0, -1]]) for h in states]))
    return torch.stack(rows).float()


def probe_accuracy(x: torch.Tensor, y: torch.Tensor, xt: torch.Tensor, yt: torch.Tensor,
                   weight_decay: float = 0.1) -> float:
    """Test accuracy of an L2-regularised logistic regression fitted (L-BFGS) on standardised x."""
    mu, sd = x.mean(0), x.std(0) + 1e-5
    x, xt = (x - mu) / sd, (xt - mu) / sd
    w = torch.zeros(x.shape[1], int(y.max()) + 1, requires_grad=True)
    b = torch.zeros(w.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + weight_decay * (w ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return ((xt @ w + b).argmax(1) == yt).float().mean().item()


def probe(train: list[dict], test: list[dict]) -> None:
    base, tokenizer = models.load_base(progress=False)
    names = sorted({category(e["messages"][-1]["content"]) for e in train})
    labels = [torch.tensor([names.index(category(e["messages"][-1]["content"])) for e in split])
              for split in (train, test)]
    x, xt = request_features(base, tokenizer, train), request_features(base, tokenizer, test)
    scores = {layer: round(probe_accuracy(x[:, layer], labels[0], xt[:, layer], labels[1]), 3)
              for layer in range(0, x.shape[1], 3)}
    print(json.dumps({"probe_train_examples": len(train), "test_accuracy_by_layer": scores,
                      "best": max(scores.values())}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--lr-multiplier", type=float, default=4)
    parser.add_argument("--layer-fraction", type=float, default=lora.LORA_LAYER_FRACTION)
    parser.add_argument("--rank", type=int, default=lora.LORA_RANK)
    parser.add_argument("--train-limit", type=int, default=None, help="train on the first N examples only")
    parser.add_argument("--data", type=Path, default=DATA, help="a dir with train/validation/test.jsonl")
    parser.add_argument("--probe", action="store_true", help="a linear probe on the frozen base instead")
    args = parser.parse_args()
    print(cpu.describe(), flush=True)   # which machine every figure below holds for
    if args.probe:
        return probe(read_jsonl(args.data / "train.jsonl")[:args.train_limit], read_jsonl(args.data / "test.jsonl"))
    lora.LORA_LAYER_FRACTION, lora.LORA_RANK = args.layer_fraction, args.rank
    train = read_jsonl(args.data / "train.jsonl")[:args.train_limit]
    valid, test = read_jsonl(args.data / "validation.jsonl"), read_jsonl(args.data / "test.jsonl")
    config = TrainConfig(n_epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate_multiplier=args.lr_multiplier, seed=42)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run.train(train, valid, config, Path(tmp))
        seconds = time.perf_counter() - start
        from peft import PeftModel
        base, tokenizer = models.load_base(progress=False)
        model = PeftModel.from_pretrained(base, result.final_adapter).eval()
        test_acc, confusions = accuracy(model, tokenizer, test)
        train_acc, _ = accuracy(model, tokenizer, train[:len(test)])
    print(json.dumps({**vars(args), "data": str(args.data), "train_examples": len(train), "steps": result.steps,
                      "train_s": round(seconds), "test_accuracy": round(test_acc, 3),
                      "train_accuracy": round(train_acc, 3)}))
    print("most frequent confusions (expected → given):",
          ", ".join(f"{w} → {g}: {n}" for (w, g), n in confusions.most_common(5)))


if __name__ == "__main__":
    main()
