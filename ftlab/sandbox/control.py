"""Start, find and stop the sandbox server of a data dir.

One server per data dir: it holds ``server.lock`` while it runs and writes ``server.json`` (pid,
host, port). The bearer token lives in ``token`` (mode 0600) and is made on first use.

    python -m ftlab.sandbox.control start|status|stop [--data-dir DIR]
    python -m ftlab.sandbox.control serve [--host 127.0.0.1] [--port 0] [--data-dir DIR] [--class]

Without ``--class`` the server binds to loopback only and takes the token alone; with it (the class
server, ``roster``) it binds where ``--host`` says and takes the roster's keys too.
"""
from __future__ import annotations

import argparse
import fcntl
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ftlab import paths
from ftlab.i18n import tr

INFO = "server.json"
ALREADY_RUNNING = 3  # exit status of a server that found another one holding the data dir's lock


def data_dir(path=None) -> Path:
    d = Path(path).expanduser() if path else paths.home()
    d.mkdir(parents=True, exist_ok=True)
    return d.resolve()


def token(path=None) -> str:
    """The data dir's bearer token, created (readable by the owner only) on first use."""
    file = data_dir(path) / "token"
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return file.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write("sk-ftlab-" + secrets.token_urlsafe(32))
    return file.read_text().strip()


def _pid_alive(pid: int) -> bool:
    """Is ``pid`` a running process? A zombie (exited, not yet reaped by its parent) is not:
    ``stop`` run from another process than the server's parent would otherwise wait its whole
    timeout for a server that has already exited."""
    import psutil   # here: the CLI's other commands do not need it

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _healthy(info: dict, tok: str) -> bool:
    import httpx
    try:
        r = httpx.get(f"http://{info['host']}:{info['port']}/health",
                      headers={"Authorization": f"Bearer {tok}"}, timeout=2.0)
        return r.status_code == 200 and r.json().get("backend") == "sandbox"
    except (httpx.HTTPError, ValueError):
        return False


def status(path=None) -> dict | None:
    """``{"pid", "host", "port", "base_url"}`` of the healthy server of the data dir, else None."""
    d = data_dir(path)
    try:
        info = json.loads((d / INFO).read_text())
    except (OSError, ValueError):
        return None
    if not _pid_alive(info.get("pid", -1)) or not _healthy(info, token(d)):
        return None
    return info


def _other_server(d: Path, own_pid: int) -> bool:
    """Another live process (a concurrent start) is serving or about to serve the data dir."""
    try:
        pid = json.loads((d / INFO).read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return False
    return pid != own_pid and _pid_alive(pid)


def start(path=None, *, timeout: float = 60.0, env: dict | None = None, class_mode: bool = False,
          executor: str = "local") -> dict:
    """Return the running server of the data dir, starting one in the background if needed
    (``class_mode``: the class server, on loopback; ``ftlab serve --class --host`` for the network)."""
    d = data_dir(path)
    info = status(d)
    if info:
        return info
    log = open(d / "server.log", "ab")
    argv = [sys.executable, "-m", "ftlab.sandbox.control", "serve", "--data-dir", str(d)]
    argv += (["--class"] if class_mode else []) + (["--executor", executor] if executor != "local" else [])
    proc = subprocess.Popen(argv,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})},
                            start_new_session=True)  # survives the notebook kernel's Ctrl-C
    log.close()
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it when it exits (no zombie)
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = status(d)
        if info:
            return info
        # ours exited: go on waiting only if it met another server (a concurrent start that may
        # not have written server.json yet); any other exit is a failure to report
        if proc.poll() is not None and proc.returncode != ALREADY_RUNNING and not _other_server(d, proc.pid):
            break
        time.sleep(0.1)
    tail = (d / "server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(tr("Il server sandbox non è partito (log in {log}):\n{tail}",
                          "The sandbox server did not start (log in {log}):\n{tail}",
                          log=d / "server.log", tail=tail))


def stop(path=None, *, timeout: float = 60.0) -> bool:
    """Stop the data dir's server (its worker saves a running job to resume later). True if one ran."""
    d = data_dir(path)
    try:
        pid = json.loads((d / INFO).read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return False
    if not _pid_alive(pid):
        (d / INFO).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while _pid_alive(pid) and time.time() < deadline:
        time.sleep(0.1)
        try:  # reap it if it is our own child (tests start servers in-process)
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    (d / INFO).unlink(missing_ok=True)
    return True


def serve(path=None, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = False,
          class_mode: bool = False, executor: str = "local") -> int:
    """Run the server in the foreground until Ctrl-C / SIGTERM."""
    from ftlab.openai_spec import LOCAL_HOSTS

    if not class_mode and host not in LOCAL_HOSTS:
        # the single-user sandbox has one token for everything: never on the network
        print(tr("Senza --class la sandbox ascolta solo in locale (127.0.0.1), non su {host}.",
                 "Without --class the sandbox listens on loopback only (127.0.0.1), not on {host}.",
                 host=host), file=sys.stderr)
        return 2
    if executor != "local" and importlib.util.find_spec("ray") is None:
        print(tr("--executor {e} usa Ray, che non è installato: pip install 'ftlab[cluster]'.",
                 "--executor {e} uses Ray, which is not installed: pip install 'ftlab[cluster]'.",
                 e=executor), file=sys.stderr)
        return 2
    from . import cpu, settings
    cpu.configure()   # this process, and the worker it starts, before torch loads
    import uvicorn

    from .app import create_app

    d = data_dir(path)
    lock = open(d / "server.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(tr("Un server sandbox è già attivo per {d}.", "A sandbox server is already running for {d}.", d=d),
              file=sys.stderr)
        return ALREADY_RUNNING
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    config = settings.current()
    app = create_app(d, token(d), max_file_bytes=config.max_file_bytes, run_worker=config.run_worker,
                     class_mode=class_mode, executor=executor)
    info = {"pid": os.getpid(), "host": host, "port": port, "base_url": f"http://{host}:{port}/v1",
            "class_mode": class_mode}
    (d / INFO).write_text(json.dumps(info))
    if not quiet and class_mode:
        print(tr("Server di classe ftlab in ascolto su {url} (dati in {d}; chiavi: ftlab class add ROSTER.csv)",
                 "ftlab class server listening on {url} (data in {d}; keys: ftlab class add ROSTER.csv)",
                 url=info["base_url"], d=d), flush=True)
    elif not quiet:
        print(tr("Sandbox ftlab in ascolto su {url} (dati in {d}; token nel file {d}/token)",
                 "ftlab sandbox listening on {url} (data in {d}; token in {d}/token)",
                 url=info["base_url"], d=d), flush=True)
    # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler that was
    # there before: make that a no-op so the cleanup below runs and the exit status is 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
    finally:
        try:
            if json.loads((d / INFO).read_text()).get("pid") == os.getpid():
                (d / INFO).unlink()
        except (OSError, ValueError):
            pass
        lock.close()
    return 0


def cli_serve(args) -> int:
    """``ftlab serve``: the server in the foreground."""
    return serve(args.data_dir, args.host, args.port, class_mode=getattr(args, "class_mode", False),
                 executor=getattr(args, "executor", "local"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftlab.sandbox.control")
    parser.add_argument("action", choices=["start", "status", "stop", "serve"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--class", dest="class_mode", action="store_true")
    parser.add_argument("--executor", default="local")
    args = parser.parse_args(argv)
    if args.action == "serve":
        return cli_serve(args)
    if args.action == "start":
        print(start(args.data_dir)["base_url"])
        return 0
    if args.action == "status":
        info = status(args.data_dir)
        print(json.dumps(info) if info else tr("nessun server attivo", "no server running"))
        return 0 if info else 1
    stopped = stop(args.data_dir)
    print(tr("server fermato", "server stopped") if stopped else tr("nessun server attivo", "no server running"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
