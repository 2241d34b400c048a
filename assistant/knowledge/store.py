"""The knowledge base: one collection with a dense and a sparse named vector per chunk.

Every read is filtered by tenant, inside each prefetch too, so one tenant's chunks can never
reach another tenant's results. Where the points live is the engine's business
(`assistant.knowledge.qdrant`: Qdrant Edge in process, a Qdrant server, or local mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from qdrant_client import models

from assistant.closing import Closing
from assistant.errors import InputError, StoreUnavailableError
from assistant.knowledge.embedder import Embedder, open_embedder
from assistant.knowledge.qdrant import open_engine
from assistant.knowledge.qdrant.base import DENSE, SPARSE, Offset, StoreEngine
from assistant.knowledge.sparse import SparseEncoder
from assistant.schemas import Chunk, RetrievedChunk
from assistant.settings import SearchMode, Settings

SCROLL_PAGE = 512


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


def open_store(settings: Settings) -> KnowledgeStore:
    """Open the knowledge base the settings name, creating its collection if needed.

    Only the store and its encoders load (no chat model, no graph): what `assistant search`
    needs, and the first thing `Assistant.open` opens.
    """
    store = KnowledgeStore.open(
        settings,
        embedder=open_embedder(settings),
        sparse=SparseEncoder(),
    )
    store.ensure_collection()
    return store


class KnowledgeStore(Closing):
    """Chunks with dense + sparse vectors in one collection; hybrid search with RRF."""

    def __init__(
        self,
        engine: StoreEngine,
        *,
        embedder: Embedder,
        sparse: SparseEncoder,
        batch_size: int = 32,
    ) -> None:
        self.engine = engine
        self.embedder = embedder
        self.sparse = sparse
        self.batch_size = batch_size
        self._exists = False

    @classmethod
    def open(cls, settings: Settings, *, embedder: Embedder, sparse: SparseEncoder) -> Self:
        """Open the store the settings name (see `open_engine`); call `ensure_collection` next."""
        return cls(
            open_engine(settings),
            embedder=embedder,
            sparse=sparse,
            batch_size=settings.embed_batch_size,
        )

    @property
    def collection(self) -> str:
        return self.engine.collection

    def close(self) -> None:
        """Release the engine (and the lock on a folder)."""
        self.engine.close()

    # --- collection ---------------------------------------------------------------------------

    def ensure_collection(self) -> None:
        """Create the collection if missing; check an existing one fits this embedder."""
        if self._exists:
            return
        if self.engine.exists():
            self._check_schema()
        else:
            self.engine.create(self.embedder.dim)
        self._exists = True

    def _check_schema(self) -> None:
        size = self.engine.dense_size()
        if size is None:
            raise StoreUnavailableError(
                f"collection {self.collection!r} at {self.engine.where} exists but lacks the "
                f"named vectors {DENSE!r} and {SPARSE!r}; choose another collection name"
            )
        if size != self.embedder.dim:
            raise StoreUnavailableError(
                f"collection {self.collection!r} at {self.engine.where} holds {size}-dim vectors "
                f"but the embedder {self.embedder.name} makes {self.embedder.dim}-dim ones; use "
                "the embedder it was built with, or another collection name"
            )

    def _ready(self) -> bool:
        """Whether the collection exists; reads of a missing one return nothing."""
        if not self._exists:
            self._exists = self.engine.exists()
        return self._exists

    def build_index(self) -> bool:
        """Build the engine's search index for what was written (HNSW on Qdrant Edge; nothing
        elsewhere). Blocks, holding the GIL on Edge: call it where no query waits, e.g. at the
        end of a bulk ingest. Searches are right without it, only slower on large
        collections. True if it did any work."""
        return self._ready() and self.engine.build_index()

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
        self.engine.upsert(points)

    def set_positions(self, positions: dict[str, int]) -> None:
        """Update the stored `position` of kept chunks after an edit moved them."""
        if not positions or not self._ready():
            return
        self.engine.set_payloads(
            {chunk_id: {"position": position} for chunk_id, position in positions.items()}
        )

    def delete_chunks(self, ids: Sequence[str]) -> None:
        """Delete chunks by id (ids that are not stored are ignored)."""
        if ids and self._ready():
            self.engine.delete(ids)

    def delete_document(self, doc_id: str, tenant: str) -> int:
        """Delete every chunk of one document of one tenant; returns how many there were."""
        if not self._ready():
            return 0
        selector = tenant_filter(
            tenant, models.FieldCondition(key="doc_id", match=models.MatchValue(value=doc_id))
        )
        found = self.engine.count(selector)
        if found:
            self.engine.delete_where(selector)
        return found

    # --- reads --------------------------------------------------------------------------------

    def chunk_hashes_by_doc(self, doc_ids: Sequence[str], tenant: str) -> dict[str, dict[str, str]]:
        """The stored chunks of several documents: doc_id -> {chunk_id: content_hash}.

        One scroll for many documents: a bulk ingest asks once per batch of documents rather
        than once per document (local mode scans every point per query).
        """
        grouped: dict[str, dict[str, str]] = {}
        if not doc_ids or not self._ready():
            return grouped
        flt = tenant_filter(
            tenant, models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(doc_ids)))
        )
        offset: Offset = None
        while True:
            points, offset = self.engine.scroll(
                flt, limit=SCROLL_PAGE, offset=offset, fields=["doc_id", "content_hash"]
            )
            for point in points:
                payload = point.payload or {}
                doc = grouped.setdefault(str(payload.get("doc_id")), {})
                doc[str(point.id)] = str(payload.get("content_hash", ""))
            if offset is None:
                return grouped

    def get_chunks(self, ids: Sequence[str], tenant: str) -> list[Chunk]:
        """The chunks with these ids that belong to `tenant`, in the order asked.

        No turn reads a chunk by id (a search returns whole chunks); this is how the tests and
        the server contract read back what ingest stored and what a citation points at, through
        the store's own payload-to-`Chunk` reading and tenant check rather than the engine's.
        """
        if not ids or not self._ready():
            return []
        points = self.engine.retrieve(ids)
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
        return self.engine.count(flt)

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
        # Fused (RRF) scores tie often (ranks 1+3 and 3+1 sum alike), and the engine orders ties
        # by its internal point order, which differs between two builds of the same index: a
        # few candidates past k are fetched so that `in_stable_order` decides ties and the k-th
        # place the same way every time.
        limit = 2 * k
        if mode == "dense":
            points = self.engine.query(dense_query, using=DENSE, flt=flt, limit=limit)
            return in_stable_order([_to_chunk(p, dense_score=p.score) for p in points], k)
        if mode == "sparse":
            if not sparse.indices:  # only stopwords: BM25 has nothing to match
                return []
            points = self.engine.query(sparse, using=SPARSE, flt=flt, limit=limit, with_dense=True)
        else:
            depth = max(4 * k, 20)  # RRF needs candidates beyond k from each list
            prefetch = [models.Prefetch(query=dense_query, using=DENSE, filter=flt, limit=depth)]
            if sparse.indices:
                prefetch.append(
                    models.Prefetch(query=sparse, using=SPARSE, filter=flt, limit=depth)
                )
            points = self.engine.query(
                models.FusionQuery(fusion=models.Fusion.RRF),
                using=None,
                prefetch=prefetch,
                flt=flt,
                limit=limit,
                with_dense=True,
            )
        return in_stable_order([_to_chunk(p, dense_score=_cosine(dense, p)) for p in points], k)


def in_stable_order(chunks: Sequence[RetrievedChunk], k: int) -> list[RetrievedChunk]:
    """The `k` best by score; ties go to the closer chunk by cosine, then by chunk id, so the
    same index content gives the same results whatever order it was built in."""
    return sorted(
        chunks,
        key=lambda c: (
            -c.score,
            -(c.dense_score if c.dense_score is not None else -2.0),
            c.chunk_id,
        ),
    )[:k]


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
