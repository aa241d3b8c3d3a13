"""The API's routers, one per OpenAI resource; ``app`` mounts them behind ``authenticate``."""
from . import chat, files, health, jobs, models, responses

ROUTERS = (health.router, files.router, jobs.router, models.router, chat.router, responses.router)
