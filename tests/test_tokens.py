"""ftlab.tokens: offline verified encodings, token counts, epochs, prices and costs."""
from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from ftlab import tokens as T


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network access attempted")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_encodings_are_built_offline_with_known_ids(no_network):
    T.get_encoding.cache_clear()
    assert T.get_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]
    assert T.get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert T.get_encoding("o200k_base").n_vocab == 200019


def test_rank_files_match_the_hash_tiktoken_expects():
    import hashlib
    import tiktoken_ext.openai_public as op
    source = Path(op.__file__).read_text()
    for name in T.ENCODINGS:
        expected = re.search(name + r'\.tiktoken",\s*expected_hash="([0-9a-f]{64})"', source).group(1)
        assert hashlib.sha256(T._rank_bytes(name)).hexdigest() == expected


def test_tampered_ranks_are_refused(monkeypatch):
    T.get_encoding.cache_clear()
    monkeypatch.setattr(T, "_rank_bytes", lambda name: b"AA== 0\n")
    with pytest.raises(T.EncodingCheckError):
        T.get_encoding("cl100k_base")
    T.get_encoding.cache_clear()


def test_encoding_for_model():
    assert T.encoding_for_model("gpt-4.1-nano-2025-04-14").name == "o200k_base"
    assert T.encoding_for_model("ft:gpt-4o-mini-2024-07-18:org::abc").name == "o200k_base"
    assert T.encoding_for_model("gpt-3.5-turbo-0125").name == "cl100k_base"


def test_example_tokens_follows_the_cookbook_formula():
    enc = T.get_encoding()
    msgs = [{"role": "system", "content": "Sei un assistente."}, {"role": "user", "content": "Ciao", "name": "mario"}]
    expected = 3 + sum(3 + sum(len(enc.encode(v)) for v in m.values()) + ("name" in m) for m in msgs)
    assert T.example_tokens({"messages": msgs}) == expected
    weighted = {"messages": msgs + [{"role": "assistant", "content": "Ciao!", "weight": 1}]}
    assert T.example_tokens(weighted) == expected + 3 + 1 + len(enc.encode("Ciao!"))
    assert T.example_tokens({"messages": msgs}, T.get_encoding("cl100k_base")) > 0
    assert T.example_tokens({"prompt": "ab", "completion": "cd"}) == len(enc.encode("ab")) + len(enc.encode("cd"))
    assert T.example_tokens("not an example") == 0


# Pieces chosen to stress tiktoken's piece regex: every kind of Unicode space, runs of newlines,
# "/" after a newline, contractions, digits, marks, surrogates and characters Python alone
# calls spaces (\x1c-\x1f).
_AWKWARD = [" ", "  ", "\n", "\n\n", "\r\n", "\r", "\t", "\v", "\f", "\x85", "\xa0", "\u3000", "\u2028",
            "\u2029", "\u200b", "\u180e", "\x1c", "\x1f", "/", "//", "'s", "'LL", "'", "a", "Ab", "ÉTÉ", "è",
            "123", "4567", ".", "!?", "):", "😀", "\ud83d", "\ude00", "日本", "x_1", "-", "—", "(", "\u0301", "ǅ",
            "ʰ", "Ⅻ", "٣", "def", "return", "    "]


@pytest.mark.parametrize("name", T.ENCODINGS)
def test_segment_counts_equal_tiktoken(name):
    import random
    rng = random.Random(7)
    enc = T.get_encoding(name)
    counter = T.TokenCounter(enc)
    words = ["il", "la", "Perché", "è", "x0", "=", "95", "+", "len('dati')", "):", "#", "//"]
    for _ in range(5_000):
        awkward = "".join(rng.choice(_AWKWARD) for _ in range(rng.randint(1, 30)))
        plain = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))  # the fast path
        # only " " and "\n" between words, in runs: indented code (the marked-spaces path)
        code = "".join(rng.choice(words + [" ", "  ", "   ", "\n", "\n\n", "    ", " \n "])
                       for _ in range(rng.randint(1, 30)))
        for text in (awkward, plain, code, " " + plain, plain + " ", "    " + plain + "\n" + plain):
            assert counter.count(text) == len(enc.encode_ordinary(text)), repr(text)
    for path in (Path(__file__).parent.parent / "data").rglob("*.jsonl"):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert counter.count(text) == len(enc.encode_ordinary(text)), path


def test_token_stats():
    s = T.token_stats([10, 1, 2, 3, 4])
    assert s == {"min": 1, "max": 10, "mean": 4.0, "median": 3.0, "p10": 1.4, "p90": 7.6, "total": 20, "n": 5}
    assert T.token_stats([])["n"] == 0


@pytest.mark.parametrize("n, epochs", [(1, 25), (3, 25), (10, 10), (20, 5), (25, 4), (40, 3), (5000, 3), (10000, 2), (30000, 1)])
def test_default_epochs(n, epochs):
    assert T.default_epochs(n) == epochs


def test_billed_tokens_caps_each_example():
    assert T.billed_tokens([100, 70_000], epochs=2, cap=65_536) == 2 * (100 + 65_536)


def test_prices_are_dated_and_aliased():
    table = T.load_prices()
    assert table["source"] and table["date"].startswith("2026")
    nano = T.price("gpt-4.1-nano")
    assert nano == T.price("ft:gpt-4.1-nano-2025-04-14:acme::abc123") == T.price("gpt-4.1-nano-2025-04-14")
    assert nano["training"] == 1.5 and nano["ft_output"] == 0.8
    with pytest.raises(KeyError):
        T.price("davinci-002")


def test_token_limits():
    assert T.token_limit("gpt-4o-mini-2024-07-18") == 65_536
    assert T.token_limit("gpt-3.5-turbo-0125") == 16_385
    assert T.token_limit("some-future-model") == 65_536


def test_estimate_training_beside_the_course_figure():
    est = T.estimate_training([1000] * 20, "gpt-4.1-nano-2025-04-14")
    assert (est.n_examples, est.epochs, est.billed_tokens) == (20, 5, 100_000)
    assert est.cost_usd == pytest.approx(0.15)          # $1.50 / 1M
    assert est.course_cost_usd == pytest.approx(0.6)    # the course's $0.006 / 1K
    assert T.estimate_training([1000] * 20, epochs=1).billed_tokens == 20_000


def test_inference_cost_fine_tuned_is_twice_base():
    base = T.inference_cost(1_000_000, 1_000_000, "gpt-4.1-nano", fine_tuned=False)
    ft = T.inference_cost(1_000_000, 1_000_000, "gpt-4.1-nano", fine_tuned=True)
    assert base == pytest.approx(0.5) and ft == pytest.approx(1.0)
    table = T.price_table()
    nano = table.set_index("model").loc["gpt-4.1-nano-2025-04-14"]
    assert nano.ft_vs_base_output == 2.0 and nano.ft_vs_base_input == 2.0  # the course says 1.1-1.5
    assert (table["training_per_1k"] < table["course_training_per_1k"]).any()
