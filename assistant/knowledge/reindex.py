"""`assistant reindex`: a folder written by Qdrant local mode, rebuilt as Qdrant Edge indexes.

Every point local mode stored (payload and both vectors) is copied unchanged into a new Edge
shard per collection, so nothing is embedded again and ids stay the same. The new folder is
made beside the old one and swapped in only once every collection is copied and counted; the
old folder is kept, renamed, for the user to delete.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel
from qdrant_client import models

from assistant.errors import InputError, StoreUnavailableError
from assistant.knowledge.qdrant.edge import EdgeEngine, written_by_local_mode
from assistant.knowledge.qdrant.server import ClientEngine, open_qdrant
from assistant.settings import Settings

PAGE = 512

ProgressCallback = Callable[[str, int], None]
"""Called with a collection's name and the points copied so far."""


class ReindexReport(BaseModel):
    """What `reindex_local_mode` did."""

    folder: Path
    backup: Path
    points: dict[str, int]
    """Points copied, per collection."""


def backup_folder(folder: Path) -> Path:
    """Where the local-mode folder is kept after a reindex."""
    return folder.with_name(folder.name + ".local-mode")


def reindex_local_mode(
    settings: Settings, *, on_progress: ProgressCallback | None = None
) -> ReindexReport:
    """Rebuild the local-mode folder at `settings.qdrant_path` as Qdrant Edge indexes.

    Raises `InputError` when the folder was not written by local mode or the backup's name is
    taken, `StoreUnavailableError` when a copy does not add up (the old folder is untouched).
    """
    folder = settings.qdrant_path
    if not written_by_local_mode(folder):
        raise InputError(f"{folder} holds no index written by Qdrant local mode: nothing to do")
    backup, staging = backup_folder(folder), folder.with_name(folder.name + ".edge-new")
    if backup.exists():
        raise InputError(f"{backup} exists (an earlier reindex?); move it away and run again")
    shutil.rmtree(staging, ignore_errors=True)  # what a failed earlier run left
    progress = on_progress or (lambda _name, _done: None)
    client = open_qdrant(settings.model_copy(update={"qdrant_url": None}))
    points: dict[str, int] = {}
    try:
        for collection in client.get_collections().collections:
            source = ClientEngine(client, collection.name, where=str(folder))
            points[collection.name] = _copy(source, EdgeEngine(staging, collection.name), progress)
    finally:
        client.close()
    folder.rename(backup)
    staging.rename(folder)
    return ReindexReport(folder=folder, backup=backup, points=points)


def _copy(source: ClientEngine, target: EdgeEngine, progress: ProgressCallback) -> int:
    dim = source.dense_size()
    if dim is None:
        raise InputError(
            f"collection {source.collection!r} in {source.where} lacks the named vectors "
            "'dense' and 'sparse': it was not written by this assistant"
        )
    target.create(dim)
    try:
        done, offset = 0, None
        while True:
            records, offset = source.scroll(None, limit=PAGE, offset=offset, vectors=True)
            target.upsert(
                [
                    models.PointStruct(id=r.id, vector=r.vector or {}, payload=r.payload)
                    for r in records
                ]
            )
            done += len(records)
            progress(source.collection, done)
            if offset is None:
                break
        expected, copied = source.count(None), target.count(None)
        if copied != expected:
            raise StoreUnavailableError(
                f"collection {source.collection!r}: {copied} of {expected} points copied; "
                f"{source.where} is left as it was"
            )
        target.build_index()
    finally:
        target.close()
    return copied
