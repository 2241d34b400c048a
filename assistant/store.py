"""The knowledge base: one Qdrant collection with a dense and a sparse named vector per chunk.

Every read is filtered by tenant, inside each prefetch too, so one tenant's chunks can never
reach another tenant's results.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import numpy as np
from qdrant_client import QdrantClient, models

from assistant.embedder import Embedder
from assistant.errors import InputError, StoreUnavailableError
from assistant.schemas import Chunk, RetrievedChunk
from assistant.settings import SearchMode, Settings
from assistant.sparse import SparseEncoder

DENSE = "dense"
SPARSE = "sparse"
UPSERT_BATCH = 256
SCROLL_PAGE = 512


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
                "the local store."
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


def index_text(chunk: Chunk) -> str:
    """What gets embedded for a chunk: its title and heading path give the text its context."""
    return "\n".join(part for part in (chunk.title, chunk.section, chunk.text) if part)


def tenant_filter(tenant: str, *conditions: models.Condition) -> models.Filter:
    """The filter every query carries: this tenant's points only."""
    return models.Filter(
        must=[
            models.FieldCondition(key="tenant", match=models.MatchValue(value=tenant)),
            *conditions,
        ]
    )


class KnowledgeStore:
    """Chunks with dense + sparse vectors in one Qdrant collection; hybrid search with RRF."""

    def __init__(
        self,
        client: QdrantClient,
        *,
        collection: str,
        embedder: Embedder,
        sparse: SparseEncoder,
        batch_size: int = 32,
        payload_indexes: bool = True,
        shards: int | None = None,
        replication_factor: int | None = None,
    ) -> None:
        self.client = client
        self.collection = collection
        self.embedder = embedder
        self.sparse = sparse
        self.batch_size = batch_size
        # Local mode has no payload indexes (it warns when asked); a server needs them.
        self.payload_indexes = payload_indexes
        # Distributed mode only; None leaves the server's defaults (1 shard, 1 copy).
        self.shards = shards
        self.replication_factor = replication_factor
        self._exists = False

    @classmethod
    def open(cls, settings: Settings, *, embedder: Embedder, sparse: SparseEncoder) -> Self:
        """Open the store the settings name (see `open_qdrant`); call `ensure_collection` next."""
        return cls(
            open_qdrant(settings),
            collection=settings.collection,
            embedder=embedder,
            sparse=sparse,
            batch_size=settings.embed_batch_size,
            payload_indexes=settings.qdrant_url is not None,
            shards=settings.qdrant_shards,
            replication_factor=settings.qdrant_replication_factor,
        )

    def close(self) -> None:
        """Release the client (and the lock on a local folder)."""
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- collection ---------------------------------------------------------------------------

    def ensure_collection(self) -> None:
        """Create the collection if missing; check an existing one fits this embedder."""
        if self._exists:
            return
        if self.client.collection_exists(self.collection):
            self._check_schema()
        else:
            self.client.create_collection(
                self.collection,
                vectors_config={
                    DENSE: models.VectorParams(
                        size=self.embedder.dim, distance=models.Distance.COSINE
                    )
                },
                sparse_vectors_config={
                    SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
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
        self._exists = True

    def _check_schema(self) -> None:
        params = self.client.get_collection(self.collection).config.params
        dense = params.vectors.get(DENSE) if isinstance(params.vectors, dict) else None
        sparse = params.sparse_vectors or {}
        if dense is None or SPARSE not in sparse:
            raise StoreUnavailableError(
                f"collection {self.collection!r} exists but lacks the named vectors "
                f"{DENSE!r} and {SPARSE!r}; choose another collection name"
            )
        if dense.size != self.embedder.dim:
            raise StoreUnavailableError(
                f"collection {self.collection!r} holds {dense.size}-dim vectors but the embedder "
                f"{self.embedder.name} makes {self.embedder.dim}-dim ones; use the embedder it "
                "was built with, or another collection name"
            )

    def _ready(self) -> bool:
        """Whether the collection exists; reads of a missing one return nothing."""
        if not self._exists:
            self._exists = self.client.collection_exists(self.collection)
        return self._exists

    # --- writes -------------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        """Embed (dense in batches, sparse) and store the chunks; ids are their `chunk_id`."""
        self.write_points(self.make_points(chunks))

    def make_points(self, chunks: Sequence[Chunk]) -> list[models.PointStruct]:
        """The points for `chunks`, vectors computed; touches no storage (safe in a thread)."""
        texts = [index_text(c) for c in chunks]
        dense = self.embedder.embed_documents(texts, batch_size=self.batch_size)
        return [
            models.PointStruct(
                id=chunk.chunk_id,
                vector={DENSE: vector.tolist(), SPARSE: self.sparse.encode_document(text)},
                payload=chunk.model_dump(exclude={"chunk_id"}),
            )
            for chunk, text, vector in zip(chunks, texts, dense, strict=True)
        ]

    def write_points(self, points: Sequence[models.PointStruct]) -> None:
        """Store points made by `make_points`."""
        if not points:
            return
        self.ensure_collection()
        for start in range(0, len(points), UPSERT_BATCH):
            self.client.upsert(self.collection, points[start : start + UPSERT_BATCH], wait=True)

    def set_positions(self, positions: dict[str, int]) -> None:
        """Update the stored `position` of kept chunks after an edit moved them."""
        if not positions or not self._ready():
            return
        operations: list[models.UpdateOperation] = [
            models.SetPayloadOperation(
                set_payload=models.SetPayload(payload={"position": position}, points=[chunk_id])
            )
            for chunk_id, position in positions.items()
        ]
        self.client.batch_update_points(self.collection, operations, wait=True)

    def delete_chunks(self, ids: Sequence[str]) -> None:
        """Delete chunks by id (ids that are not stored are ignored)."""
        if ids and self._ready():
            self.client.delete(self.collection, models.PointIdsList(points=list(ids)), wait=True)

    def delete_document(self, doc_id: str, tenant: str) -> int:
        """Delete every chunk of one document of one tenant; returns how many there were."""
        if not self._ready():
            return 0
        selector = tenant_filter(
            tenant, models.FieldCondition(key="doc_id", match=models.MatchValue(value=doc_id))
        )
        found = self.client.count(self.collection, count_filter=selector, exact=True).count
        if found:
            self.client.delete(self.collection, models.FilterSelector(filter=selector), wait=True)
        return found

    # --- reads --------------------------------------------------------------------------------

    def chunk_hashes(self, doc_id: str, tenant: str) -> dict[str, str]:
        """The stored chunks of one document: chunk_id -> content_hash."""
        return self.chunk_hashes_by_doc([doc_id], tenant).get(doc_id, {})

    def chunk_hashes_by_doc(self, doc_ids: Sequence[str], tenant: str) -> dict[str, dict[str, str]]:
        """The stored chunks of several documents: doc_id -> {chunk_id: content_hash}.

        One scroll for many documents: local mode scans every point per query, so a bulk
        ingest asks once per batch of documents rather than once per document.
        """
        grouped: dict[str, dict[str, str]] = {}
        if not doc_ids or not self._ready():
            return grouped
        flt = tenant_filter(
            tenant, models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(doc_ids)))
        )
        offset: models.ExtendedPointId | None = None
        while True:
            points, offset = self.client.scroll(
                self.collection,
                scroll_filter=flt,
                limit=SCROLL_PAGE,
                offset=offset,
                with_payload=["doc_id", "content_hash"],
                with_vectors=False,
            )
            for point in points:
                payload = point.payload or {}
                doc = grouped.setdefault(str(payload.get("doc_id")), {})
                doc[str(point.id)] = str(payload.get("content_hash", ""))
            if offset is None:
                return grouped

    def get_chunks(self, ids: Sequence[str], tenant: str) -> list[Chunk]:
        """The chunks with these ids that belong to `tenant`, in the order asked."""
        if not ids or not self._ready():
            return []
        points = self.client.retrieve(self.collection, list(ids), with_payload=True)
        found = {
            str(p.id): Chunk.model_validate({**(p.payload or {}), "chunk_id": str(p.id)})
            for p in points
        }
        return [found[i] for i in ids if i in found and found[i].tenant == tenant]

    def count(self, tenant: str | None = None) -> int:
        """Number of stored chunks, of one tenant or of all."""
        if not self._ready():
            return 0
        flt = tenant_filter(tenant) if tenant is not None else None
        return self.client.count(self.collection, count_filter=flt, exact=True).count

    # --- search -------------------------------------------------------------------------------

    def search(self, query: str, *, tenant: str, k: int, mode: SearchMode) -> list[RetrievedChunk]:
        """The `k` best chunks of `tenant` for `query`.

        `mode`: `hybrid` (dense and sparse prefetch fused by RRF), `dense` or `sparse`. Each
        result's `dense_score` is the query/chunk cosine whatever the mode, so callers can grade
        relevance on one scale; `score` is the mode's own score (RRF, cosine or BM25).
        """
        text = query.strip()
        if not text:
            raise InputError("the search query is empty")
        dense = self.embedder.embed_query(text)
        return self.search_vectors(
            dense, self.sparse.encode_query(text), tenant=tenant, k=k, mode=mode
        )

    def search_vectors(
        self,
        dense: np.ndarray,
        sparse: models.SparseVector,
        *,
        tenant: str,
        k: int,
        mode: SearchMode,
    ) -> list[RetrievedChunk]:
        """`search` with the query vectors already computed (benchmarks time just this part)."""
        if not self._ready():
            return []
        flt = tenant_filter(tenant)
        dense_query = dense.tolist()
        if mode == "dense":
            response = self.client.query_points(
                self.collection, query=dense_query, using=DENSE, query_filter=flt, limit=k
            )
            return [_to_chunk(p, dense_score=p.score) for p in response.points]
        if mode == "sparse":
            if not sparse.indices:  # only stopwords: BM25 has nothing to match
                return []
            response = self.client.query_points(
                self.collection,
                query=sparse,
                using=SPARSE,
                query_filter=flt,
                limit=k,
                with_vectors=[DENSE],
            )
        else:
            depth = max(4 * k, 20)  # RRF needs candidates beyond k from each list
            prefetch = [models.Prefetch(query=dense_query, using=DENSE, filter=flt, limit=depth)]
            if sparse.indices:
                prefetch.append(
                    models.Prefetch(query=sparse, using=SPARSE, filter=flt, limit=depth)
                )
            response = self.client.query_points(
                self.collection,
                prefetch=prefetch,
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                query_filter=flt,
                limit=k,
                with_vectors=[DENSE],
            )
        return [_to_chunk(p, dense_score=_cosine(dense, p)) for p in response.points]


def _cosine(query: np.ndarray, point: models.ScoredPoint) -> float | None:
    vectors = point.vector if isinstance(point.vector, dict) else {}
    stored = vectors.get(DENSE)
    if not isinstance(stored, list) or not stored:
        return None
    vector = np.asarray(stored, dtype=np.float32)
    norm = float(np.linalg.norm(vector) * np.linalg.norm(query))
    return float(vector @ query) / norm if norm else None


def _to_chunk(point: models.ScoredPoint, *, dense_score: float | None) -> RetrievedChunk:
    payload = point.payload or {}
    return RetrievedChunk.model_validate(
        {**payload, "chunk_id": str(point.id), "score": point.score, "dense_score": dense_score}
    )
