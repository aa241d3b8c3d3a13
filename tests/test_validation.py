"""ftlab.validation: every code fails on a bad file and stays quiet on the fixed one; bad input
never raises; the report's API; the parallel path agrees with the in-process one."""
from __future__ import annotations

import hashlib
import importlib.util
import json

import pytest

from ftlab import paths
from ftlab import validation as V

ESEMPI = paths.DATA_DIR / "esempi_errati"
_spec = importlib.util.spec_from_file_location("genera", ESEMPI / "genera.py")
G = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(G)


def _kwargs(kw):
    kw = dict(kw)
    if isinstance(kw.get("label"), str):
        kw["label"] = V.FirstLineLabel(kw["label"])
    return kw


def _write(tmp_path, name, data: bytes, meta: bytes | None = None):
    p = tmp_path / f"{name}.jsonl"
    p.write_bytes(data)
    if meta is not None:
        (tmp_path / f"{name}_meta.jsonl").write_bytes(meta)
    return p


def test_every_code_has_a_case_or_a_documented_reason():
    assert set(V.CODES) == set(G.CASES) | set(G.NO_FILE)
    assert set(V.FIXES) == set(V.CODES)
    for code, (severity, it, en, desc) in V.CODES.items():
        assert severity in ("error", "warning", "info") and it and en and desc


@pytest.mark.parametrize("code", sorted(G.CASES))
def test_code_fails_on_bad_file_and_passes_on_fixed_one(code, tmp_path):
    _, bad, good, kw = G.CASES[code]
    meta = G.META.get(code, (None, None))
    bad_report = V.validate(_write(tmp_path, "bad", bad, meta[0]), **_kwargs(kw))
    good_report = V.validate(_write(tmp_path, "good", good, meta[1]), **_kwargs(kw))
    assert bad_report.counts.get(code, 0) > 0, bad_report.summary()
    assert code not in good_report.counts, good_report.summary()
    issue = next(i for i in bad_report.issues if i.code == code)
    assert issue.severity == V.CODES[code][0] and issue.message
    if V.CODES[code][0] == "error":
        assert not bad_report.ok
    assert good_report.ok, good_report.summary()


@pytest.mark.parametrize("code", sorted(G.CASES))
def test_committed_example_files_are_in_sync(code):
    assert (ESEMPI / f"{code}.jsonl").read_bytes() == G.CASES[code][1]
    assert f"`{code}.jsonl`" in (ESEMPI / "README.md").read_text(encoding="utf-8")


def test_validation_leakage_fails_and_passes(tmp_path):
    train, leaked, clean = G.LEAKAGE
    t = _write(tmp_path, "t", train)
    bad = V.validate(t, validation_file=_write(tmp_path, "v1", leaked))
    good = V.validate(t, validation_file=_write(tmp_path, "v2", clean))
    leak = [i for i in bad.issues if i.code == "validation_leakage"]
    assert leak and leak[0].file == "validation" and leak[0].line == 1 and "riga 1" in leak[0].message
    assert "validation_leakage" not in good.counts
    assert bad.job_error() is None  # warnings never fail a job


def test_validation_file_errors_count(tmp_path):
    train, _, _ = G.LEAKAGE
    r = V.validate(_write(tmp_path, "t", train), validation_file=_write(tmp_path, "v", b"{bad\n"))
    assert not r.ok and r.issues[-1].file == "validation" and r.issues[-1].code == "invalid_json"


def test_too_many_tokens_fails_and_passes(tmp_path):
    long = G.chat(0, user="parola " * 70_000)
    bad = V.validate([long] + G.good(10, 1))
    assert bad.counts["too_many_tokens"] == 1 and bad.ok  # truncated by OpenAI, not rejected
    issue = next(i for i in bad.issues if i.code == "too_many_tokens")
    assert issue.line == 1 and "65536" in issue.message
    assert "too_many_tokens" not in V.validate(G.good(11)).counts
    small = V.validate([G.chat(0, user="parola " * 20_000)] + G.good(10, 1), model="gpt-3.5-turbo-0125")
    assert small.counts["too_many_tokens"] == 1  # its limit is 16,385


def test_near_duplicates_skipped_on_large_files(tmp_path, monkeypatch):
    p = _write(tmp_path, "f", G.lines(G.good(12)))
    assert "near_duplicates_skipped" not in V.validate(p).counts
    monkeypatch.setattr(V.checks, "NEAR_DUP_MAX_BYTES", 100)
    assert V.validate(p).counts["near_duplicates_skipped"] == 1


def test_line_too_long_50mb_single_line(tmp_path):
    p = tmp_path / "huge.jsonl"
    with open(p, "wb") as f:
        f.write(G.lines(G.good(5)))
        f.write(b'{"messages": [{"role": "user", "content": "' + b"a" * (50 << 20) + b'"}]}\n')
        f.write(G.lines(G.good(5, 5)))
    r = V.validate(p)
    assert r.counts["line_too_long"] == 1 and r.n_lines == 11 and r.n_examples == 10
    assert next(i for i in r.issues if i.code == "line_too_long").line == 6


BAD_INPUT = {
    "malformed": b'{"messages": [}\n',
    "bom_crlf_blank": b'\xef\xbb\xbf{"messages": []}\r\n\r\n',
    "invalid_utf8": b'{"messages": "\xc3\x28"}\n',
    "non_object": b'42\n"text"\nnull\ntrue\n[]\n',
    "numbers": b'{"messages": [{"role": 1, "content": 2, "name": 3, "weight": "1"}], "tools": 5}\n',
    "deep": b"[" * 200_000 + b"]" * 200_000 + b"\n" + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"\n",
    "junk": b'{"messages": [{"role": "assistant", "tool_calls": [null, 1], "content": {"x": [1]}}], "input": 3}\n',
    "nan": b'{"messages": NaN}\n',
    "no_newline_at_end": b'{"messages": [{"role": "user", "content": "x"}]}',
    "dpo_junk": b'{"input": [], "preferred_output": {"x": 1}, "non_preferred_output": [null]}\n',
    "odd_ids": b'{"messages": [{"role": "tool", "tool_call_id": [1], "content": "x"}, {"role": "user", "content": [1]}]}\n',
    "deep_but_parsable": b'{"messages": [{"role": "user", "content": ' + b'[' * 900 + b']' * 900 + b'}]}\n',
    "utf16": "{\"messages\": []}\n".encode("utf-16"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input_gives_coded_errors_and_is_not_modified(name, tmp_path):
    p = _write(tmp_path, name, BAD_INPUT[name])
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    r = V.validate(p)
    assert not r.ok and r.errors
    assert all(i.code in V.CODES for i in r.issues)
    assert any(i.line == 1 for i in r.issues)
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before
    json.loads(r.to_json())
    r._repr_html_()
    r.summary()


def test_unhashable_labels_do_not_crash():
    r = V.validate(G.good(10), label=lambda ex: [1, 2])
    assert r.label_counts == {"[1, 2]": 10}


def test_bad_input_line_numbers(tmp_path):
    r = V.validate(_write(tmp_path, "x", BAD_INPUT["non_object"] + BAD_INPUT["bom_crlf_blank"]))
    data_type = [i.line for i in r.issues if i.code == "data_type"]
    assert data_type == [1, 2, 3, 4, 5]
    assert [i.line for i in r.issues if i.code == "blank_line"] == [7]
    assert "utf8_bom" not in r.counts  # a BOM only counts at the start of the file


def test_report_api(tmp_path):
    r = V.validate(ESEMPI / "too_few_examples.jsonl")
    assert r.format == "chat" and r.n_examples == 7 and len(r.token_counts) == 7
    assert set(r.token_stats) == {"min", "max", "mean", "median", "p10", "p90", "total", "n"}
    frame = r.to_frame()
    assert list(frame.columns) == ["code", "severity", "file", "line", "message_index", "message"]
    assert frame.loc[0, "code"] == "too_few_examples"
    assert "esempi" in r.summary() and "Da correggere" in r.summary()
    d = json.loads(r.to_json())
    assert d["ok"] is False and d["counts"]["too_few_examples"] == 1
    assert "<table>" in r._repr_html_()


def test_messages_switch_to_english(monkeypatch):
    monkeypatch.setenv("FTLAB_LANG", "en")
    r = V.validate(G.good(7))
    assert r.issues[0].message == "Too few examples (7): OpenAI requires at least 10."
    assert "examples" in r.summary()


def test_summary_nouns_agree_with_numbers(monkeypatch):
    one = V.validate(G.good(11) + [G.with_message(11, name=5)])  # invalid_name, few_examples
    clean = V.validate([G.chat(i, user=f"Scrivi la funzione numero {i} per la lista.") for i in range(60)])
    assert ": 12 esempi (chat), 1 errore, 1 avviso." in one.summary()
    assert ": 60 esempi (chat), 0 errori, 0 avvisi." in clean.summary()
    assert ": 1 esempio (chat), " in V.validate([G.chat(0)]).summary()
    monkeypatch.setenv("FTLAB_LANG", "en")
    assert ": 12 examples (chat), 1 error, 1 warning." in one.summary()
    assert ": 60 examples (chat), 0 errors, 0 warnings." in clean.summary()


def test_job_error_like_openai():
    assert V.validate(G.good(10)).job_error() is None
    assert V.validate(G.good(7)).job_error() == {
        "code": "invalid_n_examples", "param": "training_file",
        "message": "Training file has 7 example(s), but must have at least 10 examples"}
    bad = G.good(10)
    bad[2] = G.with_message(2, role=None)
    err = V.validate(bad).job_error()
    assert err["code"] == "invalid_training_file"
    assert err["message"] == "Invalid file format. Example 3, message 3 Discriminator 'role' is missing in value"
    legacy = V.validate(ESEMPI / "legacy_format.jsonl").job_error()
    assert legacy == {"code": "invalid_file_format", "param": "training_file",
                      "message": "Unexpected file format, expected either prompt/completion pairs or chat messages."}
    assert V.validate(ESEMPI / "invalid_json.jsonl").job_error()["code"] == "invalid_file_format"
    assert V.validate(ESEMPI / "example_weight.jsonl").job_error()["message"] == \
        'Invalid file format. Example 1 contains an extra "weight"'
    assert V.validate(ESEMPI / "empty_file.jsonl").job_error()["message"] == \
        "Training file has 0 example(s), but must have at least 10 examples"
    mismatch = V.validate(ESEMPI / "method_mismatch.jsonl", method="dpo").job_error()
    assert mismatch["code"] == "invalid_training_file" and "expects dpo data" in mismatch["message"]


def test_formats_detected():
    assert V.validate([G.dpo()] * 10, near_duplicates=False).format == "dpo"
    assert V.validate(G.good(10)).format == "chat"
    assert V.validate(ESEMPI / "legacy_format.jsonl").format == "legacy"
    assert V.validate(G.good(10), method={"type": "supervised"}).ok
    assert V.validate([G.tool_example()] + G.good(9, 1)).ok  # tool messages are valid (the cookbook rejects them)


def test_class_balance_by_label_function_metadata_or_key(tmp_path):
    by_fn = V.validate(G.labelled(G.UNBALANCED), label=V.FirstLineLabel("Categoria:"))
    assert by_fn.label_counts == {"resi": 10, "pagamenti": 1, "spedizioni": 1}
    meta = [{"line": k, "category": lab} for k, lab in enumerate(G.UNBALANCED, 1)]
    assert V.validate(G.labelled(G.UNBALANCED), label_key="category", metadata=meta).label_counts == by_fn.label_counts
    p = _write(tmp_path, "m", G.lines(G.labelled(G.UNBALANCED)), G.meta(G.UNBALANCED))
    assert V.validate(p, label_key="category").label_counts == by_fn.label_counts  # <name>_meta.jsonl found
    assert V.FirstLineLabel()({"messages": [{"role": "assistant", "content": "Categoria:  resi \nCiao"}]}) == "resi"


def test_plots_return_axes():
    import matplotlib
    matplotlib.use("Agg")
    r = V.validate(G.labelled(G.BALANCED), label=V.FirstLineLabel())
    ax = r.plot_tokens()
    assert ax.get_xlabel() == "token per esempio" and len(ax.patches) > 0
    ax = r.plot_balance()
    assert len(ax.patches) == 3
    assert V.validate(G.good(10)).plot_balance().get_title().startswith("Nessuna etichetta")


def test_parallel_scan_matches_in_process(tmp_path, monkeypatch):
    examples = G.good(60) + [G.with_message(0, role="bot"), G.chat(0)] + G.good(30, 60)
    data = G.lines(examples) + b"\n" + b"{oops\n" + G.lines(G.good(20))
    p = _write(tmp_path, "big", data)
    serial = V.validate(p)
    monkeypatch.setattr(V.scanner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(V.scanner, "CHUNK_BYTES", 2000)  # many small byte ranges
    parallel = V.validate(p, progress=True)
    assert [(i.code, i.line, i.message_index) for i in parallel.issues] == \
        [(i.code, i.line, i.message_index) for i in serial.issues]
    assert parallel.token_counts == serial.token_counts and parallel.counts == serial.counts
    assert ("invalid_json", 94) in [(i.code, i.line) for i in serial.issues]


def _mixed_file(n: int = 400) -> bytes:
    """Good, bad and awkward lines spread over the file, so every byte range gets some."""
    out = [b"\xef\xbb\xbf"]
    for i in range(n):
        kind = i % 10
        if kind == 0:
            out.append(G.lines([G.chat(i % 7)]))  # repeats: exact duplicates across ranges
        elif kind == 1:
            out.append(G.lines([G.with_message(i, role="bot")]))
        elif kind == 2:
            out.append(G.lines([G.chat(i, system=False)]).replace(b"\n", b"\r\n"))
        elif kind == 3:
            out.append(b"{oops\n" if i % 20 == 3 else b"\n")
        elif kind == 4 and i % 40 == 4:
            out.append(G.lines([G.chat(i, user="This is the English request that the other ones are not.",
                                       answer="Categoria: resi\n" + "x = 1\n" * 300)]))
        elif kind == 5:
            out.append(b"\xff\xfe bad bytes\n" if i % 20 == 5 else G.lines([G.dpo()]))
        else:
            out.append(G.lines([G.chat(i, answer=f"Categoria: {G.CATEGORIES[0 if i % 7 else 1]}\n"
                                                 f"def f{i}(x):\n    return x + {i}")]))
    return b"".join(out)


@pytest.mark.parametrize("cap", [1000, 3])
def test_parallel_report_is_identical_to_serial(tmp_path, monkeypatch, cap):
    monkeypatch.setattr(V.scanner, "ISSUES_PER_CODE", cap)
    train = _write(tmp_path, "train", _mixed_file())
    valid = _write(tmp_path, "valid", G.lines(G.good(15, 3)))
    kw = dict(validation_file=valid, label=V.FirstLineLabel())
    serial = V.validate(train, **kw)
    monkeypatch.setattr(V.scanner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(V.scanner, "CHUNK_BYTES", 3000)  # many byte ranges, cut anywhere in a line
    parallel = V.validate(train, **kw)
    assert parallel.to_dict() == serial.to_dict()
    assert parallel.token_counts == serial.token_counts and parallel.summary() == serial.summary()
    found = set(serial.counts)
    assert {"duplicate_example", "validation_leakage", "class_imbalance", "inconsistent_system_message",
            "mixed_languages", "length_outlier", "method_mismatch", "invalid_json", "invalid_utf8",
            "blank_line", "utf8_bom", "crlf_line_endings", "unrecognized_role"} <= found


def test_issue_cap_keeps_exact_counts(monkeypatch):
    monkeypatch.setattr(V.scanner, "ISSUES_PER_CODE", 3)
    r = V.validate([G.with_message(i, role="bot") for i in range(12)])
    assert r.counts["unrecognized_role"] == 12
    assert sum(i.code == "unrecognized_role" for i in r.issues) == 3


def test_docs_table_is_in_sync(monkeypatch):
    spec = importlib.util.spec_from_file_location("mk", paths.PROJECT_ROOT / "docs" / "make_validation_codes.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    monkeypatch.setenv("FTLAB_LANG", "en")
    expected = mk.render()
    assert (paths.PROJECT_ROOT / "docs" / "validation-codes.md").read_text(encoding="utf-8") == expected
    assert all(f"`{code}`" in expected for code in V.CODES)


# -- content parts (ChatCompletionRequest*Message in the OpenAPI spec) --------------------------------

def _with_user_content(content, n=10):
    ex = G.user_changed(0, content=content)
    return [ex] + G.good(n - 1, 1)


def _image(url="https://example.com/a.png", **extra):
    return {"type": "image_url", "image_url": {"url": url, **extra}}


def test_text_parts_count_as_text():
    text = G.TASKS[0][0]
    as_string, as_parts = V.validate(G.good(10)), V.validate(_with_user_content([{"type": "text", "text": text}]))
    assert as_parts.ok and as_parts.counts == as_string.counts
    assert as_parts.token_counts == as_string.token_counts
    split = V.validate(_with_user_content([{"type": "text", "text": text[:9]}, {"type": "text", "text": text[9:]}]))
    assert split.token_counts == as_string.token_counts  # parts are joined, then counted


def test_image_parts_are_valid_with_a_warning_about_the_sandbox():
    r = V.validate(_with_user_content([{"type": "text", "text": "Che cosa mostra?"}, _image(detail="low")]))
    assert r.ok, r.summary()
    issue = next(i for i in r.issues if i.code == "non_text_content")
    assert issue.severity == "warning" and issue.line == 1 and issue.message_index == 2
    assert "image_url" in issue.message and "sandbox" in issue.message
    assert r.job_error() is None


@pytest.mark.parametrize("content,detail", [
    ([], "empty array"),
    ([{"type": "text"}], "text"),
    ([{"text": "x"}], "type"),
    ([_image(detail="ultra")], "image_url.url"),
    ([{"type": "image_url", "image_url": "https://x/y.png"}], "image_url.url"),
    ([{"type": "video", "video": {}}], "type 'video'"),
    ([{"type": "refusal", "refusal": "no"}], "type 'refusal'"),  # refusals belong to assistant messages
])
def test_malformed_content_parts_are_coded_errors(content, detail):
    r = V.validate(_with_user_content(content))
    issue = next(i for i in r.issues if i.code == "invalid_content_part")
    assert not r.ok and issue.line == 1 and issue.message_index == 2
    assert issue.values["detail"] == detail
    assert r.job_error()["code"] == "invalid_training_file"


def test_content_parts_per_role():
    image_in_system = [G.chat(0)] + G.good(9, 1)
    image_in_system[0]["messages"][0]["content"] = [_image()]
    assert "invalid_content_part" in V.validate(image_in_system).counts
    refusal = [G.with_message(0, content=[{"type": "text", "text": "def f(): pass"},
                                          {"type": "refusal", "refusal": "no"}])] + G.good(9, 1)
    assert V.validate(refusal).ok


def test_duplicates_see_the_images():
    same_text = [{"type": "text", "text": "Che cosa mostra questa immagine?"}]
    examples = [G.user_changed(0, content=same_text + [_image("https://x/1.png")]),
                G.user_changed(0, content=same_text + [_image("https://x/2.png")])] + G.good(10, 1)
    assert "duplicate_example" not in V.validate(examples, near_duplicates=False).counts
    examples[1] = examples[0]
    assert V.validate(examples, near_duplicates=False).counts["duplicate_example"] == 1


# -- the scanner's worker processes --------------------------------------------------------------------

@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="fork is Linux-only here")
def test_fork_map_returns_every_result_and_reports_failures():
    import os

    from ftlab.validation.scanner import fork_map

    local = {"offset": 100}  # reaches the workers by fork, never pickled (a lambda could not be)
    results = dict(fork_map(lambda x: x + local["offset"], [(k,) for k in range(20)], 2))
    assert results == {k: k + 100 for k in range(20)}
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        dict(fork_map(lambda x: 1 / x, [(1,), (0,), (2,)], 2))
    with pytest.raises(RuntimeError, match="exited early"):
        dict(fork_map(lambda x: os._exit(3), [(1,), (2,)], 2))


def test_function_messages_need_a_name():
    call = {"role": "assistant", "content": None, "function_call": {"name": "meteo", "arguments": "{}"}}
    answer = {"role": "function", "content": "18 gradi"}
    examples = [{"messages": [{"role": "user", "content": "Meteo?"}, call, answer,
                              {"role": "assistant", "content": "18 gradi."}]}] + G.good(9, 1)
    issue = next(i for i in V.validate(examples).issues if i.code == "message_missing_key")
    assert issue.values["key"] == "name" and issue.message_index == 3
    answer["name"] = "meteo"
    assert V.validate(examples).ok
