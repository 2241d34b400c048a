"""The qdrant-client engine: a Qdrant server (`QDRANT_URL`), or local mode on disk as an opt-in.

Local mode (`ASSISTANT_STORE_ENGINE=local`) scans every point in Python per query; it stays for
platforms without a Qdrant Edge wheel and as a fallback while Edge is beta, and costs nothing
here: it is the same client and the same calls as a server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from qdrant_client import QdrantClient, models

from assistant.errors import StoreUnavailableError
from assistant.knowledge.qdrant.base import DENSE, SPARSE, Offset, Payload
from assistant.settings import Settings

UPSERT_BATCH = 256


def open_qdrant(settings: Settings) -> QdrantClient:
    """Connect to the Qdrant server at `settings.qdrant_url`, or open local mode on disk.

    Raises `StoreUnavailableError` when the server does not answer (checked at once, not at the
    first query) or when the local folder is held by another process.
    """
    if settings.qdrant_url:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        client = QdrantClient(
            url=settings.qdrant_url,
            api_key=api_key,
            timeout=settings.qdrant_timeout_s,
            # Our own check below fails fast with a clear error instead of a version warning.
            check_compatibility=False,
        )
        try:
            client.get_collections()
        except Exception as exc:  # connection refused, timeout, 401: all mean "not usable"
            client.close()
            raise StoreUnavailableError(
                f"cannot reach Qdrant at {settings.qdrant_url}: {exc}. Check that the server "
                "is up and QDRANT_URL / QDRANT_API_KEY are right, or unset QDRANT_URL to use "
                "the embedded store."
            ) from exc
        return client
    path = settings.qdrant_path
    try:
        path.mkdir(parents=True, exist_ok=True)
        return QdrantClient(path=str(path))
    except RuntimeError as exc:
        if "already accessed" in str(exc):
            raise StoreUnavailableError(
                f"the local Qdrant store at {path} is in use by another process; local mode "
                "allows one process at a time. Stop the other process, or run a Qdrant server "
                "and set QDRANT_URL."
            ) from exc
        raise StoreUnavailableError(f"cannot open the local Qdrant store at {path}: {exc}") from exc
    except (OSError, ValueError, sqlite3.Error) as exc:
        raise StoreUnavailableError(f"cannot open the local Qdrant store at {path}: {exc}") from exc


class ClientEngine:
    """A collection reached through qdrant-client."""

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        *,
        where: str,
        payload_indexes: bool = True,
        shards: int | None = None,
        replication_factor: int | None = None,
    ) -> None:
        self.client = client
        self.collection = collection
        self.where = where
        # Local mode has no payload indexes (it warns when asked); a server needs them.
        self.payload_indexes = payload_indexes
        # Distributed mode only; None leaves the server's defaults (1 shard, 1 copy).
        self.shards = shards
        self.replication_factor = replication_factor

    @classmethod
    def open(cls, settings: Settings) -> ClientEngine:
        """The server at `settings.qdrant_url`, else local mode at `settings.qdrant_path`."""
        return cls(
            open_qdrant(settings),
            settings.collection,
            where=settings.qdrant_url or str(settings.qdrant_path),
            payload_indexes=settings.qdrant_url is not None,
            shards=settings.qdrant_shards,
            replication_factor=settings.qdrant_replication_factor,
        )

    def close(self) -> None:
        self.client.close()

    def exists(self) -> bool:
        return self.client.collection_exists(self.collection)

    def create(self, dim: int) -> None:
        self.client.create_collection(
            self.collection,
            vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            shard_number=self.shards,
            replication_factor=self.replication_factor,
        )
        if self.payload_indexes:
            self.client.create_payload_index(
                self.collection,
                "tenant",
                models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
            )
            self.client.create_payload_index(
                self.collection, "doc_id", models.PayloadSchemaType.KEYWORD
            )

    def dense_size(self) -> int | None:
        params = self.client.get_collection(self.collection).config.params
        dense = params.vectors.get(DENSE) if isinstance(params.vectors, dict) else None
        if dense is None or SPARSE not in (params.sparse_vectors or {}):
            return None
        return dense.size

    def upsert(self, points: Sequence[models.PointStruct]) -> None:
        for start in range(0, len(points), UPSERT_BATCH):
            self.client.upsert(self.collection, points[start : start + UPSERT_BATCH], wait=True)

    def set_payloads(self, payloads: Mapping[str, Payload]) -> None:
        operations: list[models.UpdateOperation] = [
            models.SetPayloadOperation(
                set_payload=models.SetPayload(payload=payload, points=[point_id])
            )
            for point_id, payload in payloads.items()
        ]
        self.client.batch_update_points(self.collection, operations, wait=True)

    def delete(self, ids: Sequence[str]) -> None:
        self.client.delete(self.collection, models.PointIdsList(points=list(ids)), wait=True)

    def delete_where(self, flt: models.Filter) -> None:
        self.client.delete(self.collection, models.FilterSelector(filter=flt), wait=True)

    def scroll(
        self,
        flt: models.Filter | None,
        *,
        limit: int,
        offset: Offset = None,
        fields: Sequence[str] | None = None,
        vectors: bool = False,
    ) -> tuple[list[models.Record], Offset]:
        return self.client.scroll(
            self.collection,
            scroll_filter=flt,
            limit=limit,
            offset=offset,
            with_payload=list(fields) if fields is not None else True,
            with_vectors=vectors,
        )

    def retrieve(self, ids: Sequence[str]) -> list[models.Record]:
        return self.client.retrieve(self.collection, list(ids), with_payload=True)

    def count(self, flt: models.Filter | None) -> int:
        return self.client.count(self.collection, count_filter=flt, exact=True).count

    def query(
        self,
        query: list[float] | models.SparseVector | models.FusionQuery,
        *,
        using: str | None,
        flt: models.Filter,
        limit: int,
        prefetch: Sequence[models.Prefetch] = (),
        with_dense: bool = False,
    ) -> list[models.ScoredPoint]:
        return self.client.query_points(
            self.collection,
            query=query,
            using=using,
            prefetch=list(prefetch) or None,
            query_filter=flt,
            limit=limit,
            with_vectors=[DENSE] if with_dense else False,
        ).points

    def build_index(self) -> bool:
        # A server indexes by its own optimizer; local mode has no index to build.
        return False
