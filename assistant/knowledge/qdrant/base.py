"""The storage engine under the knowledge base: one collection's points in some Qdrant.

`KnowledgeStore` owns the schema's meaning (named vectors, the tenant filter, RRF); an engine
only stores and queries points. Requests and results are qdrant-client models whatever the
engine, so the shared logic is written once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from qdrant_client import models

DENSE = "dense"
SPARSE = "sparse"

Payload = dict[str, Any]
Offset = models.ExtendedPointId | None


class StoreEngine(Protocol):
    """One collection of points with a `dense` and a `sparse` named vector."""

    collection: str
    where: str
    """Names the store in messages: the server's URL or the folder on disk."""

    def close(self) -> None:
        """Release the engine (and the lock on a folder)."""
        ...

    def exists(self) -> bool:
        """Whether the collection exists (asks the engine each time)."""
        ...

    def create(self, dim: int) -> None:
        """Create the collection: `dense` cosine of `dim`, `sparse` with IDF, and keyword
        payload indexes on `tenant` (the tenant key) and `doc_id` where the engine has them."""
        ...

    def dense_size(self) -> int | None:
        """The size of the stored `dense` vectors; None when either named vector is missing."""
        ...

    def upsert(self, points: Sequence[models.PointStruct]) -> None:
        """Store points, replacing those with the same ids; durable when this returns."""
        ...

    def set_payloads(self, payloads: Mapping[str, Payload]) -> None:
        """Merge each payload into the point with that id."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Delete points by id (unknown ids are ignored)."""
        ...

    def delete_where(self, flt: models.Filter) -> None:
        """Delete the points that match `flt`."""
        ...

    def scroll(
        self,
        flt: models.Filter | None,
        *,
        limit: int,
        offset: Offset = None,
        fields: Sequence[str] | None = None,
        vectors: bool = False,
    ) -> tuple[list[models.Record], Offset]:
        """One page of points matching `flt` with the payload `fields` (None: all) and, if
        `vectors`, both vectors; the offset of the next page, None after the last."""
        ...

    def retrieve(self, ids: Sequence[str]) -> list[models.Record]:
        """The points with these ids that exist, with payloads."""
        ...

    def count(self, flt: models.Filter | None) -> int:
        """Exact number of points matching `flt` (None: all)."""
        ...

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
        """The best `limit` points for a nearest-vector query on `using`, or for RRF over
        `prefetch`; payloads always, the dense vector if `with_dense`."""
        ...

    def build_index(self) -> bool:
        """Build what the engine builds after writes (HNSW); True if it did any work."""
        ...
