"""ftlab.datasets: streaming with line-precise errors, writing, legacy conversion, split, dedupe."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ftlab import datasets as D


def write(tmp_path, data: bytes, name="f.jsonl"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_iter_jsonl_reports_each_bad_line_with_its_number(tmp_path):
    p = write(tmp_path, b'{"a": 1}\n\n{"a": \n[1]\n\xff\xfe\n{"b": NaN}\n{"c": 3}')
    rows = list(D.iter_jsonl(p))
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    codes = [r[2].code if r[2] else None for r in rows]
    assert codes == [None, "blank_line", "invalid_json", None, "invalid_utf8", "invalid_json", None]
    assert rows[3][1] == [1] and rows[6][1] == {"c": 3}
    assert rows[4][2].column == 1


def test_iter_jsonl_handles_bom_and_crlf(tmp_path):
    p = write(tmp_path, b'\xef\xbb\xbf{"a": 1}\r\n{"a": 2}\r\n')
    assert [v for _, v, e in D.iter_jsonl(p)] == [{"a": 1}, {"a": 2}]


def test_iter_jsonl_bounds_huge_lines(tmp_path):
    p = write(tmp_path, b'{"a": 1}\n' + b"x" * 5000 + b'\n{"a": 2}\n')
    rows = list(D.iter_jsonl(p, max_line_bytes=1000))
    assert rows[1][2].code == "line_too_long" and rows[1][0] == 2
    assert rows[2] == (3, {"a": 2}, None)


def test_deep_nesting_is_an_error_not_a_crash():
    value, error = D.parse_line(b"[" * 100_000 + b"]" * 100_000, 4)
    assert value is None and error.code == "invalid_json" and error.line == 4


_TRICKY_LINES = [
    b'{"a": 1, "a": 2}', b'{"n": 123456789012345678901234567890}', b'{"n": -9223372036854775809}',
    b'[1e400]', b'["\\ud800"]', b'"\\udc00\\ud800"', b'"a\x01b"', b'NaN', b'[Infinity]', b'[-Infinity]',
    b' {} ', b'\x0c{}', b'{}\x0c', b'[1,]', b'"\xed\xa0\x80"', b'\xff', b'-0', b'[-0.0]', b'1.0000000000000002',
    b'{"a": "\\u0000"}', b'[' * 2000 + b']' * 2000, b'\xef\xbb\xbf{}', b'01', b'{"a" : 1 }', b'"\x7f"', b'',
    b'  ', b'{"messages": [{"role": "user", "content": "perch\xc3\xa9"}]}', b'{"a": 1}\r', b"{'a': 1}",
]


@pytest.mark.parametrize("line_no", [1, 2])
def test_fast_json_path_gives_the_same_values_and_errors(monkeypatch, line_no):
    fast = [D.parse_line(raw, line_no) for raw in _TRICKY_LINES]
    monkeypatch.setattr(D, "_fast_loads", None)  # the standard json path only
    slow = [D.parse_line(raw, line_no) for raw in _TRICKY_LINES]
    for raw, (fv, fe), (sv, se) in zip(_TRICKY_LINES, fast, slow):
        assert repr(fv) == repr(sv) and fe == se, raw[:40]  # repr: NaN-safe, int vs float visible


def test_read_jsonl_raises_on_first_bad_line(tmp_path):
    p = write(tmp_path, b'{"a": 1}\n\n{"a": 2}\n{oops}\n')
    with pytest.raises(D.DatasetError) as info:
        D.read_jsonl(p)
    assert info.value.error.line == 4
    assert D.read_jsonl(write(tmp_path, b'{"a": 1}\n\n{"a": 2}\n', "ok.jsonl")) == [{"a": 1}, {"a": 2}]


def test_write_jsonl_is_utf8_lf_and_round_trips(tmp_path):
    records = [{"t": "perché è così"}, {"t": "a\nb"}]
    p = D.write_jsonl(records, tmp_path / "sub" / "out.jsonl")
    raw = p.read_bytes()
    assert "perché".encode() in raw and b"\r" not in raw and raw.count(b"\n") == 2
    assert D.read_jsonl(p) == records
    assert not [f for f in p.parent.iterdir() if f.name.endswith(".tmp")]


def test_legacy_to_chat_strips_separator_and_end_marker():
    ex = D.legacy_to_chat("Somma due numeri\n\n###\n\n", " def somma(a, b): return a + b\n\nEND", system="Sei utile.")
    assert ex == {"messages": [{"role": "system", "content": "Sei utile."},
                               {"role": "user", "content": "Somma due numeri"},
                               {"role": "assistant", "content": "def somma(a, b): return a + b"}]}
    assert [m["role"] for m in D.convert_legacy([{"prompt": "a ->", "completion": " b END"}])[0]["messages"]] == ["user", "assistant"]
    assert D.legacy_to_chat("a", "BEND")["messages"][1]["content"] == "B"  # documented: only the marker is removed


def test_split_is_deterministic_and_complete():
    data = [{"i": i} for i in range(100)]
    a = D.split(data, seed=1)
    assert a == D.split(list(data), seed=1)
    assert [len(x) for x in a] == [80, 10, 10]
    assert sorted(x["i"] for part in a for x in part) == list(range(100))
    assert a != D.split(data, seed=2)
    with pytest.raises(ValueError):
        D.split(data, fractions=(0.5, 0.2, 0.2))


def test_split_does_not_depend_on_python_hash_seed():
    code = ("import json; from ftlab.datasets import split; "
            "print(json.dumps(split([{'t': str(i)} for i in range(30)], seed=7)))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=dict(os.environ, PYTHONHASHSEED=s)).stdout for s in ("1", "2")}
    assert len(outs) == 1


def test_normalize_text_and_example_text():
    assert D.normalize_text("  Ciao,   MONDO!\n") == "ciao mondo"
    ex = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": None, "tool_calls": []}]}
    assert D.example_text(ex) == "a"
    assert D.example_text({"prompt": "p", "completion": "c"}) == "p\nc"
    assert D.example_text(5) == ""


def chat(text):
    return {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]}


def test_find_duplicates_exact_and_near():
    base = "scrivi una funzione python che calcola la somma di tutti i numeri pari presenti in una lista di interi"
    examples = [chat(base), chat(base.upper() + "  "), chat(base + " grazie"), chat("tutt'altra richiesta qui")]
    frame = D.find_duplicates(examples, threshold=0.8)  # one extra word in ~20: Jaccard 0.85
    assert list(frame.columns) == ["i", "j", "kind", "similarity"]
    rows = {(r.i, r.j): r.kind for r in frame.itertuples()}
    assert rows[(0, 1)] == "exact"
    assert rows[(0, 2)] == "near" and (1, 2) in rows
    assert not any(3 in pair for pair in rows)
    assert set(D.find_duplicates(examples, near=False)["kind"]) == {"exact"}
    assert (0, 2) not in {(r.i, r.j) for r in D.find_duplicates(examples).itertuples()}  # 0.85 < 0.9
