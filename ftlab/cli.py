"""The ``ftlab`` command: ``ftlab validate|serve|files|jobs|models|prepare|export|import|class …``.

Each sub-command is a thin wrapper over a library function, so what the CLI does is what a
notebook cell does. Handlers import their module lazily to keep ``ftlab --help`` instant.
"""
from __future__ import annotations

import argparse
import sys

from ftlab.openai_spec import COURSE_MODEL


def _cmd_validate(args) -> int:
    """``ftlab validate FILE [--model M] [--json] [--no-progress]``: exit 1 on errors, 2 if missing."""
    from pathlib import Path

    from ftlab.i18n import tr
    from ftlab.validation import validate

    path = Path(args.file)
    if not path.is_file():
        print(tr("File non trovato: {p}", "File not found: {p}", p=path), file=sys.stderr)
        return 2
    show = not getattr(args, "no_progress", False) and sys.stderr.isatty()
    report = validate(path, model=args.model, progress=show)
    if args.json:
        print(report.to_json(indent=2))
        return 0 if report.ok else 1
    print(report.summary())
    for issue in report.issues[:50]:
        where = f"{issue.file}:{issue.line}" if issue.line else issue.file
        print(f"  {where}: [{issue.severity}] {issue.code}: {issue.message}")
    if len(report.issues) > 50:
        n = len(report.issues) - 50
        more = f"{n} " + (tr("altro problema", "more") if n == 1 else tr("altri problemi", "more"))
        print(tr("  … e {more} (usa --json per tutti).", "  … and {more} (use --json for all).", more=more))
    return 0 if report.ok else 1


def _cmd_serve(args) -> int:
    from ftlab.sandbox import control
    return control.cli_serve(args)


# -- files / jobs / models: thin wrappers over ftlab.jobs, all through ftlab.connect() -------------

def _client():
    from ftlab.backend import backend_name, connect
    client = connect(quiet=True)
    print(f"backend: {backend_name(client)}", file=sys.stderr)
    return client


def _guarded(handler):
    """Run a handler; bad input and server refusals become one clear line and exit code 1."""
    def run(args) -> int:
        import openai

        from ftlab.jobs import JobError
        try:
            return handler(_client(), args) or 0
        except (JobError, openai.APIError) as err:
            print(f"ftlab: {err}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:  # Ctrl-C stops watching, not the job
            from ftlab.i18n import tr
            print(tr("\nftlab: interrotto (il job, se creato, continua sul server).",
                     "\nftlab: interrupted (the job, if created, keeps running on the server)."),
                  file=sys.stderr)
            return 130
    return run


def _auto_or(kind):
    def parse(value: str):
        return "auto" if value == "auto" else kind(value)
    return parse


@_guarded
def _cmd_files_upload(client, args):
    from ftlab import jobs
    f = jobs.upload(client, args.file, purpose=args.purpose, wait=not args.no_wait,
                    validate=not args.no_validate)
    print(f"{f.id}\t{f.status}\t{f.filename}")


@_guarded
def _cmd_files_list(client, args):
    for f in client.files.list(**({"purpose": args.purpose} if args.purpose else {})):
        print(f"{f.id}\t{f.purpose}\t{f.status}\t{f.bytes}\t{f.filename}")


@_guarded
def _cmd_jobs_create(client, args):
    from ftlab import jobs
    hp = {k: v for k, v in (("n_epochs", args.n_epochs), ("batch_size", args.batch_size),
                            ("learning_rate_multiplier", args.learning_rate_multiplier)) if v is not None}
    method = {"type": "supervised", "supervised": {"hyperparameters": hp}} if hp else None
    job = jobs.create_job(client, model=args.model, training_file=args.training_file,
                          validation_file=args.validation_file, method=method, suffix=args.suffix,
                          seed=args.seed, confirm=args.confirm_costs)
    print(f"{job.id}\t{job.status}")
    if args.follow:
        return 0 if jobs.follow(client, job.id).status == "succeeded" else 1


@_guarded
def _cmd_jobs_list(client, args):
    from ftlab import jobs
    frame = jobs.jobs_frame(client, limit=args.limit)
    columns = ["id", "status", "model", "fine_tuned_model", "trained_tokens", "created_at"]
    print(frame[columns].to_string(index=False) if not frame.empty else "-")


@_guarded
def _cmd_jobs_follow(client, args):
    from ftlab import jobs
    return 0 if jobs.follow(client, args.job_id).status == "succeeded" else 1


@_guarded
def _cmd_jobs_events(client, args):
    from ftlab import jobs
    jobs.retrieve(client, args.job_id)  # a clear message for unknown ids
    events = list(client.fine_tuning.jobs.list_events(args.job_id, limit=args.limit).data)
    for event in reversed(events):  # the API lists newest first
        print(jobs.format_event(event))


def _job_action(name):
    @_guarded
    def handler(client, args):
        from ftlab import jobs
        job = getattr(jobs, name)(client, args.job_id)
        print(f"{job.id}\t{job.status}")
    return handler


@_guarded
def _cmd_prepare(client, args):
    """Train every course model ahead of class (``jobs.COURSE_RUNS``), reusing succeeded jobs."""
    import time

    from ftlab import jobs
    from ftlab.i18n import tr
    suffixes = args.only or list(jobs.COURSE_RUNS)
    for suffix in suffixes:
        jobs.course_run(suffix)  # an unknown suffix stops before any training
    for i, suffix in enumerate(suffixes, 1):
        print(tr("[{i}/{n}] {s}: cerco o addestro…", "[{i}/{n}] {s}: looking up or training…",
                 i=i, n=len(suffixes), s=suffix), flush=True)
        start = time.time()
        job = jobs.course_job(client, suffix=suffix)
        reused = (job.finished_at or 0) < start
        print(tr("[{i}/{n}] {s}: {how} → {m} (job {j})", "[{i}/{n}] {s}: {how} → {m} (job {j})", i=i,
                 n=len(suffixes), s=suffix, m=job.fine_tuned_model, j=job.id,
                 how=tr("già pronto", "already there") if reused else
                 tr("addestrato in {t:.0f} s", "trained in {t:.0f} s", t=time.time() - start)), flush=True)
    print(tr("Tutti i modelli del corso sono pronti: i notebook li riusano senza addestrare.",
             "Every course model is ready: the notebooks reuse them without training."))


@_guarded
def _cmd_models_list(client, args):
    for model in client.models.list():
        print(f"{model.id}\t{model.owned_by}")


# -- export / import: take a model home and bring one back (ftlab.export, ftlab.sandbox.imports) ----

def _cmd_export(args) -> int:
    from ftlab.export import ExportError, export
    try:
        out = export(args.model, format=args.format, quant=args.quant, out=args.out, force=args.force)
    except ExportError as err:
        print(f"ftlab: {err}", file=sys.stderr)
        return 1
    print(out)
    return 0


def _cmd_import(args) -> int:
    from ftlab.export import ExportError
    from ftlab.sandbox.imports import import_model
    try:
        print(import_model(args.dir, name=args.name, force=args.force))
    except ExportError as err:
        print(f"ftlab: {err}", file=sys.stderr)
        return 1
    return 0


def _add_transfer_commands(sub) -> None:
    p = sub.add_parser("export", help="export a sandbox model as a Hugging Face folder or a GGUF file")
    p.add_argument("model", help="ft:… model, ft:…:ckpt-step-N checkpoint, or the base model name")
    p.add_argument("--format", choices=("hf", "gguf"), required=True)
    p.add_argument("--quant", choices=("f16", "q8_0"), default=None, help="gguf only (default f16)")
    p.add_argument("--out", required=True, help="target folder (must not exist, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an existing target folder")
    p.set_defaults(func=_cmd_export)
    p = sub.add_parser("import", help="register a PEFT adapter or HF model folder with the sandbox")
    p.add_argument("dir")
    p.add_argument("--name", default=None, help="model id becomes imported:NAME (default: folder name)")
    p.add_argument("--force", action="store_true", help="replace an imported model of the same name")
    p.set_defaults(func=_cmd_import)


def _add_job_commands(sub) -> None:
    files = sub.add_parser("files", help="upload and list files").add_subparsers(dest="action",
                                                                                 required=True)
    p = files.add_parser("upload", help="upload FILE (validated first for fine-tune)")
    p.add_argument("file")
    p.add_argument("--purpose", default="fine-tune")
    p.add_argument("--no-wait", action="store_true", help="do not wait for processing")
    p.add_argument("--no-validate", action="store_true", help="send without local validation")
    p.set_defaults(func=_cmd_files_upload)
    p = files.add_parser("list", help="list uploaded files")
    p.add_argument("--purpose", default=None)
    p.set_defaults(func=_cmd_files_list)

    jobs = sub.add_parser("jobs", help="fine-tuning jobs").add_subparsers(dest="action", required=True)
    p = jobs.add_parser("create", help="validate, estimate and create a job")
    p.add_argument("--model", required=True)
    p.add_argument("--training-file", required=True, help="file id or local JSONL path")
    p.add_argument("--validation-file", default=None)
    p.add_argument("--n-epochs", type=_auto_or(int), default=None)
    p.add_argument("--batch-size", type=_auto_or(int), default=None)
    p.add_argument("--learning-rate-multiplier", type=_auto_or(float), default=None)
    p.add_argument("--suffix", default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--confirm-costs", action="store_true", help="allow a paid job")
    p.add_argument("--follow", action="store_true", help="follow the job until it ends")
    p.set_defaults(func=_cmd_jobs_create)
    p = jobs.add_parser("list", help="list jobs")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=_cmd_jobs_list)
    for name, func, text in (("follow", _cmd_jobs_follow, "print events until the job ends"),
                             ("events", _cmd_jobs_events, "print a job's events, oldest first"),
                             ("cancel", _job_action("cancel"), "cancel a job"),
                             ("pause", _job_action("pause"), "pause a running job"),
                             ("resume", _job_action("resume"), "resume a paused job")):
        p = jobs.add_parser(name, help=text)
        p.add_argument("job_id")
        if name == "events":
            p.add_argument("--limit", type=int, default=100)
        p.set_defaults(func=func)

    p = sub.add_parser("prepare", help="train every course model ahead of class (reuses finished jobs)")
    p.add_argument("--only", nargs="+", metavar="SUFFIX", help="only these runs of jobs.COURSE_RUNS")
    p.set_defaults(func=_cmd_prepare)

    models = sub.add_parser("models", help="models").add_subparsers(dest="action", required=True)
    models.add_parser("list", help="list models").set_defaults(func=_cmd_models_list)


# -- class: the class server's roster (ftlab.sandbox.roster) and its queue ---------------------------

def _roster(args):
    from ftlab.sandbox import control
    from ftlab.sandbox.roster import Roster
    return Roster(control.data_dir(args.data_dir))


def _roster_guarded(handler):
    """A roster error becomes one coded line on stderr and exit code 1; nothing is changed."""
    def run(args) -> int:
        from ftlab.sandbox.roster import RosterError
        try:
            return handler(args) or 0
        except RosterError as err:
            print(f"ftlab: {err.code}: {err}", file=sys.stderr)
            return 1
    return run


def _print_keys(pairs) -> None:
    import csv
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["name", "api_key"])
    out.writerows(pairs)


@_roster_guarded
def _cmd_class_add(args):
    from ftlab.i18n import tr
    from ftlab.sandbox.roster import read_names
    _print_keys(_roster(args).add(read_names(args.roster)))
    print(tr("Le chiavi sono mostrate solo ora: consegnatele agli studenti (il server ne tiene solo l'hash).",
             "The keys are shown only now: hand them to the students (the server keeps only their hash)."),
          file=sys.stderr)


@_roster_guarded
def _cmd_class_list(args):
    for e in _roster(args).entries():
        state = "revoked" if e["revoked_at"] else "active"
        print(f"{e['name']}\t{e['role']}\t{state}\t{e['hint']}")


@_roster_guarded
def _cmd_class_revoke(args):
    _roster(args).revoke(args.name)
    print(f"{args.name}\trevoked")


@_roster_guarded
def _cmd_class_rotate(args):
    _print_keys([(args.name, _roster(args).rotate(args.name))])


@_roster_guarded
def _cmd_class_instructor(args):
    from ftlab.sandbox.roster import INSTRUCTOR
    _print_keys([(INSTRUCTOR, _roster(args).instructor())])


def _cmd_class_status(args) -> int:
    from ftlab.sandbox import classroom, control
    print(classroom.status_text(control.data_dir(args.data_dir)))
    return 0


def _add_class_commands(sub) -> None:
    cls = sub.add_parser("class", help="the class server: student keys and the queue")
    cls.add_argument("--data-dir", default=None, help="the class server's data dir (default $FTLAB_HOME)")
    actions = cls.add_subparsers(dest="action", required=True)
    p = actions.add_parser("add", help="one key per name of ROSTER.csv (a 'name' column); prints name,api_key once")
    p.add_argument("roster")
    p.set_defaults(func=_cmd_class_add)
    actions.add_parser("list", help="names, roles, key state (never the keys)").set_defaults(func=_cmd_class_list)
    for name, func, text in (("revoke", _cmd_class_revoke, "the key of NAME stops working"),
                             ("rotate", _cmd_class_rotate, "a new key for NAME (the old one stops working)")):
        p = actions.add_parser(name, help=text)
        p.add_argument("name")
        p.set_defaults(func=func)
    actions.add_parser("instructor", help="a new instructor key (sees every student; the old one stops working)"
                       ).set_defaults(func=_cmd_class_instructor)
    actions.add_parser("status", help="the queue and each student's files and jobs").set_defaults(func=_cmd_class_status)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ftlab", description="ftlab: fine-tuning course tools")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="validate a fine-tuning JSONL file")
    p.add_argument("file")
    p.add_argument("--model", default=COURSE_MODEL)
    p.add_argument("--json", action="store_true", help="machine-readable JSON report")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("serve", help="run the local sandbox server in the foreground")
    p.add_argument("--host", default="127.0.0.1", help="loopback only, unless --class")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--class", dest="class_mode", action="store_true",
                   help="the class server: per-student keys (ftlab class add), any --host")
    p.add_argument("--executor", default="local", help="where jobs train: local (processes), ray (a local "
                   "Ray head), HOST:PORT or ray://HOST:PORT (a Ray cluster; pip install 'ftlab[cluster]')")
    p.set_defaults(func=_cmd_serve)

    _add_job_commands(sub)
    _add_transfer_commands(sub)
    _add_class_commands(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
