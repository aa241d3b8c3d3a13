"""The sandbox: a local server that speaks OpenAI's fine-tuning API and really trains.

``ftlab.connect()`` starts it for you; ``ftlab serve`` runs it in the foreground. Modules:
``app`` (routes), ``schemas`` (request checks, shapes), ``errors`` (OpenAI's error envelope),
``store`` (SQLite + blobs), ``worker`` (the job runner process), ``control`` (start/stop),
``models`` / ``trainer`` / ``inference`` (the stand-in model, LoRA training, generation).
"""
