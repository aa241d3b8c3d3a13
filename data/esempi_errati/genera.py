"""Write data/esempi_errati/: one small JSONL file per validation code, and its README.

Deterministic: run ``python data/esempi_errati/genera.py`` and the files come out byte for byte
the same. Each case has a ``bad`` file (shows the code) and a ``good`` one (the same data, fixed);
tests/test_validation.py checks both for every code, so the files cannot drift from the rules.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SYSTEM = "Sei un assistente che converte richieste in italiano in funzioni Python."
TASKS = [
    ("Scrivi una funzione che somma due numeri.", "def somma(a, b):\n    return a + b"),
    ("Voglio il quadrato di un numero intero.", "def quadrato(n):\n    return n * n"),
    ("Restituisci la lunghezza di una stringa.", "def lunghezza(s):\n    return len(s)"),
    ("Inverti l'ordine di una lista.", "def inverti(xs):\n    return xs[::-1]"),
    ("Controlla se un numero è pari.", "def pari(n):\n    return n % 2 == 0"),
    ("Trova il massimo di una lista di valori.", "def massimo(xs):\n    return max(xs)"),
    ("Converti gradi Celsius in Fahrenheit.", "def fahrenheit(c):\n    return c * 9 / 5 + 32"),
    ("Conta le vocali presenti in una parola.", "def vocali(p):\n    return sum(ch in 'aeiou' for ch in p.lower())"),
    ("Unisci due liste in una sola.", "def unisci(a, b):\n    return a + b"),
    ("Calcola la media aritmetica di una lista.", "def media(xs):\n    return sum(xs) / len(xs)"),
    ("Metti in maiuscolo la prima lettera.", "def capitalizza(s):\n    return s[:1].upper() + s[1:]"),
    ("Dimmi se una parola è palindroma.", "def palindroma(p):\n    return p == p[::-1]"),
]
CATEGORIES = ["resi", "spedizioni", "pagamenti"]


def chat(i: int, *, system: bool = True, user: str | None = None, answer: str | None = None) -> dict:
    request, code = TASKS[i % len(TASKS)]
    messages = [{"role": "system", "content": SYSTEM}] if system else []
    messages += [{"role": "user", "content": user or request},
                 {"role": "assistant", "content": answer or code}]
    return {"messages": messages}


def good(n: int = 10, start: int = 0) -> list:
    return [chat(i) for i in range(start, start + n)]


def tool_example(call_id: str = "call_1", answer_id: str = "call_1", name: str = "meteo") -> dict:
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{\"citta\": \"Roma\"}"}}
    return {"tools": [{"type": "function", "function": {"name": "meteo", "parameters": {"type": "object"}}}],
            "messages": [{"role": "user", "content": "Che tempo fa a Roma?"},
                         {"role": "assistant", "content": None, "tool_calls": [call]},
                         {"role": "tool", "tool_call_id": answer_id, "content": "{\"gradi\": 18}"},
                         {"role": "assistant", "content": "A Roma ci sono 18 gradi."}]}


def dpo(preferred: list | None = None) -> dict:
    return {"input": {"messages": [{"role": "user", "content": "Scrivi una funzione che somma due numeri."}]},
            "preferred_output": preferred if preferred is not None else
            [{"role": "assistant", "content": "def somma(a, b):\n    return a + b"}],
            "non_preferred_output": [{"role": "assistant", "content": "somma = lambda a, b: a + b"}]}


def with_message(i: int, **changes) -> dict:
    """Example i with its assistant message changed (None value = key removed)."""
    ex = chat(i)
    msg = ex["messages"][-1]
    for key, value in changes.items():
        if value is None:
            msg.pop(key, None)
        else:
            msg[key] = value
    return ex


def user_changed(i: int, **changes) -> dict:
    ex = chat(i)
    ex["messages"][1].update(changes)
    return ex


def lines(objs) -> bytes:
    return b"".join(o if isinstance(o, bytes) else json.dumps(o, ensure_ascii=False).encode() + b"\n"
                    for o in objs)


def meta(labels) -> bytes:
    return lines({"line": k, "category": lab} for k, lab in enumerate(labels, 1))


def labelled(labels) -> list:
    return [chat(i, answer=f"Categoria: {lab}\nRisposta numero {i}: {TASKS[i % 12][0]}") for i, lab in enumerate(labels)]


# Content parts (the shape of vision fine-tuning data)
IMAGE = "https://example.com/schema-funzione.png"


def text_part(i: int) -> dict:
    return {"type": "text", "text": TASKS[i % len(TASKS)][0]}


BALANCED = CATEGORIES * 4
UNBALANCED = ["resi"] * 10 + ["spedizioni", "pagamenti"]

# code -> (Italian README line, bad file bytes, good file bytes, validate() keyword arguments)
CASES: dict[str, tuple] = {
    "invalid_utf8": ("riga 3 contiene un byte Latin-1 (è salvata male)",
                     lines(good(2)) + "{\"messages\": [{\"role\": \"user\", \"content\": \"perch\xe8\"}]}\n".encode("latin-1") + lines(good(8, 3)),
                     lines(good(11)), {}),
    "invalid_json": ("riga 2 ha una virgola finale", lines(good(1)) + b'{"messages": [],}\n' + lines(good(9, 2)),
                     lines(good(10)), {}),
    "blank_line": ("una riga vuota tra gli esempi", lines(good(5)) + b"\n" + lines(good(5, 5)), lines(good(10)), {}),
    "utf8_bom": ("il file inizia con un BOM (salvato da Blocco note)", b"\xef\xbb\xbf" + lines(good(10)), lines(good(10)), {}),
    "crlf_line_endings": ("righe terminate da CRLF (Windows)", lines(good(10)).replace(b"\n", b"\r\n"), lines(good(10)), {}),
    "empty_file": ("file vuoto", b"", lines(good(10)), {}),
    "data_type": ("riga 1 è una lista, non un oggetto", b'[{"role": "user", "content": "ciao"}]\n' + lines(good(10, 1)),
                  lines(good(10)), {}),
    "missing_messages_list": ("riga 1 ha \"messaggi\" invece di \"messages\"",
                              lines([{"messaggi": chat(0)["messages"]}] + good(9, 1)), lines(good(10)), {}),
    "message_missing_key": ("al messaggio assistant manca \"role\"", lines([with_message(0, role=None)] + good(9, 1)),
                            lines(good(10)), {}),
    "message_unrecognized_key": ("un messaggio ha la chiave \"testo\"", lines([with_message(0, testo="x")] + good(9, 1)),
                                 lines(good(10)), {}),
    "unrecognized_role": ("ruolo \"bot\" invece di \"assistant\"", lines([with_message(0, role="bot")] + good(9, 1)),
                          lines(good(10)), {}),
    "missing_content": ("content null senza tool_calls", lines([chat(0) | {"messages": chat(0)["messages"][:2] + [{"role": "assistant", "content": None}]}] + good(9, 1)),
                        lines(good(10)), {}),
    "example_missing_assistant_message": ("un esempio senza risposta assistant",
                                          lines([{"messages": chat(0)["messages"][:2]}] + good(9, 1)), lines(good(10)), {}),
    "message_not_object": ("un messaggio è una stringa", lines([{"messages": ["ciao"] + chat(0)["messages"]}] + good(9, 1)),
                           lines(good(10)), {}),
    "invalid_content_type": ("content è un numero, non una stringa", lines([user_changed(0, content=42)] + good(9, 1)),
                             lines(good(10)), {}),
    "invalid_content_part": ("una parte del contenuto user ha type \"immagine\" (OpenAI accetta \"text\" e \"image_url\")",
                             lines([user_changed(0, content=[text_part(0), {"type": "immagine", "url": IMAGE}])] + good(9, 1)),
                             lines([user_changed(0, content=[text_part(0)])] + good(9, 1)), {}),
    "non_text_content": ("un messaggio user con un'immagine (image_url): valido per OpenAI, la sandbox non la vede",
                         lines([user_changed(0, content=[text_part(0), {"type": "image_url", "image_url": {"url": IMAGE}}])] + good(9, 1)),
                         lines([user_changed(0, content=[text_part(0)])] + good(9, 1)), {}),
    "invalid_name": ("name è un numero", lines([user_changed(0, name=7)] + good(9, 1)),
                     lines([user_changed(0, name="mario")] + good(9, 1)), {}),
    "invalid_weight": ("weight 2 su un messaggio assistant", lines([with_message(0, weight=2)] + good(9, 1)),
                       lines([with_message(0, weight=1)] + good(9, 1)), {}),
    "example_weight": ("weight sull'esempio invece che sul messaggio", lines([chat(0) | {"weight": 1}] + good(9, 1)),
                       lines(good(10)), {}),
    "unrecognized_key": ("chiave sconosciuta \"categoria\" nell'esempio", lines([chat(0) | {"categoria": "x"}] + good(9, 1)),
                         lines(good(10)), {}),
    "no_trainable_assistant": ("l'unico messaggio assistant ha weight 0", lines([with_message(0, weight=0)] + good(9, 1)),
                               lines(good(10)), {}),
    "invalid_tool_calls": ("tool_calls con arguments oggetto invece di stringa",
                           lines([json.loads(json.dumps(tool_example()).replace('"arguments": "{\\"citta\\": \\"Roma\\"}"', '"arguments": {"citta": "Roma"}'))] + good(9, 1)),
                           lines([tool_example()] + good(9, 1)), {}),
    "unmatched_tool_call": ("il messaggio tool risponde a un id inesistente", lines([tool_example(answer_id="call_9")] + good(9, 1)),
                            lines([tool_example()] + good(9, 1)), {}),
    "invalid_tools": ("tools è un oggetto, non una lista", lines([chat(0) | {"tools": {"type": "function"}}] + good(9, 1)),
                      lines([chat(0) | {"tools": []}] + good(9, 1)), {}),
    "tool_call_mismatch": ("il messaggio assistant chiama una funzione che non è tra i tools dell'esempio",
                           lines([tool_example(name="previsioni")] + good(9, 1)), lines([tool_example()] + good(9, 1)), {}),
    "legacy_format": ("formato prompt/completion del corso",
                      lines({"prompt": t + "\n\n###\n\n", "completion": " " + c + "\n\nEND"} for t, c in TASKS[:10]),
                      lines(good(10)), {}),
    "invalid_dpo_example": ("DPO con due risposte preferite", lines([dpo(dpo()["preferred_output"] * 2)] + [dpo()] * 9),
                            lines([dpo()] * 10), {"method": "dpo", "near_duplicates": False}),
    "method_mismatch": ("file chat validato per il metodo DPO", lines(good(10)), lines([dpo()] * 10), {"method": "dpo"}),
    "too_few_examples": ("solo 7 esempi", lines(good(7)), lines(good(10)), {}),
    "few_examples": ("12 esempi: pochi per un buon risultato", lines(good(12)), lines(good(50)), {}),
    "missing_user_message": ("un esempio senza messaggio user",
                             lines([{"messages": [chat(0)["messages"][0], chat(0)["messages"][2]]}] + good(9, 1)),
                             lines(good(10)), {}),
    "empty_content": ("risposta fatta solo di spazi", lines([with_message(0, content="   ")] + good(9, 1)), lines(good(10)), {}),
    "legacy_marker": ("risposta che termina con \\n\\nEND", lines([with_message(0, content="def f():\n    pass\n\nEND")] + good(9, 1)),
                      lines(good(10)), {}),
    "length_outlier": ("un esempio lunghissimo tra esempi brevi",
                       lines(good(24) + [chat(0, user="Spiega tutto. " + " ".join(f"punto {k} della lista" for k in range(400)))]),
                       lines(good(25)), {}),
    "duplicate_example": ("riga 12 ripete la riga 1", lines(good(11) + [chat(0)]), lines(good(12)), {}),
    "near_duplicate_example": ("riga 13 è la riga 1 con un commento in più",
                               lines(good(12) + [chat(0, answer="def somma(a, b):\n    return a + b\n# fine")]),
                               lines(good(13)), {}),
    "inconsistent_system_message": ("system presente in 10 esempi su 12",
                                    lines(good(10) + [chat(10, system=False), chat(11, system=False)]),
                                    lines(good(12)), {}),
    "mixed_languages": ("un esempio in inglese in un file italiano",
                        lines(good(10) + [chat(10, user="Please write the function that checks if this is the word and the list of things you have.")]),
                        lines(good(11)), {}),
    "class_imbalance": ("10 esempi 'resi', 1 'spedizioni', 1 'pagamenti' (etichette in class_imbalance_meta.jsonl)",
                        lines(labelled(UNBALANCED)), lines(labelled(BALANCED)), {"label_key": "category"}),
    "missing_label": ("risposte senza la riga \"Categoria: …\"",
                      lines(labelled(BALANCED[:11]) + [chat(11)]), lines(labelled(BALANCED)), {"label": "Categoria:"}),
}
# Side files: labels of class_imbalance.jsonl, found by validate() as <name>_meta.jsonl.
META = {"class_imbalance": (meta(UNBALANCED), meta(BALANCED))}
# Codes without a small file: they need tens of MB (see the README).
NO_FILE = {
    "line_too_long": "serve una riga di oltre 16 MB: tests/test_validation.py la crea (50 MB) in una cartella temporanea",
    "near_duplicates_skipped": "compare solo su file oltre 10 MB",
    "too_many_tokens": "serve un esempio di oltre 65.536 token (circa 500 KB): lo crea tests/test_validation.py",
    "validation_leakage": "riguarda due file: vedi validation_leakage.jsonl e validation_leakage_validazione.jsonl",
}
LEAKAGE = (lines(good(12)), lines([chat(0)]), lines([chat(0, user="Una richiesta che non è nel training, nuova.")]))


def main() -> None:
    readme = ["# esempi_errati", "",
              "Un piccolo file per ogni codice di `ftlab.validate` (generati da `genera.py`, licenza MIT come il corso).",
              "Aprili nel capitolo 02 e prova a correggerli. Ogni riga: file — che cosa ha che non va.", ""]
    for code, (why, bad, _, kw) in sorted(CASES.items()):
        (HERE / f"{code}.jsonl").write_bytes(bad)
        how = ""
        if kw:
            args = ", ".join(f"{k}={v!r}" if k != "label" else f"label=FirstLineLabel({v!r})" for k, v in kw.items())
            how = f" Prova: `validate(file, {args})`."
        readme.append(f"- `{code}.jsonl` — {why}.{how}")
        if code in META:
            (HERE / f"{code}_meta.jsonl").write_bytes(META[code][0])
            readme.append(f"- `{code}_meta.jsonl` — le etichette di `{code}.jsonl` (una riga per esempio).")
    train, valid, _ = LEAKAGE
    (HERE / "validation_leakage.jsonl").write_bytes(train)
    (HERE / "validation_leakage_validazione.jsonl").write_bytes(valid)
    readme.append("- `validation_leakage.jsonl` + `validation_leakage_validazione.jsonl` — la prima riga del "
                  "file di validazione è anche nel training (`validate(train, validation_file=valid)`).")
    readme += ["", "Codici senza file (servono file troppo grandi):", ""]
    readme += [f"- `{code}` — {why}." for code, why in sorted(NO_FILE.items()) if code != "validation_leakage"]
    (HERE / "README.md").write_text("\n".join(readme) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
