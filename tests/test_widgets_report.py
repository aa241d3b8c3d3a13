"""The validation report viewer, driven headlessly: choose or upload a file, press "Valida"."""
from __future__ import annotations

import html
import json
from datetime import datetime, timezone

from ftlab.widgets import ReportViewer


def example(i):
    return {"messages": [{"role": "system", "content": "Rispondi in breve."},
                         {"role": "user", "content": f"Domanda numero {i} sul negozio?"},
                         {"role": "assistant", "content": f"Risposta numero {i}, grazie."}]}


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def make_data(tmp_path):
    data = tmp_path / "data"
    write(data / "buono.jsonl", [example(i) for i in range(12)])
    bad = [example(i) for i in range(12)]
    bad[3] = "{not json"
    bad[6] = {"messages": [{"role": "user", "content": "solo utente"}]}
    write(data / "esempi_errati" / "rotto.jsonl", bad)
    write(data / "buono_meta.jsonl", [{"line": i + 1, "category": "x"} for i in range(12)])  # side file
    return data


def test_lists_files_including_subfolders(tmp_path):
    viewer = ReportViewer(make_data(tmp_path))
    labels = [label for label, _ in viewer.file.options]
    assert labels == ["buono.jsonl", "esempi_errati/rotto.jsonl"]
    assert [viewer.tabs.get_title(i) for i in range(3)] == ["Errori", "Statistiche", "Grafici"]


def test_bad_file_shows_line_precise_errors(tmp_path):
    data = make_data(tmp_path)
    viewer = ReportViewer(data)
    viewer.file.value = data / "esempi_errati" / "rotto.jsonl"
    viewer.button.click()
    report = viewer.report
    assert report is not None and not report.ok
    error_lines = sorted({i.line for i in report.errors})
    assert error_lines == [4, 7]
    frame = report.to_frame()
    for code in {i.code for i in report.errors}:
        assert code in viewer.errors.value
    assert viewer.errors.value.count("<tr") == len(frame) + 1  # header + one row per issue
    assert "<th>riga</th>" in viewer.errors.value and "<th>codice</th>" in viewer.errors.value
    # errors come before warnings, so the first data row is an error
    first_row = viewer.errors.value.split("<tbody>")[1].split("</tr>")[0]
    assert "<td>error</td>" in first_row
    assert viewer.tabs.selected_index == 0
    assert html.escape(report.summary()) in viewer.summary.value


def test_good_file_fills_statistics_and_plots(tmp_path):
    data = make_data(tmp_path)
    viewer = ReportViewer(data)
    report = viewer.run(data / "buono.jsonl")
    assert report.ok and report.n_examples == 12
    assert not report.errors
    assert str(report.token_stats["max"]) in viewer.stats.value
    assert "$" in viewer.stats.value and "0,006" in viewer.stats.value
    assert len(viewer.plots.children) == 1
    assert viewer.plots.children[0].value[:8] == b"\x89PNG\r\n\x1a\n"


def test_upload_is_saved_outside_the_data_and_selected(tmp_path):
    data = make_data(tmp_path)
    viewer = ReportViewer(data)
    content = "".join(json.dumps(example(i)) + "\n" for i in range(3)).encode()
    viewer.upload.value = ({"name": "../../mio.jsonl", "type": "", "size": len(content),
                            "content": memoryview(content),
                            "last_modified": datetime(2026, 11, 23, tzinfo=timezone.utc)},)
    selected = viewer.file.value
    assert selected.name == "mio.jsonl" and data not in selected.parents
    assert selected.read_bytes() == content
    report = viewer.run()
    assert report.n_examples == 3 and not report.ok  # fewer than 10 examples is an error


def test_missing_file_is_reported_not_raised(tmp_path):
    viewer = ReportViewer(tmp_path / "vuota")
    assert viewer.file.options == ()
    assert viewer.run() is None
    assert "Scegli" in viewer.summary.value


def test_english_labels(tmp_path, monkeypatch):
    monkeypatch.setenv("FTLAB_LANG", "en")
    data = make_data(tmp_path)
    viewer = ReportViewer(data)
    assert viewer.button.description == "Validate"
    assert [viewer.tabs.get_title(i) for i in range(3)] == ["Errors", "Statistics", "Plots"]
    viewer.run(data / "esempi_errati" / "rotto.jsonl")
    assert "<th>line</th>" in viewer.errors.value
