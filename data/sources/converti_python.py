"""Hand-written "Converti in python" tasks: request, house-style answer, checks.

Each task is ``t(request, code, (args, expected), ...)``. Expected values were written by hand,
independently of the code, so ``tests/test_data.py`` really checks the answers.
House style: optional stdlib imports, then exactly one function with a snake_case Italian name,
type hints, a one-line Italian docstring, no prints, no comments.
"""
from __future__ import annotations

SYSTEM = "Converti la richiesta in una funzione Python."

TASKS: list[dict] = []


def t(request: str, code: str, *checks: tuple) -> None:
    """Register one task; ``checks`` are ``(args, expected)`` pairs."""
    TASKS.append({
        "request": request,
        "code": code.strip("\n"),
        "checks": [{"args": list(args), "expected": expected} for args, expected in checks],
    })


# --- Numbers -------------------------------------------------------------------------------
t("Converti in python: Calcola la somma dei numeri da 1 a n", '''
def somma_fino_a(n: int) -> int:
    """Somma i numeri da 1 a n."""
    return sum(range(1, n + 1))
''', ([10], 55), ([1], 1), ([0], 0))

t("Converti in Python: Calcola il fattoriale di un numero", '''
def fattoriale(n: int) -> int:
    """Restituisce il fattoriale di n."""
    risultato = 1
    for i in range(2, n + 1):
        risultato *= i
    return risultato
''', ([5], 120), ([0], 1), ([1], 1))

t("Scrivi una funzione Python che dice se un numero è pari", '''
def e_pari(n: int) -> bool:
    """Dice se n è pari."""
    return n % 2 == 0
''', ([4], True), ([7], False), ([0], True))

t("Converti in python: Verifica se un numero è primo", '''
def e_primo(n: int) -> bool:
    """Dice se n è un numero primo."""
    if n < 2:
        return False
    return all(n % d != 0 for d in range(2, int(n ** 0.5) + 1))
''', ([7], True), ([1], False), ([9], False), ([2], True))

t("Traduci in Python: Restituisci il valore assoluto di un numero senza usare abs", '''
def valore_assoluto(x: float) -> float:
    """Restituisce il valore assoluto di x."""
    return x if x >= 0 else -x
''', ([-3.5], 3.5), ([2], 2), ([0], 0))

t("Come calcolo in Python la media di una lista di numeri?", '''
def media(numeri: list[float]) -> float:
    """Calcola la media aritmetica dei numeri."""
    return sum(numeri) / len(numeri)
''', ([[1, 2, 3, 4]], 2.5), ([[10]], 10.0))

t("Mi serve una funzione Python che calcoli l'area di un rettangolo", '''
def area_rettangolo(base: float, altezza: float) -> float:
    """Calcola l'area di un rettangolo."""
    return base * altezza
''', ([3, 4], 12), ([2.5, 2], 5.0))

t("Python: Calcola l'area di un cerchio dato il raggio", '''
import math


def area_cerchio(raggio: float) -> float:
    """Calcola l'area di un cerchio di dato raggio."""
    return math.pi * raggio ** 2
''', ([1], 3.141592653589793), ([2], 12.566370614359172), ([0], 0.0))

t("Converti in python: Converti una temperatura da gradi Celsius a Fahrenheit", '''
def celsius_a_fahrenheit(celsius: float) -> float:
    """Converte una temperatura da Celsius a Fahrenheit."""
    return celsius * 9 / 5 + 32
''', ([0], 32.0), ([100], 212.0), ([-40], -40.0))

t("Scrivi in Python: Trasforma i gradi Fahrenheit in gradi Celsius", '''
def fahrenheit_a_celsius(fahrenheit: float) -> float:
    """Converte una temperatura da Fahrenheit a Celsius."""
    return (fahrenheit - 32) * 5 / 9
''', ([32], 0.0), ([212], 100.0), ([-40], -40.0))

t("Converti in python: Calcola il massimo comune divisore di due numeri", '''
def massimo_comune_divisore(a: int, b: int) -> int:
    """Calcola il MCD di a e b con l'algoritmo di Euclide."""
    while b:
        a, b = b, a % b
    return a
''', ([12, 18], 6), ([7, 5], 1), ([10, 0], 10))

t("converti in python: trova il minimo comune multiplo tra due interi", '''
import math


def minimo_comune_multiplo(a: int, b: int) -> int:
    """Calcola il mcm di due interi positivi."""
    return a * b // math.gcd(a, b)
''', ([4, 6], 12), ([3, 5], 15), ([7, 7], 7))

t("Scrivi una funzione Python che restituisca l'n-esimo numero di Fibonacci", '''
def fibonacci(n: int) -> int:
    """Restituisce l'n-esimo numero di Fibonacci, con fibonacci(0) = 0."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
''', ([0], 0), ([1], 1), ([10], 55))

t("Converti in python: Somma le cifre di un numero intero", '''
def somma_cifre(n: int) -> int:
    """Somma le cifre di un intero."""
    return sum(int(c) for c in str(abs(n)))
''', ([1234], 10), ([0], 0), ([-907], 16))

t("Converti in codice Python: Conta quante cifre ha un numero", '''
def conta_cifre(n: int) -> int:
    """Conta le cifre di un intero."""
    return len(str(abs(n)))
''', ([12345], 5), ([0], 1), ([-80], 2))

t("Converti in python: Inverti le cifre di un numero intero positivo", '''
def inverti_numero(n: int) -> int:
    """Restituisce n con le cifre in ordine inverso."""
    return int(str(n)[::-1])
''', ([123], 321), ([1200], 21), ([7], 7))

t("Funzione Python che elevi un numero al quadrato", '''
def quadrato(x: float) -> float:
    """Restituisce il quadrato di x."""
    return x * x
''', ([3], 9), ([-2], 4), ([0.5], 0.25))

t("In Python: Calcola la potenza di una base con esponente intero", '''
def potenza(base: float, esponente: int) -> float:
    """Eleva base alla potenza esponente."""
    return base ** esponente
''', ([2, 10], 1024), ([5, 0], 1), ([3, 3], 27))

t("Converti in python: Stabilisci se un anno è bisestile", '''
def e_bisestile(anno: int) -> bool:
    """Dice se l'anno è bisestile nel calendario gregoriano."""
    return anno % 4 == 0 and (anno % 100 != 0 or anno % 400 == 0)
''', ([2024], True), ([1900], False), ([2000], True), ([2023], False))

t("Converti in Python: Calcola il prezzo scontato data una percentuale di sconto", '''
def prezzo_scontato(prezzo: float, sconto_percentuale: float) -> float:
    """Applica uno sconto percentuale al prezzo."""
    return round(prezzo * (1 - sconto_percentuale / 100), 2)
''', ([100, 20], 80.0), ([59.9, 10], 53.91), ([10, 0], 10.0))

t("Ho un prezzo senza IVA: mi scrivi una funzione Python che aggiunga l'IVA al 22%?", '''
def prezzo_con_iva(prezzo: float) -> float:
    """Aggiunge l'IVA al 22% e arrotonda ai centesimi."""
    return round(prezzo * 1.22, 2)
''', ([100], 122.0), ([10], 12.2), ([0], 0.0))

t("Traduci in Python: Calcola l'indice di massa corporea da peso e altezza", '''
def indice_massa_corporea(peso_kg: float, altezza_m: float) -> float:
    """Calcola l'IMC arrotondato a una cifra decimale."""
    return round(peso_kg / altezza_m ** 2, 1)
''', ([70, 1.75], 22.9), ([50, 1.6], 19.5))

t("Scrivi una funzione Python che limiti un valore tra un minimo e un massimo", '''
def limita(valore: float, minimo: float, massimo: float) -> float:
    """Riporta valore dentro l'intervallo [minimo, massimo]."""
    return max(minimo, min(valore, massimo))
''', ([5, 0, 10], 5), ([-3, 0, 10], 0), ([42, 0, 10], 10))

t("Converti in python: Restituisci il segno di un numero come -1, 0 o 1", '''
def segno(x: float) -> int:
    """Restituisce -1, 0 o 1 secondo il segno di x."""
    return (x > 0) - (x < 0)
''', ([-7], -1), ([0], 0), ([3.2], 1))

t("Python: Trova tutti i divisori di un numero", '''
def divisori(n: int) -> list[int]:
    """Elenca i divisori positivi di n in ordine crescente."""
    return [d for d in range(1, n + 1) if n % d == 0]
''', ([12], [1, 2, 3, 4, 6, 12]), ([7], [1, 7]), ([1], [1]))

t("Converti in python: Verifica se un numero è perfetto", '''
def e_perfetto(n: int) -> bool:
    """Dice se n è uguale alla somma dei suoi divisori propri."""
    return n > 1 and sum(d for d in range(1, n) if n % d == 0) == n
''', ([6], True), ([28], True), ([12], False), ([1], False))

t("Scrivi in Python: Converti un numero intero in binario", '''
def in_binario(n: int) -> str:
    """Restituisce la rappresentazione binaria di n senza prefisso."""
    return bin(n)[2:]
''', ([5], "101"), ([0], "0"), ([255], "11111111"))

t("Converti in python: Converti una stringa binaria in numero decimale", '''
def da_binario(bits: str) -> int:
    """Converte una stringa di cifre binarie in intero."""
    return int(bits, 2)
''', (["101"], 5), (["0"], 0), (["11111111"], 255))

t("Mi serve una funzione Python che converta un numero in esadecimale", '''
def in_esadecimale(n: int) -> str:
    """Restituisce n in esadecimale minuscolo senza prefisso."""
    return format(n, "x")
''', ([255], "ff"), ([16], "10"), ([0], "0"))

t("converti in python: somma i quadrati dei numeri da 1 a n", '''
def somma_quadrati(n: int) -> int:
    """Somma i quadrati dei numeri da 1 a n."""
    return sum(i * i for i in range(1, n + 1))
''', ([3], 14), ([1], 1), ([0], 0))

t("Converti in python: Elenca i numeri primi minori di n", '''
def primi_fino_a(n: int) -> list[int]:
    """Elenca i numeri primi minori di n."""
    return [k for k in range(2, n) if all(k % d for d in range(2, int(k ** 0.5) + 1))]
''', ([10], [2, 3, 5, 7]), ([2], []), ([20], [2, 3, 5, 7, 11, 13, 17, 19]))

t("Converti in codice Python: Calcola la media ponderata di voti e pesi", '''
def media_ponderata(valori: list[float], pesi: list[float]) -> float:
    """Calcola la media ponderata dei valori."""
    return sum(v * p for v, p in zip(valori, pesi)) / sum(pesi)
''', ([[6, 8], [1, 3]], 7.5), ([[10, 4], [1, 1]], 7.0))

t("Converti in python: Calcola l'interesse semplice dato capitale, tasso annuo e anni", '''
def interesse_semplice(capitale: float, tasso: float, anni: int) -> float:
    """Calcola l'interesse semplice con tasso percentuale annuo."""
    return capitale * tasso / 100 * anni
''', ([1000, 5, 2], 100.0), ([500, 0, 3], 0.0))

t("In Python: Calcola il montante con interesse composto", '''
def montante_composto(capitale: float, tasso: float, anni: int) -> float:
    """Calcola il capitale finale con interesse composto, arrotondato ai centesimi."""
    return round(capitale * (1 + tasso / 100) ** anni, 2)
''', ([1000, 10, 2], 1210.0), ([100, 5, 0], 100.0), ([1000, 3, 1], 1030.0))

t("Scrivi in Python una funzione che calcoli la distanza tra due punti del piano", '''
import math


def distanza_punti(x1: float, y1: float, x2: float, y2: float) -> float:
    """Calcola la distanza euclidea tra due punti."""
    return math.hypot(x2 - x1, y2 - y1)
''', ([0, 0, 3, 4], 5.0), ([1, 1, 1, 1], 0.0))

t("Dati i due cateti di un triangolo rettangolo, voglio l'ipotenusa in Python.", '''
import math


def ipotenusa(cateto_a: float, cateto_b: float) -> float:
    """Calcola l'ipotenusa dati i due cateti."""
    return math.sqrt(cateto_a ** 2 + cateto_b ** 2)
''', ([3, 4], 5.0), ([5, 12], 13.0))

t("Converti in Python: Calcola il perimetro di un triangolo dati i tre lati", '''
def perimetro_triangolo(a: float, b: float, c: float) -> float:
    """Somma i tre lati del triangolo."""
    return a + b + c
''', ([3, 4, 5], 12), ([1.5, 1.5, 1.5], 4.5))

t("Converti in python: Verifica se tre lati possono formare un triangolo", '''
def e_triangolo_valido(a: float, b: float, c: float) -> bool:
    """Dice se tre lati rispettano la disuguaglianza triangolare."""
    return a + b > c and a + c > b and b + c > a
''', ([3, 4, 5], True), ([1, 2, 3], False), ([1, 10, 2], False))

t("Traduci in Python: Arrotonda un numero al multiplo di 5 più vicino", '''
def arrotonda_a_cinque(n: float) -> int:
    """Arrotonda n al multiplo di 5 più vicino."""
    return int(5 * round(n / 5))
''', ([12], 10), ([13], 15), ([0], 0))

t("Converti in python: Converti una durata in minuti nel formato ore e minuti", '''
def formato_ore_minuti(minuti: int) -> str:
    """Scrive una durata in minuti come 'Hh MMm'."""
    ore, resto = divmod(minuti, 60)
    return f"{ore}h {resto:02d}m"
''', ([135], "2h 15m"), ([45], "0h 45m"), ([60], "1h 00m"))

t("Funzione Python che converta i secondi in ore, minuti e secondi", '''
def scomponi_secondi(secondi: int) -> tuple[int, int, int]:
    """Scompone i secondi in ore, minuti e secondi."""
    ore, resto = divmod(secondi, 3600)
    minuti, sec = divmod(resto, 60)
    return ore, minuti, sec
''', ([3661], [1, 1, 1]), ([59], [0, 0, 59]), ([7200], [2, 0, 0]))

t("Python: Converti chilometri in miglia", '''
def km_a_miglia(km: float) -> float:
    """Converte chilometri in miglia, arrotondando a due decimali."""
    return round(km * 0.621371, 2)
''', ([10], 6.21), ([0], 0.0), ([42.195], 26.22))

t("Converti in python: Stabilisci se un numero è un quadrato perfetto", '''
import math


def e_quadrato_perfetto(n: int) -> bool:
    """Dice se n è il quadrato di un intero."""
    return n >= 0 and math.isqrt(n) ** 2 == n
''', ([16], True), ([15], False), ([0], True), ([-4], False))

t("Scrivi in Python: Calcola la somma dei numeri pari fino a n compreso", '''
def somma_pari_fino_a(n: int) -> int:
    """Somma i numeri pari da 2 a n compreso."""
    return sum(range(2, n + 1, 2))
''', ([10], 30), ([1], 0), ([7], 12))

t("Converti in python: Restituisci la tabellina di un numero fino a 10", '''
def tabellina(n: int) -> list[int]:
    """Restituisce i multipli di n da n*1 a n*10."""
    return [n * i for i in range(1, 11)]
''', ([3], [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]), ([0], [0] * 10))

t("converti in python: stabilisci se un numero è divisibile sia per 3 sia per 5", '''
def divisibile_per_tre_e_cinque(n: int) -> bool:
    """Dice se n è divisibile per 3 e per 5."""
    return n % 15 == 0
''', ([30], True), ([9], False), ([10], False))

t("Converti in python: Risolvi il gioco FizzBuzz per un singolo numero", '''
def fizz_buzz(n: int) -> str:
    """Restituisce Fizz, Buzz, FizzBuzz o il numero come testo."""
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)
''', ([15], "FizzBuzz"), ([9], "Fizz"), ([10], "Buzz"), ([7], "7"))

t("Converti in codice Python: Calcola il numero di combinazioni di n elementi presi k alla volta", '''
import math


def combinazioni(n: int, k: int) -> int:
    """Calcola il coefficiente binomiale n su k."""
    return math.comb(n, k)
''', ([5, 2], 10), ([6, 0], 1), ([10, 3], 120))

t("Funzione Python: che percentuale del totale rappresenta una parte?", '''
def percentuale(parte: float, totale: float) -> float:
    """Calcola quanto vale parte in percentuale del totale, con un decimale."""
    return round(parte / totale * 100, 1)
''', ([1, 4], 25.0), ([1, 3], 33.3), ([5, 5], 100.0))

t("In Python: Converti un voto in trentesimi in un voto in centodecimi", '''
def trentesimi_a_centodecimi(voto: float) -> float:
    """Converte una media in trentesimi nella base di laurea in centodecimi."""
    return round(voto * 110 / 30, 2)
''', ([30], 110.0), ([27], 99.0), ([18], 66.0))

t("Scrivi una funzione Python che calcoli la mediana di una lista di numeri", '''
def mediana(numeri: list[float]) -> float:
    """Calcola la mediana dei numeri."""
    ordinati = sorted(numeri)
    meta = len(ordinati) // 2
    if len(ordinati) % 2:
        return ordinati[meta]
    return (ordinati[meta - 1] + ordinati[meta]) / 2
''', ([[3, 1, 2]], 2), ([[4, 1, 3, 2]], 2.5), ([[5]], 5))

t("Converti in python: Conta le cifre pari di un numero intero", '''
def conta_cifre_pari(n: int) -> int:
    """Conta le cifre pari di un intero."""
    return sum(1 for c in str(abs(n)) if int(c) % 2 == 0)
''', ([2468], 4), ([1357], 0), ([-120], 2))

t("Converti in Python: Converti un numero romano in intero", '''
def da_numero_romano(romano: str) -> int:
    """Converte un numero romano in intero."""
    valori = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    totale = 0
    for c, dopo in zip(romano, romano[1:] + " "):
        totale += -valori[c] if valori[c] < valori.get(dopo, 0) else valori[c]
    return totale
''', (["IV"], 4), (["MCMXCIV"], 1994), (["XXI"], 21))

# --- Strings -------------------------------------------------------------------------------
t("Converti in python: Inverti una stringa", '''
def inverti_stringa(testo: str) -> str:
    """Restituisce il testo al contrario."""
    return testo[::-1]
''', (["ciao"], "oaic"), ([""], ""), (["abc"], "cba"))

t("Traduci in Python: Verifica se una parola è palindroma", '''
def e_palindroma(parola: str) -> bool:
    """Dice se la parola si legge uguale nei due sensi, senza badare alle maiuscole."""
    parola = parola.lower()
    return parola == parola[::-1]
''', (["Anna"], True), (["osso"], True), (["casa"], False))

t("Converti in python: Conta le vocali in una frase", '''
def conta_vocali(testo: str) -> int:
    """Conta le vocali nel testo."""
    return sum(1 for c in testo.lower() if c in "aeiou")
''', (["Buongiorno"], 5), (["xyz"], 0), (["AEIOU"], 5))

t("Scrivi una funzione Python che conti le parole in un testo", '''
def conta_parole(testo: str) -> int:
    """Conta le parole separate da spazi."""
    return len(testo.split())
''', (["il gatto dorme"], 3), (["  "], 0), (["una"], 1))

t("Python: Metti in maiuscolo la prima lettera di ogni parola", '''
def iniziali_maiuscole(testo: str) -> str:
    """Rende maiuscola l'iniziale di ogni parola."""
    return " ".join(p.capitalize() for p in testo.split(" "))
''', (["via roma"], "Via Roma"), (["ciao"], "Ciao"))

t("Converti in python: Conta quante volte compare una lettera in una parola", '''
def conta_lettera(parola: str, lettera: str) -> int:
    """Conta le occorrenze di lettera in parola."""
    return parola.count(lettera)
''', (["banana", "a"], 3), (["mela", "z"], 0))

t("Scrivi in Python: Rimuovi gli spazi da una stringa", '''
def rimuovi_spazi(testo: str) -> str:
    """Toglie tutti gli spazi dal testo."""
    return testo.replace(" ", "")
''', (["a b c"], "abc"), (["  ciao  "], "ciao"), ([""], ""))

t("Converti in python: Verifica se due parole sono anagrammi", '''
def sono_anagrammi(a: str, b: str) -> bool:
    """Dice se a e b contengono le stesse lettere."""
    return sorted(a.lower()) == sorted(b.lower())
''', (["Roma", "amor"], True), (["cane", "pane"], False))

t("converti in python: trova la parola più lunga in una frase", '''
def parola_piu_lunga(frase: str) -> str:
    """Restituisce la prima parola di lunghezza massima."""
    return max(frase.split(), key=len)
''', (["il gatto nero dorme"], "gatto"), (["uno due tre quattro"], "quattro"))

t("Mi serve una funzione Python che tolga la punteggiatura da un testo", '''
import string


def togli_punteggiatura(testo: str) -> str:
    """Rimuove i segni di punteggiatura ASCII dal testo."""
    return testo.translate(str.maketrans("", "", string.punctuation))
''', (["Ciao, mondo!"], "Ciao mondo"), (["a.b;c?"], "abc"))

t("Converti in python: Ripeti una stringa n volte separata da trattini", '''
def ripeti_con_trattino(testo: str, n: int) -> str:
    """Ripete il testo n volte unendo le copie con un trattino."""
    return "-".join([testo] * n)
''', (["ah", 3], "ah-ah-ah"), (["x", 1], "x"), (["x", 0], ""))

t("Converti in codice Python: Crea le iniziali da nome e cognome", '''
def iniziali(nome: str, cognome: str) -> str:
    """Restituisce le iniziali puntate, per esempio 'M.R.'."""
    return f"{nome[0].upper()}.{cognome[0].upper()}."
''', (["mario", "rossi"], "M.R."), (["Giulia", "Bianchi"], "G.B."))

t("Converti in python: Trasforma una frase in snake_case", '''
def in_snake_case(frase: str) -> str:
    """Converte una frase in snake_case minuscolo."""
    return "_".join(frase.lower().split())
''', (["Calcola Somma Totale"], "calcola_somma_totale"), (["ciao"], "ciao"))

t("In Python: Converti un nome in snake_case in camelCase", '''
def snake_a_camel(nome: str) -> str:
    """Converte snake_case in camelCase."""
    prima, *altre = nome.split("_")
    return prima + "".join(p.capitalize() for p in altre)
''', (["somma_totale_iva"], "sommaTotaleIva"), (["prezzo"], "prezzo"))

t("Converti in python: Tronca un testo a n caratteri aggiungendo i puntini", '''
def tronca(testo: str, n: int) -> str:
    """Accorcia il testo a n caratteri seguiti da '...' se è più lungo."""
    return testo if len(testo) <= n else testo[:n] + "..."
''', (["buongiorno", 4], "buon..."), (["ciao", 10], "ciao"))

t("Converti in Python: Conta le consonanti in una parola", '''
def conta_consonanti(parola: str) -> int:
    """Conta le lettere che non sono vocali."""
    return sum(1 for c in parola.lower() if c.isalpha() and c not in "aeiou")
''', (["strada"], 4), (["aiuole"], 1), (["Python"], 5))

t("Scrivi una funzione Python che sostituisca le vocali con un asterisco", '''
def nascondi_vocali(testo: str) -> str:
    """Sostituisce ogni vocale con un asterisco."""
    return "".join("*" if c.lower() in "aeiou" else c for c in testo)
''', (["ciao"], "c***"), (["Roma"], "R*m*"), (["xyz"], "xyz"))

t("Converti in python: Verifica se una stringa contiene solo cifre", '''
def solo_cifre(testo: str) -> bool:
    """Dice se il testo non è vuoto ed è fatto solo di cifre."""
    return testo.isdigit()
''', (["12345"], True), (["12a"], False), ([""], False))

t("Traduci in Python: Conta le frasi di un testo contando punti, punti esclamativi e interrogativi", '''
def conta_frasi(testo: str) -> int:
    """Conta i punti, punti esclamativi e interrogativi del testo."""
    return sum(testo.count(segno) for segno in ".!?")
''', (["Ciao. Come stai? Bene!"], 3), (["nessuna frase"], 0))

t("Converti in python: Estrai l'estensione da un nome di file", '''
def estensione_file(nome_file: str) -> str:
    """Restituisce l'estensione del file senza il punto, o stringa vuota."""
    return nome_file.rsplit(".", 1)[1] if "." in nome_file else ""
''', (["foto.jpg"], "jpg"), (["archivio.tar.gz"], "gz"), (["README"], ""))

t("Python: Ricava il dominio da un indirizzo email", '''
def dominio_email(email: str) -> str:
    """Restituisce la parte dopo la chiocciola."""
    return email.split("@", 1)[1]
''', (["anna@esempio.it"], "esempio.it"), (["x@posta.com"], "posta.com"))

t("Converti in python: Controlla in modo semplice se un'email è valida", '''
import re


def email_valida(email: str) -> bool:
    """Controlla che l'email abbia la forma nome@dominio.estensione."""
    return re.fullmatch(r"[^@\\s]+@[^@\\s]+\\.[a-zA-Z]{2,}", email) is not None
''', (["luca@esempio.it"], True), (["luca.esempio.it"], False), (["a@b"], False))

t("Scrivi in Python: Estrai tutti i numeri interi presenti in un testo", '''
import re


def estrai_numeri(testo: str) -> list[int]:
    """Restituisce gli interi trovati nel testo."""
    return [int(n) for n in re.findall(r"\\d+", testo)]
''', (["3 mele e 12 pere"], [3, 12]), (["niente"], []))

t("Vorrei una funzione Python che generi l'acronimo di una frase.", '''
def acronimo(frase: str) -> str:
    """Forma l'acronimo con le iniziali maiuscole delle parole."""
    return "".join(p[0].upper() for p in frase.split())
''', (["unione europea"], "UE"), (["Portable Document Format"], "PDF"))

t("converti in python: centra un titolo in una riga di larghezza fissa riempiendo con trattini", '''
def titolo_centrato(titolo: str, larghezza: int) -> str:
    """Centra il titolo riempiendo con trattini."""
    return titolo.center(larghezza, "-")
''', (["menu", 8], "--menu--"), (["ok", 2], "ok"))

t("Converti in python: Stabilisci se una frase contiene tutte le vocali", '''
def ha_tutte_le_vocali(frase: str) -> bool:
    """Dice se compaiono tutte e cinque le vocali."""
    return set("aeiou") <= set(frase.lower())
''', (["Quel vituperabile xenofobo zelante"], True), (["ciao"], False))

t("Converti in codice Python: Rimuovi le lettere doppie consecutive da una parola", '''
def togli_doppie(parola: str) -> str:
    """Riduce le lettere uguali consecutive a una sola."""
    risultato = ""
    for c in parola:
        if not risultato or risultato[-1] != c:
            risultato += c
    return risultato
''', (["mamma"], "mama"), (["cappello"], "capelo"), ([""], ""))

t("Funzione Python che conti la frequenza di ogni carattere in una parola", '''
def frequenza_caratteri(parola: str) -> dict[str, int]:
    """Conta quante volte compare ogni carattere."""
    conteggi: dict[str, int] = {}
    for c in parola:
        conteggi[c] = conteggi.get(c, 0) + 1
    return conteggi
''', (["mamma"], {"m": 3, "a": 2}), ([""], {}))

t("Converti in python: Trova il primo carattere che non si ripete in una stringa", '''
def primo_non_ripetuto(testo: str) -> str:
    """Restituisce il primo carattere che compare una sola volta, o stringa vuota."""
    for c in testo:
        if testo.count(c) == 1:
            return c
    return ""
''', (["aabbcdd"], "c"), (["aabb"], ""), (["xyz"], "x"))

t("In Python: Cifra un testo con il cifrario di Cesare", '''
def cifrario_cesare(testo: str, spostamento: int) -> str:
    """Sposta in avanti le lettere minuscole dell'alfabeto inglese."""
    return "".join(
        chr((ord(c) - 97 + spostamento) % 26 + 97) if "a" <= c <= "z" else c for c in testo
    )
''', (["abc", 1], "bcd"), (["xyz", 3], "abc"), (["ciao mondo", 0], "ciao mondo"))

t("Converti in python: Inverti l'ordine delle parole in una frase", '''
def inverti_parole(frase: str) -> str:
    """Restituisce le parole della frase in ordine inverso."""
    return " ".join(reversed(frase.split()))
''', (["io amo Roma"], "Roma amo io"), (["ciao"], "ciao"))

t("Converti in Python: Formatta un numero di telefono italiano a gruppi di tre cifre", '''
def formatta_telefono(numero: str) -> str:
    """Separa le cifre del numero in gruppi di tre con spazi."""
    cifre = "".join(c for c in numero if c.isdigit())
    return " ".join(cifre[i:i + 3] for i in range(0, len(cifre), 3))
''', (["3331234567"], "333 123 456 7"), (["333-123-456"], "333 123 456"))

t("Converti in python: Maschera un numero di carta lasciando visibili le ultime 4 cifre", '''
def maschera_carta(numero: str) -> str:
    """Sostituisce con asterischi tutte le cifre tranne le ultime quattro."""
    return "*" * (len(numero) - 4) + numero[-4:]
''', (["1234567812345678"], "************5678"), (["9876"], "9876"))

t("Traduci in Python: Verifica se una password è abbastanza robusta", '''
def password_robusta(password: str) -> bool:
    """Richiede almeno 8 caratteri, una maiuscola, una minuscola e una cifra."""
    return (
        len(password) >= 8
        and any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
    )
''', (["Segreto123"], True), (["segreto123"], False), (["Ab1"], False))

t("Scrivi una funzione Python che trasformi un titolo in uno slug per un URL", '''
import re


def crea_slug(titolo: str) -> str:
    """Converte il titolo in minuscolo con le parole unite da trattini."""
    return "-".join(re.findall(r"[a-z0-9]+", titolo.lower()))
''', (["Ricetta: Pasta al Pesto!"], "ricetta-pasta-al-pesto"), (["  Ciao Mondo  "], "ciao-mondo"))

t("Converti in python: Conta quante parole iniziano con la lettera maiuscola", '''
def conta_maiuscole_iniziali(testo: str) -> int:
    """Conta le parole che iniziano con una maiuscola."""
    return sum(1 for p in testo.split() if p[0].isupper())
''', (["Marco vive a Torino"], 2), (["tutto minuscolo"], 0))

t("Python: Alterna maiuscole e minuscole in una parola", '''
def alterna_maiuscole(parola: str) -> str:
    """Mette in maiuscolo i caratteri in posizione pari."""
    return "".join(c.upper() if i % 2 == 0 else c.lower() for i, c in enumerate(parola))
''', (["ciao"], "CiAo"), (["PYTHON"], "PyThOn"))

t("Converti in python: Verifica se una stringa inizia con un certo prefisso ignorando le maiuscole", '''
def inizia_con(testo: str, prefisso: str) -> bool:
    """Dice se testo inizia con prefisso, senza badare alle maiuscole."""
    return testo.lower().startswith(prefisso.lower())
''', (["Buongiorno", "buon"], True), (["Ciao", "ao"], False))

t("Scrivi in Python: Aggiungi zeri a sinistra a un codice fino a 6 cifre", '''
def codice_sei_cifre(codice: int) -> str:
    """Scrive il codice con zeri iniziali fino a sei cifre."""
    return str(codice).zfill(6)
''', ([42], "000042"), ([123456], "123456"))

t("Converti in python: Conta le righe di un testo su più righe", '''
def conta_righe(testo: str) -> int:
    """Conta le righe del testo."""
    return len(testo.splitlines())
''', (["uno\ndue\ntre"], 3), ([""], 0), (["sola"], 1))

t("converti in python: sostituisci una parola con un'altra in una frase", '''
def sostituisci_parola(frase: str, vecchia: str, nuova: str) -> str:
    """Sostituisce ogni occorrenza di vecchia con nuova."""
    return frase.replace(vecchia, nuova)
''', (["il cane e il gatto", "cane", "topo"], "il topo e il gatto"), (["abc", "x", "y"], "abc"))

t("Converti in python: Calcola il codice di controllo di una stringa come somma dei codici dei caratteri modulo 256", '''
def checksum_semplice(testo: str) -> int:
    """Somma i codici dei caratteri modulo 256."""
    return sum(ord(c) for c in testo) % 256
''', (["A"], 65), (["AB"], 131), ([""], 0))

t("Converti in codice Python: Stabilisci se una targa automobilistica italiana ha il formato AA123BB", '''
import re


def targa_valida(targa: str) -> bool:
    """Controlla il formato di targa due lettere, tre cifre, due lettere."""
    return re.fullmatch(r"[A-Z]{2}\\d{3}[A-Z]{2}", targa) is not None
''', (["AB123CD"], True), (["ab123cd"], False), (["AB12CD"], False))

# --- Lists ---------------------------------------------------------------------------------
t("Converti in python: Trova il massimo in una lista", '''
def trova_massimo(lista: list[float]) -> float:
    """Restituisce il valore più grande della lista."""
    return max(lista)
''', ([[3, 7, 2, 9, 1]], 9), ([[-5, -2]], -2))

t("In Python: Trova il valore minimo di una lista senza usare min", '''
def trova_minimo(lista: list[float]) -> float:
    """Restituisce il valore più piccolo scorrendo la lista."""
    minimo = lista[0]
    for x in lista[1:]:
        if x < minimo:
            minimo = x
    return minimo
''', ([[3, 7, 2, 9]], 2), ([[4]], 4), ([[-1, -8, 0]], -8))

t("Converti in python: Somma gli elementi di una lista", '''
def somma_lista(numeri: list[float]) -> float:
    """Somma gli elementi della lista."""
    return sum(numeri)
''', ([[1, 2, 3]], 6), ([[]], 0))

t("Scrivi una funzione Python che filtri i numeri pari di una lista", '''
def filtra_pari(numeri: list[int]) -> list[int]:
    """Restituisce solo i numeri pari."""
    return [n for n in numeri if n % 2 == 0]
''', ([[1, 2, 3, 4, 6]], [2, 4, 6]), ([[1, 3]], []))

t("Converti in Python: Rimuovi i duplicati da una lista mantenendo l'ordine", '''
def rimuovi_duplicati(elementi: list) -> list:
    """Toglie i duplicati conservando il primo ordine di apparizione."""
    return list(dict.fromkeys(elementi))
''', ([[3, 1, 3, 2, 1]], [3, 1, 2]), ([["a", "a"]], ["a"]))

t("Converti in python: Conta quanti elementi di una lista superano una soglia", '''
def conta_sopra_soglia(valori: list[float], soglia: float) -> int:
    """Conta i valori strettamente maggiori della soglia."""
    return sum(1 for v in valori if v > soglia)
''', ([[1, 5, 8, 10], 5], 2), ([[], 0], 0))

t("Traduci in Python: Calcola il prodotto degli elementi di una lista", '''
import math


def prodotto_lista(numeri: list[float]) -> float:
    """Moltiplica tra loro gli elementi della lista."""
    return math.prod(numeri)
''', ([[2, 3, 4]], 24), ([[]], 1))

t("Come ordino in Python una lista di parole dalla più corta alla più lunga?", '''
def ordina_per_lunghezza(parole: list[str]) -> list[str]:
    """Ordina le parole dalla più corta alla più lunga."""
    return sorted(parole, key=len)
''', ([["mela", "fico", "banana", "uva"]], ["uva", "mela", "fico", "banana"]), ([[]], []))

t("Python: Restituisci gli elementi comuni a due liste", '''
def elementi_comuni(a: list, b: list) -> list:
    """Elenca, in ordine, gli elementi di a presenti anche in b."""
    return [x for x in a if x in b]
''', ([[1, 2, 3, 4], [4, 2, 9]], [2, 4]), ([[1], [2]], []))

t("Converti in python: Unisci due liste ordinate in una sola lista ordinata", '''
import heapq


def unisci_ordinate(a: list[int], b: list[int]) -> list[int]:
    """Fonde due liste ordinate mantenendo l'ordine."""
    return list(heapq.merge(a, b))
''', ([[1, 4, 7], [2, 3, 8]], [1, 2, 3, 4, 7, 8]), ([[], [1]], [1]))

t("Scrivi in Python: Appiattisci una lista di liste", '''
def appiattisci(liste: list[list]) -> list:
    """Unisce le sottoliste in un'unica lista."""
    return [x for sotto in liste for x in sotto]
''', ([[[1, 2], [3], []]], [1, 2, 3]), ([[]], []))

t("Scrivi una funzione Python che divida una lista in blocchi di dimensione n", '''
def dividi_in_blocchi(elementi: list, n: int) -> list[list]:
    """Divide la lista in blocchi lunghi al massimo n."""
    return [elementi[i:i + n] for i in range(0, len(elementi), n)]
''', ([[1, 2, 3, 4, 5], 2], [[1, 2], [3, 4], [5]]), ([[], 3], []))

t("Converti in python: Ruota una lista di k posizioni verso destra", '''
def ruota_destra(elementi: list, k: int) -> list:
    """Sposta gli ultimi k elementi in testa alla lista."""
    if not elementi:
        return []
    k %= len(elementi)
    return elementi[-k:] + elementi[:-k] if k else elementi[:]
''', ([[1, 2, 3, 4], 1], [4, 1, 2, 3]), ([[1, 2, 3], 3], [1, 2, 3]), ([[], 2], []))

t("converti in python: trova il secondo valore più grande in una lista", '''
def secondo_massimo(numeri: list[int]) -> int:
    """Restituisce il secondo valore distinto più grande."""
    return sorted(set(numeri))[-2]
''', ([[4, 9, 2, 9, 7]], 7), ([[1, 2]], 1))

t("Converti in python: Calcola la somma cumulativa di una lista", '''
import itertools


def somma_cumulativa(numeri: list[int]) -> list[int]:
    """Restituisce le somme parziali della lista."""
    return list(itertools.accumulate(numeri))
''', ([[1, 2, 3, 4]], [1, 3, 6, 10]), ([[]], []))

t("Converti in codice Python: Trova la posizione di un elemento in una lista o -1 se manca", '''
def posizione(elementi: list, cercato: object) -> int:
    """Restituisce l'indice di cercato, o -1 se non c'è."""
    return elementi.index(cercato) if cercato in elementi else -1
''', ([["a", "b", "c"], "c"], 2), ([[1, 2], 5], -1))

t("Converti in python: Verifica se una lista è ordinata in modo crescente", '''
def e_ordinata(numeri: list[float]) -> bool:
    """Dice se la lista è in ordine non decrescente."""
    return all(a <= b for a, b in zip(numeri, numeri[1:]))
''', ([[1, 2, 2, 5]], True), ([[3, 1]], False), ([[]], True))

t("In Python: Ricerca binaria di un valore in una lista ordinata", '''
import bisect


def ricerca_binaria(numeri: list[int], cercato: int) -> int:
    """Restituisce l'indice di cercato nella lista ordinata, o -1."""
    i = bisect.bisect_left(numeri, cercato)
    return i if i < len(numeri) and numeri[i] == cercato else -1
''', ([[1, 3, 5, 7, 9], 7], 3), ([[1, 3, 5], 4], -1), ([[], 1], -1), ([[1, 3], 9], -1))

t("Converti in python: Ordina una lista con il bubble sort", '''
def bubble_sort(numeri: list[int]) -> list[int]:
    """Ordina una copia della lista con il bubble sort."""
    lista = numeri[:]
    for fine in range(len(lista) - 1, 0, -1):
        for i in range(fine):
            if lista[i] > lista[i + 1]:
                lista[i], lista[i + 1] = lista[i + 1], lista[i]
    return lista
''', ([[5, 2, 9, 1]], [1, 2, 5, 9]), ([[]], []), ([[3, 3, 1]], [1, 3, 3]))

t("Mi serve una funzione Python che conti quante volte compare ogni elemento di una lista", '''
from collections import Counter


def conta_occorrenze(elementi: list[str]) -> dict[str, int]:
    """Conta le occorrenze di ogni elemento."""
    return dict(Counter(elementi))
''', ([["a", "b", "a"]], {"a": 2, "b": 1}), ([[]], {}))

t("Converti in Python: Trova l'elemento più frequente in una lista", '''
from collections import Counter


def piu_frequente(elementi: list) -> object:
    """Restituisce l'elemento che compare più spesso."""
    return Counter(elementi).most_common(1)[0][0]
''', ([[1, 3, 3, 2, 3]], 3), ([["x", "y", "y"]], "y"))

t("Serve una funzione Python per normalizzare una lista di numeri tra 0 e 1.", '''
def normalizza(valori: list[float]) -> list[float]:
    """Riscala i valori nell'intervallo da 0 a 1."""
    minimo, massimo = min(valori), max(valori)
    return [(v - minimo) / (massimo - minimo) for v in valori]
''', ([[0, 5, 10]], [0.0, 0.5, 1.0]), ([[2, 4]], [0.0, 1.0]))

t("Traduci in Python: Calcola lo scarto tra il valore massimo e quello minimo di una lista", '''
def intervallo_valori(numeri: list[float]) -> float:
    """Restituisce la differenza tra massimo e minimo."""
    return max(numeri) - min(numeri)
''', ([[3, 10, 4]], 7), ([[5]], 0))

t("Converti in python: Moltiplica ogni elemento di una lista per un fattore", '''
def scala_lista(numeri: list[float], fattore: float) -> list[float]:
    """Moltiplica ogni numero per fattore."""
    return [n * fattore for n in numeri]
''', ([[1, 2, 3], 2], [2, 4, 6]), ([[], 5], []))

t("Python: Somma elemento per elemento due liste della stessa lunghezza", '''
def somma_elementi(a: list[float], b: list[float]) -> list[float]:
    """Somma a coppie gli elementi di a e b."""
    return [x + y for x, y in zip(a, b)]
''', ([[1, 2], [10, 20]], [11, 22]), ([[], []], []))

t("Scrivi una funzione Python che calcoli il prodotto scalare di due vettori", '''
def prodotto_scalare(a: list[float], b: list[float]) -> float:
    """Calcola il prodotto scalare dei vettori a e b."""
    return sum(x * y for x, y in zip(a, b))
''', ([[1, 2, 3], [4, 5, 6]], 32), ([[0, 1], [1, 0]], 0))

t("Converti in python: Trasponi una matrice rappresentata come lista di liste", '''
def trasponi(matrice: list[list[float]]) -> list[list[float]]:
    """Scambia righe e colonne della matrice."""
    return [list(riga) for riga in zip(*matrice)]
''', ([[[1, 2, 3], [4, 5, 6]]], [[1, 4], [2, 5], [3, 6]]), ([[[7]]], [[7]]))

t("Scrivi in Python: Calcola la somma della diagonale principale di una matrice quadrata", '''
def traccia(matrice: list[list[float]]) -> float:
    """Somma gli elementi sulla diagonale principale."""
    return sum(matrice[i][i] for i in range(len(matrice)))
''', ([[[1, 2], [3, 4]]], 5), ([[[9]]], 9))

t("Converti in python: Crea una matrice identità di dimensione n", '''
def matrice_identita(n: int) -> list[list[int]]:
    """Costruisce la matrice identità n per n."""
    return [[1 if i == j else 0 for j in range(n)] for i in range(n)]
''', ([2], [[1, 0], [0, 1]]), ([1], [[1]]), ([0], []))

t("converti in python: trova le coppie di numeri di una lista che sommano a un obiettivo", '''
def coppie_con_somma(numeri: list[int], obiettivo: int) -> list[list[int]]:
    """Elenca le coppie di posizioni diverse la cui somma vale obiettivo."""
    return [
        [numeri[i], numeri[j]]
        for i in range(len(numeri))
        for j in range(i + 1, len(numeri))
        if numeri[i] + numeri[j] == obiettivo
    ]
''', ([[1, 2, 3, 4], 5], [[1, 4], [2, 3]]), ([[1, 1], 3], []))

t("Converti in python: Trova il numero mancante in una lista da 1 a n", '''
def numero_mancante(numeri: list[int]) -> int:
    """Trova l'unico numero mancante tra 1 e len(numeri) + 1."""
    n = len(numeri) + 1
    return n * (n + 1) // 2 - sum(numeri)
''', ([[1, 2, 4, 5]], 3), ([[2]], 1), ([[1]], 2))

t("Converti in codice Python: Restituisci gli ultimi n elementi di una lista", '''
def ultimi_elementi(elementi: list, n: int) -> list:
    """Restituisce gli ultimi n elementi."""
    return elementi[-n:] if n > 0 else []
''', ([[1, 2, 3, 4], 2], [3, 4]), ([[1, 2], 0], []), ([[1], 5], [1]))

t("Converti in python: Separa i numeri positivi da quelli negativi", '''
def separa_segni(numeri: list[float]) -> tuple[list[float], list[float]]:
    """Restituisce i numeri positivi e quelli negativi, escluso lo zero."""
    return [n for n in numeri if n > 0], [n for n in numeri if n < 0]
''', ([[3, -1, 0, 5, -2]], [[3, 5], [-1, -2]]), ([[]], [[], []]))

t("In Python: Calcola la media mobile su una finestra di k elementi", '''
def media_mobile(valori: list[float], k: int) -> list[float]:
    """Calcola la media di ogni finestra consecutiva di k valori."""
    return [sum(valori[i:i + k]) / k for i in range(len(valori) - k + 1)]
''', ([[1, 2, 3, 4], 2], [1.5, 2.5, 3.5]), ([[5, 5], 3], []))

t("Funzione Python che intercali gli elementi di due liste", '''
def intercala(a: list, b: list) -> list:
    """Alterna gli elementi di a e b finché una delle due finisce."""
    return [x for coppia in zip(a, b) for x in coppia]
''', ([[1, 3, 5], [2, 4, 6]], [1, 2, 3, 4, 5, 6]), ([["a"], ["b", "c"]], ["a", "b"]))

t("Converti in python: Calcola la deviazione standard di una lista di numeri", '''
import statistics


def deviazione_standard(valori: list[float]) -> float:
    """Calcola la deviazione standard della popolazione."""
    return statistics.pstdev(valori)
''', ([[2, 4, 4, 4, 5, 5, 7, 9]], 2.0), ([[3, 3]], 0.0))

t("Converti in Python: Raggruppa le parole di una lista per iniziale", '''
def raggruppa_per_iniziale(parole: list[str]) -> dict[str, list[str]]:
    """Raggruppa le parole secondo la lettera iniziale."""
    gruppi: dict[str, list[str]] = {}
    for parola in parole:
        gruppi.setdefault(parola[0], []).append(parola)
    return gruppi
''', ([["mela", "pera", "mora"]], {"m": ["mela", "mora"], "p": ["pera"]}), ([[]], {}))

t("Converti in python: Elimina da una lista le stringhe vuote", '''
def togli_vuote(stringhe: list[str]) -> list[str]:
    """Rimuove le stringhe vuote o fatte solo di spazi."""
    return [s for s in stringhe if s.strip()]
''', ([["a", "", " ", "b"]], ["a", "b"]), ([[""]], []))

t("Traduci in Python: Calcola il totale di un carrello dati prezzi e quantità", '''
def totale_carrello(prezzi: list[float], quantita: list[int]) -> float:
    """Somma prezzo per quantità di ogni articolo, arrotondando ai centesimi."""
    return round(sum(p * q for p, q in zip(prezzi, quantita)), 2)
''', ([[2.5, 1.2], [2, 3]], 8.6), ([[], []], 0))

# --- Dictionaries --------------------------------------------------------------------------
t("Converti in python: Inverti chiavi e valori di un dizionario", '''
def inverti_dizionario(d: dict[str, str]) -> dict[str, str]:
    """Scambia chiavi e valori."""
    return {v: k for k, v in d.items()}
''', ([{"a": "uno", "b": "due"}], {"uno": "a", "due": "b"}), ([{}], {}))

t("Python: Trova la chiave con il valore più alto in un dizionario", '''
def chiave_massima(d: dict[str, float]) -> str:
    """Restituisce la chiave associata al valore massimo."""
    return max(d, key=d.get)
''', ([{"Anna": 7, "Luca": 9, "Sara": 8}], "Luca"), ([{"x": -1}], "x"))

t("Converti in python: Unisci due dizionari sommando i valori delle chiavi comuni", '''
def unisci_sommando(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """Unisce due dizionari sommando i valori delle chiavi presenti in entrambi."""
    risultato = dict(a)
    for k, v in b.items():
        risultato[k] = risultato.get(k, 0) + v
    return risultato
''', ([{"mele": 2, "pere": 1}, {"mele": 3, "uva": 4}], {"mele": 5, "pere": 1, "uva": 4}),
  ([{}, {"a": 1}], {"a": 1}))

t("Scrivi una funzione Python che conti le parole di un testo e restituisca un dizionario", '''
def frequenza_parole(testo: str) -> dict[str, int]:
    """Conta ogni parola del testo, in minuscolo."""
    conteggi: dict[str, int] = {}
    for parola in testo.lower().split():
        conteggi[parola] = conteggi.get(parola, 0) + 1
    return conteggi
''', (["Il sole e il mare"], {"il": 2, "sole": 1, "e": 1, "mare": 1}), ([""], {}))

t("Scrivi in Python: Filtra un dizionario tenendo solo i valori maggiori di una soglia", '''
def filtra_dizionario(d: dict[str, float], soglia: float) -> dict[str, float]:
    """Tiene le voci con valore maggiore della soglia."""
    return {k: v for k, v in d.items() if v > soglia}
''', ([{"a": 1, "b": 5, "c": 3}, 2], {"b": 5, "c": 3}), ([{}, 0], {}))

t("Converti in python: Ordina un dizionario per valore decrescente restituendo le chiavi", '''
def chiavi_per_valore(d: dict[str, float]) -> list[str]:
    """Elenca le chiavi dal valore più alto al più basso."""
    return sorted(d, key=d.get, reverse=True)
''', ([{"Roma": 3, "Milano": 5, "Napoli": 1}], ["Milano", "Roma", "Napoli"]), ([{}], []))

t("converti in python: crea un dizionario da due liste di chiavi e valori", '''
def dizionario_da_liste(chiavi: list[str], valori: list) -> dict:
    """Accoppia chiavi e valori in un dizionario."""
    return dict(zip(chiavi, valori))
''', ([["a", "b"], [1, 2]], {"a": 1, "b": 2}), ([[], []], {}))

t("Converti in python: Leggi un valore da un dizionario con un valore di default", '''
def leggi_o_default(d: dict, chiave: str, default: object) -> object:
    """Restituisce d[chiave] o default se la chiave manca."""
    return d.get(chiave, default)
''', ([{"a": 1}, "a", 0], 1), ([{"a": 1}, "b", 0], 0))

t("Converti in codice Python: Somma tutti i valori numerici di un dizionario", '''
def somma_valori(d: dict[str, float]) -> float:
    """Somma i valori del dizionario."""
    return sum(d.values())
''', ([{"a": 2, "b": 3.5}], 5.5), ([{}], 0))

t("Ho un dizionario studente → lista di voti: scrivi in Python la funzione che calcola la media di ognuno.", '''
def medie_studenti(voti: dict[str, list[float]]) -> dict[str, float]:
    """Calcola la media dei voti per ogni studente."""
    return {nome: sum(v) / len(v) for nome, v in voti.items()}
''', ([{"Marta": [8, 6], "Paolo": [7]}], {"Marta": 7.0, "Paolo": 7.0}),
  ([{"Ugo": [5, 6, 10]}], {"Ugo": 7.0}))

t("In Python: Elenca gli articoli di un inventario con quantità pari a zero", '''
def articoli_esauriti(inventario: dict[str, int]) -> list[str]:
    """Elenca gli articoli con quantità zero."""
    return [nome for nome, q in inventario.items() if q == 0]
''', ([{"pentola": 0, "padella": 4, "mestolo": 0}], ["pentola", "mestolo"]), ([{}], []))

t("Converti in python: Raggruppa una lista di persone per città", '''
def persone_per_citta(persone: list[dict[str, str]]) -> dict[str, list[str]]:
    """Raggruppa i nomi delle persone secondo la città."""
    gruppi: dict[str, list[str]] = {}
    for p in persone:
        gruppi.setdefault(p["citta"], []).append(p["nome"])
    return gruppi
''', ([[{"nome": "Ada", "citta": "Bari"}, {"nome": "Ugo", "citta": "Bari"}]], {"Bari": ["Ada", "Ugo"]}),
  ([[]], {}))

t("Scrivi una funzione Python che rimuova da un dizionario le chiavi con valore None", '''
def togli_nulli(d: dict) -> dict:
    """Rimuove le voci il cui valore è None."""
    return {k: v for k, v in d.items() if v is not None}
''', ([{"a": 1, "b": None}], {"a": 1}), ([{"x": None}], {}))

t("Converti in Python: Traduci una lista di parole usando un dizionario", '''
def traduci(parole: list[str], vocabolario: dict[str, str]) -> list[str]:
    """Traduce ogni parola, lasciando invariate quelle sconosciute."""
    return [vocabolario.get(p, p) for p in parole]
''', ([["cane", "gatto", "bau"], {"cane": "dog", "gatto": "cat"}], ["dog", "cat", "bau"]),
  ([[], {"a": "b"}], []))

t("Converti in python: Calcola il valore totale di un magazzino da prezzi e quantità", '''
def valore_magazzino(prezzi: dict[str, float], quantita: dict[str, int]) -> float:
    """Somma prezzo per quantità degli articoli presenti in entrambi i dizionari."""
    return sum(prezzi[k] * quantita[k] for k in prezzi if k in quantita)
''', ([{"tazza": 3.0, "piatto": 5.0}, {"tazza": 4, "piatto": 2}], 22.0), ([{"a": 1.0}, {}], 0))

t("Traduci in Python: Trova le chiavi comuni a due dizionari", '''
def chiavi_comuni(a: dict, b: dict) -> list:
    """Elenca in ordine alfabetico le chiavi presenti in entrambi."""
    return sorted(a.keys() & b.keys())
''', ([{"x": 1, "y": 2}, {"y": 3, "z": 4}], ["y"]), ([{}, {"a": 1}], []))

t("Converti in python: Conta le lettere di una parola con un Counter e restituisci le tre più comuni", '''
from collections import Counter


def tre_lettere_comuni(parola: str) -> list[str]:
    """Restituisce le tre lettere più frequenti della parola."""
    return [lettera for lettera, _ in Counter(parola).most_common(3)]
''', (["abracadabra"], ["a", "b", "r"]), (["aab"], ["a", "b"]))

t("Python: Aggiorna il prezzo di un prodotto in un listino", '''
def aggiorna_prezzo(listino: dict[str, float], prodotto: str, aumento_percentuale: float) -> dict[str, float]:
    """Restituisce un nuovo listino con il prezzo del prodotto aumentato."""
    nuovo = dict(listino)
    nuovo[prodotto] = round(nuovo[prodotto] * (1 + aumento_percentuale / 100), 2)
    return nuovo
''', ([{"caffe": 10.0, "te": 4.0}, "caffe", 10], {"caffe": 11.0, "te": 4.0}),
  ([{"pane": 2.5}, "pane", 0], {"pane": 2.5}))

t("Converti in python: Estrai da una lista di dizionari il valore di un campo", '''
def estrai_campo(righe: list[dict], campo: str) -> list:
    """Restituisce il valore del campo per ogni riga che lo contiene."""
    return [r[campo] for r in righe if campo in r]
''', ([[{"id": 1}, {"id": 2}, {"nome": "x"}], "id"], [1, 2]), ([[], "id"], []))

# --- Dates (datetime) ----------------------------------------------------------------------
t("Scrivi in Python: Calcola i giorni tra due date", '''
from datetime import date


def giorni_tra(data_inizio: str, data_fine: str) -> int:
    """Conta i giorni tra due date in formato AAAA-MM-GG."""
    return (date.fromisoformat(data_fine) - date.fromisoformat(data_inizio)).days
''', (["2024-01-01", "2024-03-01"], 60), (["2023-05-10", "2023-05-10"], 0))

t("Converti in python: Calcola l'età di una persona dalla data di nascita a una data di riferimento", '''
from datetime import date


def eta(nascita: str, oggi: str) -> int:
    """Calcola gli anni compiuti, con date in formato AAAA-MM-GG."""
    n, o = date.fromisoformat(nascita), date.fromisoformat(oggi)
    return o.year - n.year - ((o.month, o.day) < (n.month, n.day))
''', (["1990-06-15", "2024-06-14"], 33), (["1990-06-15", "2024-06-15"], 34))

t("Scrivi una funzione Python che restituisca il giorno della settimana in italiano di una data", '''
from datetime import date


def giorno_settimana(data: str) -> str:
    """Restituisce il nome italiano del giorno della settimana."""
    giorni = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"]
    return giorni[date.fromisoformat(data).weekday()]
''', (["2024-12-25"], "mercoledì"), (["2000-01-01"], "sabato"))

t("converti in python: aggiungi un certo numero di giorni a una data", '''
from datetime import date, timedelta


def aggiungi_giorni(data: str, giorni: int) -> str:
    """Aggiunge giorni a una data AAAA-MM-GG e la restituisce nello stesso formato."""
    return (date.fromisoformat(data) + timedelta(days=giorni)).isoformat()
''', (["2024-02-28", 1], "2024-02-29"), (["2023-12-31", 1], "2024-01-01"), (["2024-03-10", -10], "2024-02-29"))

t("Come passo in Python da una data GG/MM/AAAA al formato AAAA-MM-GG?", '''
from datetime import datetime


def data_in_iso(data: str) -> str:
    """Converte una data GG/MM/AAAA nel formato ISO."""
    return datetime.strptime(data, "%d/%m/%Y").date().isoformat()
''', (["25/12/2024"], "2024-12-25"), (["01/02/2003"], "2003-02-01"))

t("Converti in codice Python: Scrivi una data ISO nel formato italiano GG/MM/AAAA", '''
from datetime import date


def data_all_italiana(data: str) -> str:
    """Converte una data AAAA-MM-GG nel formato GG/MM/AAAA."""
    return date.fromisoformat(data).strftime("%d/%m/%Y")
''', (["2024-12-25"], "25/12/2024"), (["2003-02-01"], "01/02/2003"))

t("Converti in python: Stabilisci se una data cade nel fine settimana", '''
from datetime import date


def e_weekend(data: str) -> bool:
    """Dice se la data AAAA-MM-GG è sabato o domenica."""
    return date.fromisoformat(data).weekday() >= 5
''', (["2024-06-15"], True), (["2024-06-17"], False))

t("In Python: Calcola quanti giorni ha un mese di un certo anno", '''
import calendar


def giorni_nel_mese(anno: int, mese: int) -> int:
    """Restituisce il numero di giorni del mese."""
    return calendar.monthrange(anno, mese)[1]
''', ([2024, 2], 29), ([2023, 2], 28), ([2024, 4], 30))

t("Converti in python: Restituisci il nome italiano di un mese dato il numero", '''
def nome_mese(numero: int) -> str:
    """Restituisce il nome del mese da 1 a 12."""
    mesi = ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio",
            "agosto", "settembre", "ottobre", "novembre", "dicembre"]
    return mesi[numero - 1]
''', ([1], "gennaio"), ([8], "agosto"), ([12], "dicembre"))

t("Converti in Python: Calcola i giorni mancanti a Natale da una data", '''
from datetime import date


def giorni_a_natale(data: str) -> int:
    """Conta i giorni dalla data AAAA-MM-GG al 25 dicembre dello stesso anno."""
    oggi = date.fromisoformat(data)
    return (date(oggi.year, 12, 25) - oggi).days
''', (["2024-12-01"], 24), (["2024-12-25"], 0))

t("Mi serve una funzione Python che calcoli il numero della settimana ISO di una data", '''
from datetime import date


def settimana_iso(data: str) -> int:
    """Restituisce il numero della settimana ISO della data."""
    return date.fromisoformat(data).isocalendar()[1]
''', (["2024-01-01"], 1), (["2024-12-30"], 1), (["2024-06-15"], 24))

t("Converti in python: Calcola la scadenza di una fattura a 30 giorni dalla data di emissione", '''
from datetime import date, timedelta


def scadenza_fattura(emissione: str) -> str:
    """Restituisce la data di scadenza a 30 giorni in formato AAAA-MM-GG."""
    return (date.fromisoformat(emissione) + timedelta(days=30)).isoformat()
''', (["2024-01-15"], "2024-02-14"), (["2024-12-10"], "2025-01-09"))

t("Traduci in Python: Calcola i minuti trascorsi tra due orari dello stesso giorno", '''
from datetime import datetime


def minuti_tra_orari(inizio: str, fine: str) -> int:
    """Conta i minuti tra due orari nel formato HH:MM."""
    formato = "%H:%M"
    delta = datetime.strptime(fine, formato) - datetime.strptime(inizio, formato)
    return int(delta.total_seconds() // 60)
''', (["09:15", "10:45"], 90), (["08:00", "08:00"], 0))

t("Converti in python: Dice in quale trimestre dell'anno cade una data", '''
from datetime import date


def trimestre(data: str) -> int:
    """Restituisce il trimestre, da 1 a 4, della data AAAA-MM-GG."""
    return (date.fromisoformat(data).month - 1) // 3 + 1
''', (["2024-02-10"], 1), (["2024-07-01"], 3), (["2024-12-31"], 4))

t("Python: Conta i giorni lavorativi tra due date escludendo sabato e domenica", '''
from datetime import date, timedelta


def giorni_lavorativi(inizio: str, fine: str) -> int:
    """Conta i giorni da lunedì a venerdì tra inizio incluso e fine esclusa."""
    primo = date.fromisoformat(inizio)
    giorni = (date.fromisoformat(fine) - primo).days
    return sum((primo + timedelta(days=k)).weekday() < 5 for k in range(giorni))
''', (["2024-06-10", "2024-06-17"], 5), (["2024-06-15", "2024-06-17"], 0), (["2024-06-14", "2024-06-14"], 0))

t("Converti in python: Restituisci l'ultimo giorno del mese di una data", '''
import calendar
from datetime import date


def fine_mese(data: str) -> str:
    """Restituisce l'ultimo giorno del mese della data, in formato AAAA-MM-GG."""
    d = date.fromisoformat(data)
    return d.replace(day=calendar.monthrange(d.year, d.month)[1]).isoformat()
''', (["2024-02-10"], "2024-02-29"), (["2023-11-05"], "2023-11-30"))

t("Scrivi in Python: Stabilisci se una data è precedente a un'altra", '''
from datetime import date


def e_precedente(prima: str, seconda: str) -> bool:
    """Dice se la prima data AAAA-MM-GG viene prima della seconda."""
    return date.fromisoformat(prima) < date.fromisoformat(seconda)
''', (["2024-01-01", "2024-01-02"], True), (["2024-05-01", "2023-05-01"], False))

t("Quale giorno dell'anno è una certa data? Scrivilo in Python.", '''
from datetime import date


def giorno_dell_anno(data: str) -> int:
    """Restituisce la posizione del giorno nell'anno, da 1 a 366."""
    return date.fromisoformat(data).timetuple().tm_yday
''', (["2024-01-01"], 1), (["2024-03-01"], 61), (["2023-12-31"], 365))

t("converti in python: ordina una lista di date dalla più recente alla più vecchia", '''
from datetime import date


def ordina_date_recenti(date_iso: list[str]) -> list[str]:
    """Ordina le date AAAA-MM-GG dalla più recente."""
    return sorted(date_iso, key=date.fromisoformat, reverse=True)
''', ([["2023-05-01", "2024-01-10", "2022-12-31"]], ["2024-01-10", "2023-05-01", "2022-12-31"]),
  ([["2024-03-01", "2024-02-29"]], ["2024-03-01", "2024-02-29"]))

t("Converti in python: Converti un timestamp Unix in data e ora UTC", '''
from datetime import datetime, timezone


def da_timestamp(secondi: int) -> str:
    """Converte un timestamp Unix in 'AAAA-MM-GG HH:MM' UTC."""
    return datetime.fromtimestamp(secondi, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
''', ([0], "1970-01-01 00:00"), ([86400], "1970-01-02 00:00"))

# --- Algorithms and misc -------------------------------------------------------------------
t("Converti in codice Python: Scomponi un resto in centesimi in monete da 200, 100, 50, 20 e 10 centesimi", '''
def monete_resto(centesimi: int) -> dict[str, int]:
    """Scompone il resto in centesimi nel numero di monete per taglio."""
    risultato = {}
    for taglio in (200, 100, 50, 20, 10):
        quante, centesimi = divmod(centesimi, taglio)
        if quante:
            risultato[str(taglio)] = quante
    return risultato
''', ([380], {"200": 1, "100": 1, "50": 1, "20": 1, "10": 1}), ([400], {"200": 2}), ([0], {}))

t("Converti in python: Verifica se le parentesi di un'espressione sono bilanciate", '''
def parentesi_bilanciate(espressione: str) -> bool:
    """Controlla che tonde, quadre e graffe siano bilanciate."""
    coppie = {")": "(", "]": "[", "}": "{"}
    pila = []
    for c in espressione:
        if c in "([{":
            pila.append(c)
        elif c in coppie and (not pila or pila.pop() != coppie[c]):
            return False
    return not pila
''', (["(a[b]{c})"], True), (["(]"], False), (["(("], False))

t("In Python: Genera i primi n numeri della sequenza di Fibonacci", '''
def sequenza_fibonacci(n: int) -> list[int]:
    """Restituisce i primi n numeri di Fibonacci partendo da 0."""
    sequenza, a, b = [], 0, 1
    for _ in range(n):
        sequenza.append(a)
        a, b = b, a + b
    return sequenza
''', ([6], [0, 1, 1, 2, 3, 5]), ([0], []), ([1], [0]))

t("Converti in python: Comprimi una stringa con la codifica run-length", '''
def codifica_rle(testo: str) -> str:
    """Scrive ogni carattere seguito dal numero di ripetizioni consecutive."""
    risultato, i = "", 0
    while i < len(testo):
        j = i
        while j < len(testo) and testo[j] == testo[i]:
            j += 1
        risultato += f"{testo[i]}{j - i}"
        i = j
    return risultato
''', (["aaabcc"], "a3b1c2"), ([""], ""), (["z"], "z1"))

t("Converti in Python: Calcola la sequenza di Collatz a partire da un numero", '''
def sequenza_collatz(n: int) -> list[int]:
    """Restituisce la sequenza di Collatz da n fino a 1."""
    sequenza = [n]
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        sequenza.append(n)
    return sequenza
''', ([6], [6, 3, 10, 5, 16, 8, 4, 2, 1]), ([1], [1]))

t("Scrivi una funzione Python che verifichi un codice con l'algoritmo di Luhn", '''
def luhn_valido(numero: str) -> bool:
    """Verifica la cifra di controllo di Luhn."""
    totale = 0
    for i, c in enumerate(reversed(numero)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        totale += d
    return totale % 10 == 0
''', (["79927398713"], True), (["79927398710"], False))

t("Converti in python: Calcola i fattori primi di un numero", '''
def fattori_primi(n: int) -> list[int]:
    """Scompone n nei suoi fattori primi, con ripetizioni."""
    fattori, d = [], 2
    while n > 1:
        while n % d == 0:
            fattori.append(d)
            n //= d
        d += 1
    return fattori
''', ([60], [2, 2, 3, 5]), ([13], [13]), ([1], []))

t("Traduci in Python: Genera il triangolo di Tartaglia fino alla riga n", '''
import math


def triangolo_tartaglia(n: int) -> list[list[int]]:
    """Restituisce le prime n righe del triangolo di Tartaglia."""
    return [[math.comb(i, j) for j in range(i + 1)] for i in range(n)]
''', ([4], [[1], [1, 1], [1, 2, 1], [1, 3, 3, 1]]), ([0], []))

t("Converti in python: Calcola il punteggio di una parola sommando la posizione delle lettere nell'alfabeto", '''
def punteggio_parola(parola: str) -> int:
    """Somma le posizioni alfabetiche delle lettere, con a = 1."""
    return sum(ord(c) - 96 for c in parola.lower() if c.isalpha())
''', (["abc"], 6), (["Zz"], 52), ([""], 0))

t("Python: Calcola la somma massima di una sottosequenza contigua di numeri", '''
def somma_massima_contigua(numeri: list[int]) -> int:
    """Calcola la somma massima di un tratto contiguo (algoritmo di Kadane)."""
    migliore = corrente = numeri[0]
    for x in numeri[1:]:
        corrente = max(x, corrente + x)
        migliore = max(migliore, corrente)
    return migliore
''', ([[-2, 1, -3, 4, -1, 2, 1, -5, 4]], 6), ([[-3, -1]], -1))

t("Mi serve in Python la distanza di Hamming tra due stringhe lunghe uguali.", '''
def distanza_hamming(a: str, b: str) -> int:
    """Conta le posizioni in cui a e b differiscono."""
    return sum(x != y for x, y in zip(a, b))
''', (["karolin", "kathrin"], 3), (["abc", "abc"], 0))

t("Scrivi in Python: Traduci un punteggio da 0 a 100 in un giudizio: ottimo, buono, sufficiente o insufficiente", '''
def giudizio(punteggio: int) -> str:
    """Traduce il punteggio in un giudizio scolastico."""
    if punteggio >= 90:
        return "ottimo"
    if punteggio >= 75:
        return "buono"
    if punteggio >= 60:
        return "sufficiente"
    return "insufficiente"
''', ([95], "ottimo"), ([80], "buono"), ([60], "sufficiente"), ([10], "insufficiente"))

t("Converti in python: Calcola le spese di spedizione: 4,90 euro, gratuite da 50 euro in su", '''
def spese_spedizione(totale_ordine: float) -> float:
    """Restituisce 4.90 euro di spedizione, o 0 per ordini da 50 euro in su."""
    return 0.0 if totale_ordine >= 50 else 4.9
''', ([49.99], 4.9), ([50], 0.0), ([120], 0.0))

t("converti in python: calcola lo stipendio netto applicando un'aliquota fissa", '''
def stipendio_netto(lordo: float, aliquota: float) -> float:
    """Sottrae al lordo l'imposta con aliquota percentuale, arrotondando ai centesimi."""
    return round(lordo * (1 - aliquota / 100), 2)
''', ([2000, 23], 1540.0), ([1000, 0], 1000.0))

t("Converti in python: Calcola il codice di controllo EAN-13 di un codice a barre di 12 cifre", '''
def cifra_controllo_ean(codice: str) -> int:
    """Calcola la tredicesima cifra di controllo di un codice EAN."""
    somma = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(codice))
    return (10 - somma % 10) % 10
''', (["400638133393"], 1), (["800123456789"], 7))

t("Converti in codice Python: Restituisci la stagione di un mese", '''
def stagione(mese: int) -> str:
    """Restituisce la stagione meteorologica del mese da 1 a 12."""
    if mese in (12, 1, 2):
        return "inverno"
    if mese in (3, 4, 5):
        return "primavera"
    if mese in (6, 7, 8):
        return "estate"
    return "autunno"
''', ([1], "inverno"), ([4], "primavera"), ([7], "estate"), ([10], "autunno"))

t("Converti in python: Calcola il consumo medio di un'auto in litri per 100 km", '''
def consumo_medio(litri: float, km: float) -> float:
    """Calcola i litri ogni 100 km, con un decimale."""
    return round(litri / km * 100, 1)
''', ([30, 500], 6.0), ([45, 600], 7.5))

t("In Python: Dividi una spesa tra amici arrotondando ai centesimi", '''
def quota_a_testa(totale: float, persone: int) -> float:
    """Divide il totale in parti uguali arrotondate ai centesimi."""
    return round(totale / persone, 2)
''', ([100, 4], 25.0), ([10, 3], 3.33))

t("Converti in python: Calcola il tempo di percorrenza in minuti data distanza e velocità media", '''
def minuti_di_viaggio(km: float, velocita_kmh: float) -> int:
    """Calcola i minuti necessari arrotondati all'intero più vicino."""
    return round(km / velocita_kmh * 60)
''', ([120, 80], 90), ([10, 60], 10))
