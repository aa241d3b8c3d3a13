"""``ftlab.connect()``: an ``openai.OpenAI`` client for the sandbox, OpenAI or Azure OpenAI.

The notebooks' first cell is ``client = ftlab.connect()``. The sandbox (default) is started in the
background for ``$FTLAB_HOME`` when it is not running yet. Whatever the backend, connect() prints
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


def _sandbox(data_dir):
    import openai

    from ftlab.sandbox import catalog, control

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


def explain_error(exc) -> str | None:
    """An Italian/English explanation for OpenAI's ``training_not_available`` refusal, else None."""
    code = getattr(exc, "code", None) or (getattr(exc, "body", None) or {}).get("code")
    if code != "training_not_available":
        return None
    return tr("OpenAI ha rifiutato il job (403 training_not_available): la tua organizzazione non può più "
              "creare job di fine-tuning (chiusura progressiva dal {start}; per tutti dal {cutoff}). "
              "Il caricamento dei file funziona ancora. Per addestrare usa la sandbox: ftlab.connect('sandbox').",
              "OpenAI refused the job (403 training_not_available): your organisation can no longer create "
              "fine-tuning jobs (winding down since {start}; for everyone from {cutoff}). File upload "
              "still works. To train, use the sandbox: ftlab.connect('sandbox').", cutoff=CUTOFF, start=WIND_DOWN_START)
