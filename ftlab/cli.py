"""The ``ftlab`` command: ``ftlab validate|serve|files|jobs|models …``.

Each sub-command is a thin wrapper over a library function, so what the CLI does is what a
notebook cell does. Handlers import their module lazily to keep ``ftlab --help`` instant.
"""
from __future__ import annotations

import argparse
import sys


def _cmd_validate(args) -> int:
    from ftlab import validation
    return validation.cli(args)


def _cmd_serve(args) -> int:
    from ftlab.sandbox import control
    return control.cli_serve(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ftlab", description="ftlab: fine-tuning course tools")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="validate a fine-tuning JSONL file")
    p.add_argument("file")
    p.add_argument("--model", default="gpt-4.1-nano-2025-04-14")
    p.add_argument("--json", action="store_true", help="machine-readable JSON report")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("serve", help="run the local sandbox server in the foreground")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    p.set_defaults(func=_cmd_serve)

    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
