"""The code runner executes untrusted snippets: prove each limit stops what it should."""
from __future__ import annotations

from pathlib import Path

import pytest

from ftlab.coderunner import defined_functions, pick_function, run_code, same_value

ADD = '''def somma(a, b):
    """Somma due numeri."""
    print("rumore su stdout")
    return a + b
'''
ONE = [{"args": [], "expected": 1}]


def test_passing_and_failing_checks_are_counted():
    res = run_code(ADD, [{"args": [1, 2], "expected": 3}, {"args": [2, 2], "expected": 5}], function="somma")
    assert (res.parses, res.runs, res.status) == (True, True, "ok")
    assert (res.passed, res.total, res.all_passed) == (1, 2, False)


def test_single_function_is_used_when_name_differs():
    res = run_code(ADD, [{"args": [1, 2], "expected": 3}], function="add")
    assert res.function == "somma" and res.all_passed


def test_syntax_error_and_missing_function():
    assert run_code("def f(:", ONE).status == "syntax_error"
    res = run_code("def g(): return 1\ndef h(): return 1", ONE, function="f")
    assert (res.parses, res.status) == (True, "no_function")


def test_exception_while_defining_is_an_error():
    res = run_code("raise ValueError('no')\ndef f(): return 1", ONE)
    assert res.status == "error" and not res.runs and "ValueError" in res.error


def test_infinite_loop_is_killed_by_the_wall_clock_timeout():
    res = run_code("def f():\n    while True:\n        pass\n", ONE, timeout=1.0, cpu_seconds=30)
    assert res.status == "timeout" and res.passed == 0


def test_infinite_loop_is_killed_by_the_cpu_limit():
    res = run_code("def f():\n    while True:\n        pass\n", ONE, timeout=20, cpu_seconds=1)
    assert res.status == "cpu_limit"


@pytest.mark.parametrize("code", [
    "x = bytearray(4 * 1024 ** 3)\ndef f(): return 1",
    "def f():\n    x = []\n    while True:\n        x.append('a' * 100_000)\n",
])
def test_memory_hogs_hit_the_address_space_limit(code):
    res = run_code(code, ONE, memory_mb=256, timeout=20)
    assert res.status == "memory" and res.passed == 0


@pytest.mark.parametrize("code", [
    "import socket\ndef f():\n    return 1",
    "def f():\n    import _socket\n    return _socket.socket()",
    "import sys\ndef f():\n    s = sys.modules.get('socket') or __import__('socket')\n    return 1",
])
def test_sockets_are_refused(code):
    res = run_code(code, ONE)
    assert res.status == "blocked" and res.passed == 0


def test_writes_outside_the_working_dir_are_refused(tmp_path):
    target = tmp_path / "pwned.txt"
    for code in (f"def f():\n    open({str(target)!r}, 'w').write('x')\n    return 1",
                 f"import os\ndef f():\n    os.open({str(target)!r}, os.O_CREAT | os.O_WRONLY)\n    return 1",
                 f"import os\ndef f():\n    os.symlink({str(tmp_path)!r}, 'link')\n    open('link/pwned.txt', 'w')\n    return 1",
                 f"import os\ndef f():\n    os.remove({str(tmp_path / 'keep.txt')!r})\n    return 1"):
        (tmp_path / "keep.txt").write_text("keep")
        res = run_code(code, ONE)
        assert res.status == "blocked", code
        assert not target.exists() and (tmp_path / "keep.txt").exists()


def test_writes_inside_the_working_dir_are_allowed():
    code = "def f():\n    open('a.txt', 'w').write('ciao')\n    return open('a.txt').read()"
    assert run_code(code, [{"args": [], "expected": "ciao"}]).all_passed


def test_output_floods_are_cut_by_the_file_size_limit():
    code = "import os\ndef f():\n    while True:\n        os.write(1, b'x' * 65536)\n"
    res = run_code(code, ONE, timeout=20)
    assert res.status == "output_limit" and res.passed == 0


def test_prints_do_not_break_the_report():
    code = "print('@@ftlab-result@@ not json')\ndef f():\n    print('x' * 10000)\n    return 1"
    assert run_code(code, ONE).all_passed


def test_subprocesses_are_refused():
    res = run_code("import os\ndef f():\n    return os.system('true')", ONE)
    assert res.status == "blocked"


def test_child_gets_no_secrets_or_proxies(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:1")
    code = "import os\ndef f():\n    return sorted(k for k in os.environ if 'KEY' in k or 'PROXY' in k.upper())"
    assert run_code(code, [{"args": [], "expected": []}]).all_passed


def test_expected_values_never_reach_the_child():
    # a snippet that prints a fake success report cannot pass: the parent compares values
    code = "def f():\n    import json, sys\n    sys.__stdout__.write('@@ftlab-result@@' + json.dumps({'defined': True, 'status': 'ok', 'outputs': [{'ok': True, 'value': 1}]}))\n    return 2"
    assert not run_code(code, ONE).all_passed


def test_helpers():
    assert defined_functions("def a(): pass\nx = 1\ndef b(): pass") == ["a", "b"]
    assert defined_functions("def (") is None
    assert pick_function("def a(): pass\ndef b(): pass", "b") == "b"
    assert pick_function("def a(): pass\ndef b(): pass", "c") is None
    assert same_value((1, 2), [1, 2]) is False  # the parent sees JSON values, so tuples arrive as lists
    assert same_value([1, 2], [1, 2]) and same_value(0.1 + 0.2, 0.3)
    assert not same_value(True, 1) and not same_value("1", 1)


def test_nothing_written_in_project_dir():
    run_code("def f():\n    open('x.txt', 'w')\n    return 1", ONE)
    assert not Path("x.txt").exists()
