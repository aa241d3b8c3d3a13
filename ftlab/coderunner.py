"""Run model-written Python in an isolated child process and check it against test cases.

Model output is untrusted. Each snippet runs in a fresh ``python -I -S`` child (no user site,
no PYTHON* variables, an empty environment without proxies or keys) inside a temporary working
directory. Before the snippet runs, the child (this same file, run as a script) sets hard
resource limits (address space, CPU seconds, file size) and installs an audit hook
(``sys.addaudithook``) that refuses sockets, subprocesses, signals to other processes, native
code (ctypes) and any write, rename or delete outside its directory. The parent also enforces a
wall-clock timeout and kills the child's whole process group.

The expected values of the checks never reach the child: it sends back what the function
returned and the parent compares, so code cannot fake a pass.
"""
from __future__ import annotations

import ast
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field

# Marker for the child's result line (the snippet may print anything on stdout).
_MARK = "@@ftlab-result@@"
# Audit events refused outright: network, processes, signals, native code.
_BLOCKED_EVENTS = {
    "socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.sendto",
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.cdata", "webbrowser.open",
}
_BLOCKED_MODULES = {"ctypes", "_ctypes", "_posixsubprocess", "_xxsubinterpreters", "socket", "_socket"}
# Audit events whose path arguments must stay inside the working directory.
_PATH_EVENTS = {
    "os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.chmod": 1, "os.chown": 1, "os.truncate": 1,
    "os.utime": 1, "os.rename": 2, "os.link": 2, "os.symlink": 2, "shutil.rmtree": 1,
    "shutil.copyfile": 2, "shutil.move": 2, "os.chflags": 1, "os.setxattr": 1, "os.removexattr": 1,
}
OUTPUT_LIMIT = 10 * 1024 * 1024  # bytes a snippet may write to any file, its stdout included
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


@dataclass
class RunResult:
    """What happened to one snippet. ``status`` is one of: ok, syntax_error, no_function,
    error (raised while defining), timeout, cpu_limit, memory, output_limit, blocked, crashed."""

    parses: bool
    runs: bool
    function: str | None
    passed: int
    total: int
    status: str
    error: str | None = None
    outputs: list = field(default_factory=list)

    @property
    def all_passed(self) -> bool:
        return self.runs and self.total > 0 and self.passed == self.total

    def to_dict(self) -> dict:
        return asdict(self) | {"all_passed": self.all_passed}


def defined_functions(code: str) -> list[str] | None:
    """Top-level function names in ``code``, or None when it does not parse (no code is run)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def pick_function(code: str, wanted: str | None) -> str | None:
    """The checks' function name when defined, else the only function defined, else None."""
    names = defined_functions(code) or []
    if wanted in names:
        return wanted
    return names[0] if len(names) == 1 else None


def same_value(got, expected) -> bool:
    """JSON-level equality (tuples = lists), floats compared with a small tolerance."""
    if isinstance(got, bool) or isinstance(expected, bool):
        return got is expected  # True must not pass for 1
    if isinstance(got, float) or isinstance(expected, float):
        try:
            return math.isclose(float(got), float(expected), rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(got, list) and isinstance(expected, list):
        return len(got) == len(expected) and all(map(same_value, got, expected))
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(same_value(got[k], expected[k]) for k in got)
    return got == expected


def run_code(code: str, checks: list[dict] | None = None, *, function: str | None = None,
             timeout: float = 5.0, cpu_seconds: int | None = None, memory_mb: int = 512) -> RunResult:
    """Define ``code`` in a sandboxed child and call its function on each check's ``args``.

    ``checks`` are ``{"args": [...], "expected": ...}``; ``function`` is the name the checks
    expect (falls back to the single function the code defines).
    """
    checks = checks or []
    names = defined_functions(code)
    if names is None:
        return RunResult(False, False, None, 0, len(checks), "syntax_error", "SyntaxError")
    name = pick_function(code, function)
    if checks and name is None:
        return RunResult(True, False, None, 0, len(checks), "no_function",
                         f"function {function!r} not found among {names}")
    payload = {"code": code, "function": name, "args": [c.get("args", []) for c in checks],
               "limits": {"memory_mb": memory_mb, "cpu_seconds": cpu_seconds or max(1, math.ceil(timeout))}}
    status, report = _run_child(payload, timeout)
    if report is None:
        return RunResult(True, False, name, 0, len(checks), status, status)
    outputs = report.get("outputs", [])
    passed = sum(1 for out, c in zip(outputs, checks) if out.get("ok") and same_value(out["value"], c.get("expected")))
    return RunResult(True, report["defined"], name, passed, len(checks), report["status"], report.get("error"), outputs)


def _run_child(payload: dict, timeout: float) -> tuple[str, dict | None]:
    """Start the child in a temp dir, feed it the payload, kill its group on timeout.

    stdout/stderr go to files beside (not inside) the child's working dir: the child cannot
    rewrite them by name, and RLIMIT_FSIZE bounds how much a print loop can produce."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}  # no proxies, no keys
    with tempfile.TemporaryDirectory(prefix="ftlab-run-") as base:
        cwd = os.path.join(base, "work")
        os.mkdir(cwd)
        with open(os.path.join(base, "out"), "w+b") as out, open(os.path.join(base, "err"), "w+b") as err:
            proc = subprocess.Popen([sys.executable, "-I", "-S", "-B", os.path.abspath(__file__), "--child"],
                                    stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=cwd, env=env,
                                    start_new_session=True)
            try:
                proc.communicate(json.dumps(payload).encode(), timeout=timeout)
            except subprocess.TimeoutExpired:
                return "timeout", None
            finally:
                _kill_group(proc)  # nothing the snippet started may outlive it
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    for line in reversed(stdout.splitlines()):
        if line.startswith(_MARK):
            return "ok", json.loads(line[len(_MARK):])
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return "cpu_limit", None
    if len(stdout) >= OUTPUT_LIMIT or proc.returncode == -signal.SIGXFSZ:
        return "output_limit", None  # Python ignores SIGXFSZ: writes just fail at the limit
    return ("memory" if "MemoryError" in stderr else "crashed"), None


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# ----------------------------------------------------------------------------- child side
def _inside(path, root: str) -> bool:
    if isinstance(path, int):  # an already-open descriptor
        return True
    real = os.path.realpath(os.fsdecode(path))
    return real == root or real.startswith(root + os.sep)


def _make_guard(root: str):
    """The audit hook: refuse dangerous events and writes outside ``root``."""
    def guard(event, args):
        if event in _BLOCKED_EVENTS:
            raise PermissionError(f"blocked by ftlab sandbox: {event}")
        if event == "import" and args[0].split(".")[0] in _BLOCKED_MODULES:
            raise PermissionError(f"blocked by ftlab sandbox: import {args[0]}")
        if event == "open":
            path, mode, flags = args
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
            if writing and path is not None and not _inside(path, root):
                raise PermissionError(f"blocked by ftlab sandbox: write outside {root}")
        elif event in _PATH_EVENTS:
            for path in args[:_PATH_EVENTS[event]]:
                if isinstance(path, (str, bytes, os.PathLike)) and not _inside(path, root):
                    raise PermissionError(f"blocked by ftlab sandbox: {event} outside {root}")
    return guard


def _set_limits(memory_mb: int, cpu_seconds: int) -> None:
    import resource
    mem = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _jsonable(value):
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return repr(value)


def _child_main() -> None:
    import io
    payload = json.loads(sys.stdin.read())
    real_stdout = sys.stdout
    _set_limits(**payload["limits"])
    sys.addaudithook(_make_guard(os.path.realpath(os.getcwd())))
    sys.stdout = sys.stderr = io.StringIO()  # the snippet's prints must not garble the report
    report = {"defined": False, "status": "ok", "error": None, "outputs": []}
    namespace = {"__name__": "__ftlab_snippet__"}
    try:
        exec(compile(payload["code"], "<model-output>", "exec"), namespace)
        report["defined"] = True
        func = namespace.get(payload["function"]) if payload["function"] else None
        for args in payload["args"]:
            report["outputs"].append(_call(func, args))
    except MemoryError:
        report.update(status="memory", error="MemoryError")
    except PermissionError as exc:
        report.update(status="blocked", error=str(exc))
    except BaseException as exc:  # noqa: BLE001 - anything the snippet raises is a result
        report.update(status="error", error=f"{type(exc).__name__}: {exc}"[:300])
    real_stdout.write("\n" + _MARK + json.dumps(report) + "\n")
    real_stdout.flush()
    os._exit(0)  # skip interpreter cleanup that the snippet may have sabotaged


def _call(func, args) -> dict:
    try:
        return {"ok": True, "value": _jsonable(func(*args))}
    except (MemoryError, PermissionError):
        raise  # a memory hog or an escape attempt fails the whole snippet
    except BaseException as exc:  # noqa: BLE001
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}


if __name__ == "__main__" and sys.argv[-1] == "--child":
    _child_main()
