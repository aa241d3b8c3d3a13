"""Hand-written function-calling data for the fictional shop Bottega Domestica.

Four shop functions (``TOOLS``, OpenAI's ``tools`` format) and, for each, Italian customer
requests with slots; ``build`` fills the slots with a seeded ``random.Random`` and writes
``data/funzioni_negozio/{train,test}.jsonl`` (chat format with ``tools`` on every line: the
assistant answers with ``tool_calls``, or with text when no function applies) and
``test_attese.jsonl`` (the expected function and arguments of each test line). A few training
lines go on after the call: the tool's result, then the assistant's answer in words.
"""
from __future__ import annotations

import json
import random

SYSTEM = "Sei l'assistente di Bottega Domestica. Usa le funzioni quando servono."
SEED = 15
N_TRAIN, N_TEST = 80, 40
FOLLOW_UPS = 6   # training lines that continue with the tool result and a reply in words
HELD_OUT = 4     # the last 4 phrasings of each function: test only
NO_CALL_HELD_OUT = 4   # and the last 4 no-call requests
NO_CALL_SHARE = 5      # one line in 5 needs no function


def _fn(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": required, "additionalProperties": False}}}


ORDER = {"type": "string", "description": "es. BD-12345"}
MOTIVI = ["difettoso", "taglia_errata", "non_conforme", "ripensamento"]
TOOLS = [
    _fn("cerca_ordine", "Dettagli di un ordine (articoli, importo, data).", {"numero_ordine": ORDER}, ["numero_ordine"]),
    _fn("stato_spedizione", "Dove si trova il pacco di un ordine.", {"numero_ordine": ORDER}, ["numero_ordine"]),
    _fn("avvia_reso", "Apre un reso per un ordine.",
        {"numero_ordine": ORDER, "motivo": {"type": "string", "enum": MOTIVI}}, ["numero_ordine", "motivo"]),
    _fn("cerca_prodotto", "Cerca un prodotto nel catalogo.", {"prodotto": {"type": "string"}}, ["prodotto"]),
]

# requests per function: {n} = order number, {p} = product; avvia_reso: (text, motivo).
# The last HELD_OUT phrasings of each list are test-only: new sentences with the words a customer
# uses for that need, so the test asks whether the model learned the need, not the sentence.
REQUESTS = {
    "cerca_ordine": [
        "Potete dirmi cosa c'era nell'ordine {n}?", "Vorrei i dettagli dell'ordine {n}.",
        "Quanto ho pagato per l'ordine {n}?", "Mi ricordate quando ho fatto l'ordine {n}?",
        "Non trovo la conferma dell'ordine {n}, mi mostrate il riepilogo?",
        "Che articoli ho comprato con l'ordine {n}?", "Controllate per favore l'ordine {n}.",
        "Ho bisogno dell'importo dell'ordine {n} per la nota spese.",
        "ordine {n}: cosa ho comprato?", "Mi serve il riepilogo dell'ordine {n}.",
        "In che data ho effettuato l'ordine {n}?", "Qual è il totale dell'ordine {n}?",
        "Mi mandate l'elenco degli articoli dell'ordine {n}?", "Vorrei rivedere l'ordine {n}, cosa conteneva?",
        "A quanto ammonta l'ordine {n}?", "Potete darmi i dettagli del mio ordine {n}?",
    ],
    "stato_spedizione": [
        "Dov'è il mio pacco? Ordine {n}.", "Quando arriva l'ordine {n}?",
        "L'ordine {n} è già partito?", "Il corriere ha preso in carico l'ordine {n}?",
        "Aspetto ancora l'ordine {n}, a che punto è la spedizione?",
        "Potete tracciare la spedizione {n}?", "Il pacco dell'ordine {n} non è ancora arrivato.",
        "Mi dite lo stato della consegna dell'ordine {n}?", "ordine {n} non arriva, dov'è?",
        "Quando mi consegnate l'ordine {n}?", "Il pacco {n} è in viaggio?",
        "Vorrei sapere dove si trova la spedizione dell'ordine {n}.",
        "Sono giorni che aspetto il pacco dell'ordine {n}, quando arriva?",
        "A che punto è la consegna dell'ordine {n}?", "L'ordine {n} è stato spedito?",
        "Dove si trova adesso il mio pacco, ordine {n}?",
    ],
    "avvia_reso": [
        ("Vorrei restituire l'ordine {n}: è arrivato rotto.", "difettoso"),
        ("L'articolo dell'ordine {n} non funziona, voglio fare il reso.", "difettoso"),
        ("Ordine {n}: la taglia è sbagliata, posso renderlo?", "taglia_errata"),
        ("Quello che è arrivato con l'ordine {n} non corrisponde alla foto, lo rimando indietro.", "non_conforme"),
        ("Ci ho ripensato, vorrei restituire l'ordine {n}.", "ripensamento"),
        ("Il prodotto dell'ordine {n} è difettoso, lo restituisco.", "difettoso"),
        ("La taglia dell'ordine {n} è troppo piccola, voglio fare il reso.", "taglia_errata"),
        ("L'ordine {n} è diverso dalla descrizione, vorrei restituirlo.", "non_conforme"),
        ("Non mi serve più l'ordine {n}, come faccio il reso?", "ripensamento"),
        ("Voglio rendere l'ordine {n}: si è rotto subito.", "difettoso"),
        ("Reso per l'ordine {n}, la taglia non va bene.", "taglia_errata"),
        ("Ho cambiato idea sull'ordine {n}, lo restituisco.", "ripensamento"),
        ("L'ordine {n} è arrivato difettoso, vorrei fare il reso.", "difettoso"),
        ("Ho sbagliato taglia nell'ordine {n}, posso restituirlo?", "taglia_errata"),
        ("Il colore dell'ordine {n} non è quello descritto, voglio renderlo.", "non_conforme"),
        ("Ci ho ripensato sull'ordine {n}: vorrei il reso.", "ripensamento"),
    ],
    "cerca_prodotto": [
        "Avete {p}?", "Cerco {p}, ne vendete?", "Vorrei comprare {p}.",
        "È disponibile {p}?", "Mi mostrate {p} del vostro catalogo?",
        "Quanto costa {p}?", "Vendete anche {p}?", "Sto cercando {p} per casa.",
        "avete {p} in catalogo?", "Nel catalogo c'è {p}?", "Mi serve {p}, lo avete?",
        "Vorrei vedere {p}.", "Cerco {p} da regalare, cosa avete?",
        "Avete ancora {p} disponibile?", "Quanto viene {p}?", "Vendete {p} online?",
    ],
}
PRODUCTS = ["una tazza in ceramica", "una lampada da tavolo", "un tappeto di lana", "una teiera in ghisa",
            "un set di asciugamani", "una coperta di pile", "un vaso di vetro", "una moka da sei tazze",
            "un cuscino per divano", "una tovaglia di lino", "un portaombrelli", "una padella antiaderente"]
NO_CALL = [   # requests no function answers: the reply is text (the last NO_CALL_HELD_OUT: test only)
    ("Grazie mille, buona giornata!", "Grazie a lei, buona giornata da Bottega Domestica!"),
    ("Quali sono gli orari del servizio clienti?", "Il servizio clienti risponde dal lunedì al venerdì, 9-18."),
    ("Fate spedizioni all'estero?", "Spediamo in tutta l'Unione europea."),
    ("Come posso pagare?", "Accettiamo carte, PayPal e bonifico."),
    ("Ciao!", "Buongiorno! Come posso aiutarla?"),
    ("Avete un negozio fisico?", "Vendiamo solo online, con consegna a domicilio."),
    ("Buongiorno.", "Buongiorno! Come posso aiutarla?"),
    ("Quanto costa la spedizione?", "La spedizione è gratuita sopra i 49 euro, altrimenti costa 4,90 euro."),
    ("Perfetto, grazie!", "Prego, a presto da Bottega Domestica!"),
    ("Posso parlare con una persona?", "Certo: scriva a assistenza@bottegadomestica.it e la ricontattiamo."),
    ("Salve!", "Buongiorno! Come posso aiutarla?"),
    ("Fate fattura?", "Sì, la fattura si richiede al momento dell'ordine."),
    ("Grazie per l'aiuto!", "Grazie a lei, buona giornata da Bottega Domestica!"),
    ("Spedite anche in Svizzera?", "Spediamo in tutta l'Unione europea."),
    ("Buonasera", "Buonasera! Come posso aiutarla?"),
    ("Con quali metodi si paga?", "Accettiamo carte, PayPal e bonifico."),
]
RESULTS = {   # a tool's result and the reply in words, for the follow-up lines
    "cerca_ordine": ('{{"articoli": ["{p}"], "importo": "39,90 EUR"}}', "L'ordine {n} contiene {p}, per 39,90 EUR."),
    "stato_spedizione": ('{{"stato": "in consegna", "arrivo": "domani"}}', "L'ordine {n} è in consegna: arriva domani."),
    "avvia_reso": ('{{"reso": "R-{r}"}}', "Ho aperto il reso R-{r} per l'ordine {n}."),
    "cerca_prodotto": ('{{"trovati": 3}}', "Sì, abbiamo 3 modelli di {p} in catalogo."),
}


def _phrasings(options: list, held_out: int, test: bool) -> list:
    return options[-held_out:] if test else options[:-held_out]


def _case(rng: random.Random, name: str | None, test: bool, nth: int = 0) -> tuple[str, dict | str]:
    """One request and what answers it: the call's arguments, or the reply text (name None).
    Test requests use phrasings never seen in training (new numbers and products too); ``nth``:
    the line's rank among the no-call lines."""
    if name is None:   # in turn, not drawn: no line repeats another
        options = _phrasings(NO_CALL, NO_CALL_HELD_OUT, test)
        return options[nth % len(options)]
    n, p = f"BD-{rng.randint(10000, 99999)}", rng.choice(PRODUCTS)
    template = rng.choice(_phrasings(REQUESTS[name], HELD_OUT, test))
    if name == "avvia_reso":
        return template[0].format(n=n), {"numero_ordine": n, "motivo": template[1]}
    if name == "cerca_prodotto":
        return template.format(p=p), {"prodotto": p.split(" ", 1)[1]}
    return template.format(n=n), {"numero_ordine": n}


def _example(rng: random.Random, name: str | None, i: int, test: bool = False,
             follow_up: bool = False, nth: int = 0) -> tuple[dict, dict]:
    """A training/test line and its expectation {"function", "arguments"}."""
    request, answer = _case(rng, name, test, nth)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]
    if name is None:
        messages.append({"role": "assistant", "content": answer})
        return {"messages": messages, "tools": TOOLS}, {"function": None, "arguments": None}
    call_id = f"call_{i:04d}"
    messages.append({"role": "assistant", "content": None, "tool_calls": [{
        "id": call_id, "type": "function",
        "function": {"name": name, "arguments": json.dumps(answer, ensure_ascii=False)}}]})
    if follow_up:
        slots = {"n": answer.get("numero_ordine", ""), "p": answer.get("prodotto") or rng.choice(PRODUCTS).split(" ", 1)[1], "r": rng.randint(100, 999)}
        result, reply = RESULTS[name]
        messages += [{"role": "tool", "tool_call_id": call_id, "content": result.format(**slots)},
                     {"role": "assistant", "content": reply.format(**slots)}]
    return {"messages": messages, "tools": TOOLS}, {"function": name, "arguments": answer}


def _plan(rng: random.Random, n: int) -> list[str | None]:
    """Which function each of ``n`` lines calls: the four equally often, one line in five with no call."""
    names = [t["function"]["name"] for t in TOOLS]
    quiet = n // NO_CALL_SHARE
    plan = [names[k % len(names)] for k in range(n - quiet)] + [None] * quiet
    rng.shuffle(plan)
    return plan


def _lines(rng: random.Random, n: int, start: int, test: bool) -> list[tuple[dict, dict]]:
    plan = _plan(rng, n)
    return [_example(rng, name, start + i, test=test, follow_up=not test and i < FOLLOW_UPS and name is not None,
                     nth=plan[:i].count(None)) for i, name in enumerate(plan)]


def build(out, write_jsonl) -> None:
    """Write ``out/funzioni_negozio/{train,test,test_attese}.jsonl`` (``write_jsonl`` from make_datasets)."""
    rng = random.Random(SEED)
    train = [line for line, _ in _lines(rng, N_TRAIN, 0, test=False)]
    test = _lines(rng, N_TEST, N_TRAIN, test=True)
    folder = out / "funzioni_negozio"
    write_jsonl(train, folder / "train.jsonl")
    write_jsonl([line for line, _ in test], folder / "test.jsonl")
    write_jsonl([expected for _, expected in test], folder / "test_attese.jsonl")
