"""`ftlab validate FILE [--model M] [--json] [--no-progress]`."""
from __future__ import annotations

import io
import json
import subprocess
import sys

from ftlab import cli, paths

ESEMPI = paths.DATA_DIR / "esempi_errati"


def test_json_output_and_exit_status(capsys):
    assert cli.main(["validate", str(ESEMPI / "unrecognized_role.jsonl"), "--json", "--no-progress"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["counts"]["unrecognized_role"] == 1
    role = next(i for i in out["issues"] if i["code"] == "unrecognized_role")
    assert role["line"] == 1 and role["message_index"] == 3
    assert out["job_error"]["code"] == "invalid_training_file"


def test_text_output_with_warnings_only_exits_0(capsys):
    assert cli.main(["validate", str(ESEMPI / "few_examples.jsonl"), "--model", "gpt-4o-mini"]) == 0
    out = capsys.readouterr().out
    assert "few_examples" in out and "Pronto per il caricamento" in out


def test_missing_file(capsys, tmp_path):
    assert cli.main(["validate", str(tmp_path / "nope.jsonl")]) == 2
    assert "non trovato" in capsys.readouterr().err


def test_real_process_exit_code():
    run = subprocess.run([sys.executable, "-m", "ftlab.cli", "validate", str(ESEMPI / "invalid_json.jsonl")],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "invalid_json" in run.stdout and "riga" not in run.stderr


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_only(monkeypatch, capsys):
    path = str(ESEMPI / "few_examples.jsonl")
    for extra, shown in (([], True), (["--no-progress"], False)):
        err = _Tty()
        monkeypatch.setattr(sys, "stderr", err)
        assert cli.main(["validate", path, *extra]) == 0
        assert ("few_examples.jsonl" in err.getvalue()) is shown
    capsys.readouterr()
