"""``ftlab.connect()``: an ``openai.OpenAI`` client for the sandbox, OpenAI or Azure OpenAI.

The notebooks' first cell is ``client = ftlab.connect()``. The sandbox (default) is started in the
background for ``$FTLAB_HOME`` when it is not running yet, unless ``FTLAB_BASE_URL`` (or
``OPENAI_BASE_URL``) names a class server: then the client uses it with ``FTLAB_API_KEY`` (or
``OPENAI_API_KEY``), the student's key, and the notebooks run unchanged. Whatever the backend, connect() prints
which one is live; it never prints a key.
"""
from __future__ import annotations

import os

from ftlab.i18n import tr
from ftlab.openai_spec import ALIASES, CUTOFF, SHUTDOWN_DATES, WIND_DOWN_START, is_local_url

BACKENDS = ("sandbox", "openai", "azure")


def connect(backend: str | None = None, *, data_dir=None, quiet: bool = False):
    """Return an OpenAI client for ``backend`` (``$FTLAB_BACKEND``, default ``"sandbox"``)."""
    name = (backend or os.environ.get("FTLAB_BACKEND") or "sandbox").lower()
    if name not in BACKENDS:
        raise ValueError(tr("Backend sconosciuto {name!r}: usa uno tra {all}.",
                            "Unknown backend {name!r}: use one of {all}.", name=name, all=", ".join(BACKENDS)))
    client, banner = {"sandbox": _sandbox, "openai": _openai, "azure": _azure}[name](data_dir)
    client._ftlab_backend = name
    if not quiet:
        print(banner)
    return client


def class_server() -> tuple[str, str] | None:
    """``(base_url, key)`` of the class server the environment names, or None for a local sandbox."""
    env = os.environ
    url = env.get("FTLAB_BASE_URL") or env.get("OPENAI_BASE_URL")
    if not url:
        return None
    key = env.get("FTLAB_API_KEY") or env.get("OPENAI_API_KEY")
    if not key:
        raise RuntimeError(tr("{url} è un server di classe: serve la chiave dello studente in FTLAB_API_KEY.",
                              "{url} is a class server: the student's key must be in FTLAB_API_KEY.", url=url))
    return url, key


def whoami(client) -> dict:
    """The class server's ``/health``: its backend and the caller (``{"name", "role"}``)."""
    root = str(client.base_url).rstrip("/").removesuffix("/v1")
    return client.get(root + "/health", cast_to=object)


def _sandbox(data_dir):
    import openai

    from ftlab.sandbox import catalog, control

    if remote := class_server():
        return _class_server(*remote)
    info = control.start(data_dir)
    client = openai.OpenAI(base_url=info["base_url"], api_key=control.token(data_dir))
    banner = tr("Backend: sandbox locale ftlab su {url} (dati in {home}).\n"
                "I nomi dei modelli OpenAI del corso ({aliases}) usano qui "
                "un modello sostitutivo: {under}. Nessuna chiave, nessun costo, niente rete.",
                "Backend: local ftlab sandbox at {url} (data in {home}).\n"
                "The course's OpenAI model names ({aliases}) run here on a "
                "stand-in: {under}. No key, no cost, no network.",
                url=info["base_url"], home=control.data_dir(data_dir), under=catalog.underneath(),
                aliases=", ".join(ALIASES))
    return client, banner


def _class_server(url: str, key: str):
    import openai

    client = openai.OpenAI(base_url=url, api_key=key)
    try:
        health = whoami(client)
    except openai.AuthenticationError:
        raise RuntimeError(tr("Il server di classe {url} rifiuta la chiave in FTLAB_API_KEY (revocata o "
                              "sbagliata): chiedetene una nuova al docente.",
                              "The class server {url} refuses the key in FTLAB_API_KEY (revoked or wrong): "
                              "ask the instructor for a new one.", url=url)) from None
    if not isinstance(health, dict) or health.get("backend") != "sandbox":
        raise RuntimeError(tr("{url} non è un server ftlab (FTLAB_BASE_URL).",
                              "{url} is not an ftlab server (FTLAB_BASE_URL).", url=url))
    caller = health.get("caller") or {}
    who = caller.get("name", "?")
    if caller.get("role") == "instructor":
        who = tr("docente (vede tutti gli studenti)", "instructor (sees every student)")
    banner = tr("Backend: server di classe ftlab su {url}, utente: {who}.\n"
                "I nomi dei modelli OpenAI del corso usano qui un modello sostitutivo: {under}. "
                "Nessun costo; i vostri file, job e modelli li vedete solo voi.",
                "Backend: ftlab class server at {url}, user: {who}.\n"
                "The course's OpenAI model names run here on a stand-in: {under}. No cost; your files, "
                "jobs and models are visible to you only.", url=url, who=who,
                under=health.get("underneath", "?"))
    return client, banner


def _openai(data_dir):
    import openai

    if not os.environ.get("OPENAI_API_KEY"):
        raise RuntimeError(tr("Il backend 'openai' richiede la variabile d'ambiente OPENAI_API_KEY.",
                              "The 'openai' backend needs the OPENAI_API_KEY environment variable."))
    client = openai.OpenAI()
    banner = tr("Backend: OpenAI ({url}). Attenzione: le chiamate costano. Dal 2026 OpenAI chiude il "
                "fine-tuning self-service: molte organizzazioni ricevono 403 'training_not_available' da "
                "fine_tuning.jobs.create e dal {cutoff} nessuno può creare nuovi job. gpt-4.1-nano è stato "
                "ritirato il {retired}. In quel caso usa ftlab.connect('sandbox').",
                "Backend: OpenAI ({url}). Note: calls cost money. Since 2026 OpenAI is closing self-serve "
                "fine-tuning: many organisations get 403 'training_not_available' from "
                "fine_tuning.jobs.create, and from {cutoff} nobody can create new jobs. gpt-4.1-nano was "
                "retired on {retired}. If so, use ftlab.connect('sandbox').",
                url=client.base_url, cutoff=CUTOFF, retired=SHUTDOWN_DATES["gpt-4.1-nano-2025-04-14"])
    return client, banner


def _azure(data_dir):
    import openai

    missing = [v for v in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION")
               if not os.environ.get(v)]
    if missing:
        raise RuntimeError(tr("Il backend 'azure' richiede le variabili d'ambiente: {vars}.",
                              "The 'azure' backend needs the environment variables: {vars}.",
                              vars=", ".join(missing)))
    client = openai.AzureOpenAI()  # reads the three variables above
    banner = tr("Backend: Azure OpenAI ({endpoint}). Attenzione: le chiamate costano; i nomi dei modelli "
                "sono quelli dei tuoi deployment.",
                "Backend: Azure OpenAI ({endpoint}). Note: calls cost money; model names are your "
                "deployments' names.", endpoint=os.environ["AZURE_OPENAI_ENDPOINT"])
    return client, banner


def backend_name(client) -> str:
    """``"sandbox"``, ``"openai"`` or ``"azure"`` for a client (made by connect() or by hand)."""
    name = getattr(client, "_ftlab_backend", None)
    if name:
        return name
    import openai
    if isinstance(client, (openai.AzureOpenAI, getattr(openai, "AsyncAzureOpenAI", ()))):
        return "azure"
    return "sandbox" if is_local_url(client.base_url) else "openai"


def is_sandbox(client) -> bool:
    return backend_name(client) == "sandbox"


# Retired course models, and the day the other families shut down with their fine-tunes (openai_spec).
RETIRED = {"gpt-4.1-nano": SHUTDOWN_DATES["gpt-4.1-nano-2025-04-14"]}
CLOSING = SHUTDOWN_DATES["gpt-4.1-mini-2025-04-14"]


def _error_code(exc) -> str | None:
    body = getattr(exc, "body", None)
    body = body if isinstance(body, dict) else {}
    return getattr(exc, "code", None) or body.get("code") or (body.get("error") or {}).get("code")


def explain_error(exc, model: str | None = None) -> str | None:
    """An Italian/English explanation for the refusals the course meets on OpenAI or Azure, else None:
    403 ``training_not_available``, a retired model (404 ``model_not_found``), an Azure model with no
    deployment (404 ``DeploymentNotFound``)."""
    code, status = _error_code(exc), getattr(exc, "status_code", None)
    if code == "training_not_available":
        return tr("OpenAI ha rifiutato il job (403 training_not_available): la vostra organizzazione non può più "
                  "creare job di fine-tuning (chiusura progressiva dal {start}; per tutti dal {cutoff}). "
                  "Il caricamento dei file funziona ancora. Per addestrare usate la sandbox: ftlab.connect('sandbox').",
                  "OpenAI refused the job (403 training_not_available): your organisation can no longer create "
                  "fine-tuning jobs (winding down since {start}; for everyone from {cutoff}). File upload "
                  "still works. To train, use the sandbox: ftlab.connect('sandbox').", cutoff=CUTOFF,
                  start=WIND_DOWN_START)
    if code == "DeploymentNotFound":
        return tr("Azure OpenAI non trova il deployment {m!r} (404 DeploymentNotFound). Su Azure un modello, "
                  "anche quello addestrato, risponde solo dopo un deployment (portale, Azure CLI o API di "
                  "gestione, non l'SDK openai), e nel campo model va il nome del deployment.",
                  "Azure OpenAI cannot find the deployment {m!r} (404 DeploymentNotFound). On Azure a model, "
                  "fine-tuned ones included, answers only once deployed (portal, Azure CLI or the management "
                  "API, not the openai SDK), and the model field takes the deployment's name.", m=model or "?")
    if status == 404 and code == "model_not_found":
        retired = next((f"{name} ({day})" for name, day in RETIRED.items() if model and name in model), None)
        return tr("Il modello {m!r} non esiste o non è più servito (404 model_not_found). {why}Un modello "
                  "addestrato smette di rispondere quando il suo modello base viene ritirato: gpt-4o, "
                  "gpt-4o-mini, gpt-4.1 e gpt-4.1-mini chiudono il {closing} con tutti i loro fine-tune. "
                  "Per continuare: la sandbox (ftlab.connect('sandbox')) o un modello esportato (capitolo 09).",
                  "The model {m!r} does not exist or is no longer served (404 model_not_found). {why}A fine-tuned "
                  "model stops answering when its base model is retired: gpt-4o, gpt-4o-mini, gpt-4.1 and "
                  "gpt-4.1-mini shut down on {closing} with all their fine-tunes. To carry on: the sandbox "
                  "(ftlab.connect('sandbox')) or an exported model (chapter 09).", m=model or "?",
                  closing=CLOSING, why=tr("{r} è stato ritirato. ", "{r} was retired. ", r=retired) if retired else "")
    return None
