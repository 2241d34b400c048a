"""Storage engines of the knowledge base; `open_engine` picks the one the settings name."""

from __future__ import annotations

from assistant.knowledge.qdrant.base import StoreEngine
from assistant.settings import Settings


def open_engine(settings: Settings) -> StoreEngine:
    """A Qdrant server when `QDRANT_URL` is set; else on disk at `qdrant_path`: Qdrant Edge,
    or qdrant-client's local mode with `ASSISTANT_STORE_ENGINE=local`.

    Raises `StoreUnavailableError` naming the server or folder when it cannot be used.
    """
    if settings.qdrant_url or settings.store_engine == "local":
        from assistant.knowledge.qdrant.server import ClientEngine

        return ClientEngine.open(settings)
    from assistant.knowledge.qdrant.edge import EdgeEngine

    return EdgeEngine.open(settings)
