"""The course's legacy prompt/completion pairs, plus more written in the same style.

The first two pairs are the course's own examples ("Formato JSONL per i Training File"), copied
as printed (the course's one-space indentation kept; the PDF's escaped ``\\_`` restored to ``_``).
The others imitate them: a short script that prints its result. The generator appends the legacy
separator to prompts and the course's "\\n\\nEND" marker to completions, as the course advises for
the old completion models.
"""
from __future__ import annotations

PROMPT_SEPARATOR = "\n\n###\n\n"
END_MARKER = "\n\nEND"

PAIRS: list[tuple[str, str]] = [
    ("Converti in python: Calcola la somma dei numeri da 1 a 10",
     "sum = 0\nfor i in range(1, 11):\n sum += i\nprint(sum)"),
    ("Converti in python: Trova il massimo in una lista",
     "def trova_massimo(lista):\n return max(lista)\n\n# Esempio d'uso\nlista = [3, 7, 2, 9, 1]\n"
     "print(trova_massimo(lista))"),
    ("Converti in python: Calcola il prodotto dei numeri da 1 a 5",
     "prodotto = 1\nfor i in range(1, 6):\n prodotto *= i\nprint(prodotto)"),
    ("Converti in python: Stampa i numeri pari da 2 a 20",
     "for i in range(2, 21, 2):\n print(i)"),
    ("Converti in python: Conta le vocali in una parola",
     "def conta_vocali(parola):\n return sum(1 for c in parola.lower() if c in \"aeiou\")\n\n"
     "# Esempio d'uso\nprint(conta_vocali(\"Buongiorno\"))"),
    ("Converti in python: Inverti una stringa",
     "testo = \"ciao\"\nprint(testo[::-1])"),
    ("Converti in python: Trova il minimo in una lista",
     "def trova_minimo(lista):\n return min(lista)\n\n# Esempio d'uso\nlista = [3, 7, 2, 9, 1]\n"
     "print(trova_minimo(lista))"),
    ("Converti in python: Calcola la media di una lista di voti",
     "voti = [7, 8, 6, 9]\nmedia = sum(voti) / len(voti)\nprint(media)"),
    ("Converti in python: Verifica se un numero è pari",
     "def e_pari(n):\n return n % 2 == 0\n\n# Esempio d'uso\nprint(e_pari(4))"),
    ("Converti in python: Stampa la tabellina del 7",
     "for i in range(1, 11):\n print(7 * i)"),
    ("Converti in python: Converti 25 gradi Celsius in Fahrenheit",
     "celsius = 25\nfahrenheit = celsius * 9 / 5 + 32\nprint(fahrenheit)"),
    ("Converti in python: Conta le parole in una frase",
     "frase = \"il gatto dorme sul divano\"\nprint(len(frase.split()))"),
]
