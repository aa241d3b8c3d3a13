"""Did fine-tuning pay off? The same test set through three arms, paired.

An *arm* is a model plus the prompt it gets: the base model with the short system message, the base
model with a detailed system message and a few examples (the "prompt dettagliati" the course says a
base model needs), the fine-tuned model with the short system message. Every arm answers the same
examples (same ``i``), so ``ftlab.evaluation.ab_table`` compares them pair by pair.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ftlab import evaluation as ev
from ftlab.i18n import tr


@dataclass(frozen=True)
class Arm:
    """A model and the prompt it gets: ``system`` replaces the example's system message and
    ``shots`` (user, assistant) pairs go before the request."""
    label: str
    model: str
    system: str
    shots: tuple = field(default_factory=tuple)


def arm_messages(example: dict, arm: Arm) -> list:
    """The messages ``arm`` sends for ``example``: its system message, its shots, the request."""
    request = [m for m in ev.prompt_messages(example) if m.get("role") != "system"]
    shots = [{"role": role, "content": text} for pair in arm.shots
             for role, text in zip(("user", "assistant"), pair)]
    return [{"role": "system", "content": arm.system}, *shots, *request]


def few_shots(train: list[dict], key, k: int | None = None) -> tuple:
    """One (request, answer) pair per distinct ``key(example)`` value, first seen first.

    ``key`` picks what the shots must cover (the category for customer service); ``k`` caps them.
    """
    seen, shots = set(), []
    for example in train:
        value = key(example)
        if value in seen:
            continue
        seen.add(value)
        user = next(m["content"] for m in example["messages"] if m["role"] == "user")
        shots.append((user, ev.reference(example)))
    return tuple(shots[:k])


def run_arms(client, arms: list[Arm], examples: list[dict], *, params: dict | None = None,
             workers: int = 16, cache: bool = True, progress: bool = True):
    """Every example through every arm: one ``run_models`` row per (arm, example)."""
    import pandas as pd

    frames = []
    for arm in arms:
        prompted = [{"messages": arm_messages(ex, arm) + [{"role": "assistant", "content": ev.reference(ex)}]}
                    for ex in examples]
        frames.append(ev.run_models(client, {arm.label: arm.model}, prompted, params=params,
                                    workers=workers, cache=cache, progress=progress))
    return pd.concat(frames, ignore_index=True)


def house_style_ok(output: str, first_name: str, signature: str) -> bool:
    """The whole house format: the category line, a blank line, "Gentile <first name>, …", the
    shop's signature as the last line."""
    lines = output.strip().split("\n")
    return (len(lines) >= 4 and ev.category(lines[0]) is not None and lines[1] == ""
            and lines[2].startswith(f"Gentile {first_name},") and lines[-1].strip() == signature)


def score_arms(frame, *, task: str, first_names: list[str] | None = None, signature: str | None = None,
               labels=None, checks: dict | None = None, progress: bool = True):
    """``ev.score`` plus ``house_style``: the customer-service format for ``task="category"``,
    the course's code format (``format_ok``) for ``task="code"``."""
    scored = ev.score(frame, task=task, labels=labels, checks=checks, progress=progress)
    if task == "category":
        scored["house_style"] = [house_style_ok(o, first_names[i], signature)
                                 for o, i in zip(scored.output, scored.i)]
    else:
        scored["house_style"] = scored["format_ok"]
    return scored


def reference_scores(examples: list[dict], *, task: str, **kw):
    """The references scored as if a model had written them: the ceiling each metric can reach."""
    import pandas as pd

    frame = pd.DataFrame({"model": tr("riferimento", "reference"), "model_id": "", "i": range(len(examples)),
                          "prompt": [arm_messages(ex, Arm("", "", ""))[-1]["content"] for ex in examples],
                          "reference": [ev.reference(ex) for ex in examples],
                          "output": [ev.reference(ex) for ex in examples], "error": None})
    return score_arms(frame, task=task, progress=False, **kw)


QUALITY = ("category_ok", "format_ok", "house_style", "passes")


def arms_table(scored, *, price_model: str | None = None, ceiling=None):
    """One row per arm: quality rates, prompt/completion tokens per request, latency, cost per
    1,000 requests (dated prices); ``ceiling`` (``reference_scores``) adds the references' row."""
    import pandas as pd

    table = ev.summary(scored, price_model=price_model)
    ok = scored[scored.error.isna()]
    table.insert(table.columns.get_loc("completion_tokens"), "prompt_tokens",
                 ok.groupby("model", sort=False).prompt_tokens.mean().round(1))
    table["house_style"] = scored.groupby("model", sort=False).house_style.mean().round(3)
    keep = [c for c in ("n", "errors", *QUALITY, "prompt_tokens", "completion_tokens",
                        "latency_s_median", "cost_per_1k_usd") if c in table]
    table = table[keep]
    if ceiling is not None:
        row = {m: round(float(ceiling[m].astype(float).mean()), 3) for m in QUALITY if m in ceiling}
        table = pd.concat([table, pd.DataFrame([row | {"n": len(ceiling)}],
                                               index=[ceiling.model.iloc[0]])])
    return table


def paired_against(scored, target: str, others: list[str], metrics=("category_ok", "house_style"),
                   **kw):
    """``ab_table`` of ``target`` against each arm in ``others``: rows (other arm, metric)."""
    import pandas as pd

    parts = {other: ev.ab_table(scored, other, target, metrics=list(metrics), **kw) for other in others}
    return pd.concat(parts, names=["contro", "metric"])


@dataclass(frozen=True)
class Goal:
    """What "fine-tuning clearly won" means here (issue 12)."""
    min_accuracy: float = 0.85
    min_margin: float = 0.15
    min_prompt_ratio: float = 3.0


def goal_check(table, paired, *, ft: str, few_shot: str, metric: str = "category_ok",
               goal: Goal = Goal()) -> dict:
    """The goal's four conditions, each measured: accuracy, margin over the better base arm (and
    its CI above 0), prompt tokens of the few-shot arm over the fine-tune's."""
    bases = [arm for arm in paired.index.get_level_values(0).unique()]
    best = max(bases, key=lambda arm: table.loc[arm, metric])
    row = paired.loc[(best, metric)]
    ratio = table.loc[few_shot, "prompt_tokens"] / table.loc[ft, "prompt_tokens"]
    return {"accuracy": float(table.loc[ft, metric]), "accuracy_ok": bool(table.loc[ft, metric] >= goal.min_accuracy),
            "best_base": best, "margin": float(row["B-A"]), "margin_ci": (float(row.ci_low), float(row.ci_high)),
            "margin_ok": bool(row["B-A"] >= goal.min_margin and row.ci_low > 0),
            "prompt_ratio": round(float(ratio), 2), "prompt_ratio_ok": bool(ratio >= goal.min_prompt_ratio)}


def goal_verdict(check: dict, goal: Goal = Goal()) -> str:
    """The answer to "Il fine-tuning è servito?" in one paragraph, from ``goal_check``'s figures."""
    met = check["accuracy_ok"] and check["margin_ok"] and check["prompt_ratio_ok"]
    head = tr("Sì: il fine-tuning è servito.", "Yes: fine-tuning paid off.") if met else \
        tr("Non ancora: l'obiettivo non è raggiunto.", "Not yet: the goal is not met.")
    return head + " " + tr(
        "Accuratezza di categoria {a:.2f} (obiettivo ≥ {ga:.2f}); {m:+.2f} rispetto al miglior braccio "
        "base ({b}), IC 95% [{lo:+.2f}, {hi:+.2f}] (obiettivo ≥ {gm:+.2f} con IC sopra 0); "
        "prompt {r:.1f} volte più corto del braccio few-shot (obiettivo ≥ {gr:.0f}).",
        "Category accuracy {a:.2f} (goal ≥ {ga:.2f}); {m:+.2f} over the best base arm ({b}), "
        "95% CI [{lo:+.2f}, {hi:+.2f}] (goal ≥ {gm:+.2f} with the CI above 0); prompt {r:.1f} times "
        "shorter than the few-shot arm's (goal ≥ {gr:.0f}).",
        a=check["accuracy"], ga=goal.min_accuracy, m=check["margin"], b=check["best_base"],
        lo=check["margin_ci"][0], hi=check["margin_ci"][1], gm=goal.min_margin,
        r=check["prompt_ratio"], gr=goal.min_prompt_ratio)


def detailed_system(short: str, rules: list[str]) -> str:
    """A detailed system message: the short one followed by numbered rules."""
    return short + "\n" + "\n".join(f"{n}. {rule}" for n, rule in enumerate(rules, start=1))


# The customer-service task (data/assistenza_clienti/): its labels, signature and detailed prompt.
SERVICE_CATEGORIES = ("spedizioni", "resi e rimborsi", "prodotto", "pagamenti", "account")
SERVICE_SIGNATURE = "Il servizio clienti di Bottega Domestica"
SERVICE_RULES = [
    "La prima riga della risposta è esattamente \"Categoria: <categoria>\", dove <categoria> è una di: "
    + ", ".join(SERVICE_CATEGORIES) + ".",
    "spedizioni = consegne, corriere, pacchi, tracciamento; resi e rimborsi = resi, cambi, rimborsi; "
    "prodotto = caratteristiche e disponibilità degli articoli; pagamenti = carte, addebiti, fatture, "
    "sconti; account = accesso, password, profilo, dati personali.",
    "Poi una riga vuota, poi \"Gentile <nome del cliente>,\" e una risposta breve e concreta, dando del lei.",
    "Chiudi con una riga vuota e la firma \"" + SERVICE_SIGNATURE + "\".",
]
CODE_RULES = [
    "Rispondi solo con il codice Python: niente testo prima o dopo, niente blocchi ```.",
    "Scrivi una sola funzione con un nome in inglese e una docstring di una riga.",
    "Usa solo la libreria standard; gli import vanno in cima.",
]


def three_arms(base: str, ft: str, train: list[dict], rules: list[str], key, k: int | None = None) -> list[Arm]:
    """base + short prompt, base + detailed prompt + few examples, fine-tuned + short prompt.

    The short prompt is the training data's own system message; the shots come from ``train``
    (never from the test set), one per ``key`` value.
    """
    short = train[0]["messages"][0]["content"]
    return [Arm(tr("base, prompt breve", "base, short prompt"), base, short),
            Arm(tr("base, prompt dettagliato + esempi", "base, detailed prompt + examples"), base,
                detailed_system(short, rules), few_shots(train, key, k)),
            Arm(tr("fine-tuned, prompt breve", "fine-tuned, short prompt"), ft, short)]


def service_arms(base: str, ft: str, train: list[dict]) -> list[Arm]:
    """The three arms of the customer-service task: one shot per category."""
    return three_arms(base, ft, train, SERVICE_RULES, key=lambda ex: ev.category(ev.reference(ex)))


def code_arms(base: str, ft: str, train: list[dict], k: int = 3) -> list[Arm]:
    """The three arms of the code task: the first ``k`` training examples as shots."""
    return three_arms(base, ft, train, CODE_RULES, key=id, k=k)


@dataclass
class Report:
    """A task's three-arm comparison: scored rows, the table (with the ceiling), paired CIs."""
    arms: list
    scored: object
    table: object
    paired: object


def compare(client, arms: list[Arm], test: list[dict], *, task: str, params: dict | None = None,
            metrics=("category_ok", "house_style"), workers: int = 16, progress: bool = True,
            price_model: str | None = None, **score_kw) -> Report:
    """Run, score and tabulate the three arms; the last arm (the fine-tune) is compared with each other."""
    frame = run_arms(client, arms, test, params=params, workers=workers, progress=progress)
    scored = score_arms(frame, task=task, progress=progress, **score_kw)
    ceiling = reference_scores(test, task=task, **score_kw)
    table = arms_table(scored, price_model=price_model, ceiling=ceiling)
    paired = paired_against(scored, arms[-1].label, [a.label for a in arms[:-1]], metrics=metrics)
    return Report(arms, scored, table, paired)
