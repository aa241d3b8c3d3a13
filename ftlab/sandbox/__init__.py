"""The sandbox: a local server that speaks OpenAI's fine-tuning API and really trains.

``ftlab.connect()`` starts it for you; ``ftlab serve`` runs it in the foreground. In the shape of
llama-cpp-python's and vLLM's servers: ``app`` (builds the FastAPI app), ``routes/`` (one router
per resource), ``types`` (pydantic request/response models), ``errors`` (OpenAI's error envelope),
``dependencies`` (auth, store, engine for the routes), ``settings`` (every ``FTLAB_*``),
``catalog`` (the model names served), ``store`` (SQLite + blobs), ``worker`` (the job runner
process), ``control`` (start/stop), ``models`` (the stand-in model), ``training/`` (LoRA
fine-tuning), ``inference`` / ``batching`` / ``greedyhead`` (generation), ``cpu`` (threads,
kernels and the lone-row layout), ``job_errors`` (OpenAI's error for a bad training file).
"""
