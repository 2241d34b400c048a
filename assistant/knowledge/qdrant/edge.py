"""The embedded engine: Qdrant Edge, the server's own segments and query planner in process.

One folder per collection under `qdrant_path`. One process owns a folder (its write-ahead log
takes an exclusive lock), and a query holds the GIL while it runs. New points are searched
exactly (brute force) until `build_index` builds HNSW for segments past the engine's indexing
threshold, so results are right before any index exists.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from assistant.errors import StoreUnavailableError
from assistant.knowledge.qdrant.base import DENSE, SPARSE, Offset, Payload
from assistant.settings import Settings

# Qdrant's own default, as a server and local mode use: an RRF score is 1 / (k + 0-based rank).
RRF_K = 2
UPSERT_BATCH = 1024
# Edge writes through memory maps and grows its files 32 MiB at a time: on a full disk the
# process dies of SIGBUS, with no error to catch. Refusing a write below this much free space
# keeps the error clear (what was written stays: the write-ahead log replays on open).
MIN_FREE_BYTES = 128 * 1024 * 1024
# What Qdrant local mode leaves at the top of its folder.
LOCAL_MODE_MARKERS = ("meta.json", "collection")
CONFIG_FILE = "edge_config.json"


def written_by_local_mode(folder: Path) -> bool:
    """Whether `folder` holds an index written by qdrant-client's local mode."""
    return any((folder / name).exists() for name in LOCAL_MODE_MARKERS)


class EdgeEngine:
    """A collection as a Qdrant Edge shard in `folder / collection`."""

    def __init__(self, folder: Path, collection: str) -> None:
        self.collection = collection
        self.path = folder / collection
        self.where = str(self.path)
        self._shard: edge.EdgeShard | None = None
        if written_by_local_mode(folder):
            raise StoreUnavailableError(
                f"{folder} holds an index written by Qdrant local mode, the embedded engine "
                "before Qdrant Edge. Run `assistant reindex` to rebuild it as a Qdrant Edge "
                f"index from its own stored points (nothing is embedded again; the old folder is "
                f"kept as {folder.name}.local-mode), or set ASSISTANT_STORE_ENGINE=local to go "
                "on with local mode."
            )
        if self.path.is_dir() and any(self.path.iterdir()):
            with self._errors("open"):
                self._shard = edge.EdgeShard.load(str(self.path))

    @classmethod
    def open(cls, settings: Settings) -> EdgeEngine:
        return cls(settings.qdrant_path, settings.collection)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Edge raises bare `Exception`s: turn them into errors that name the folder."""
        try:
            yield
        except StoreUnavailableError:
            raise
        except Exception as exc:
            if "WouldBlock" in str(exc):
                raise StoreUnavailableError(
                    f"the Qdrant Edge index at {self.path} is in use by another process; one "
                    "process owns an index at a time. Stop the other process (an `assistant "
                    "serve`, `slack` or `ingest`?), or run a Qdrant server and set QDRANT_URL."
                ) from exc
            raise StoreUnavailableError(
                f"cannot {action} the Qdrant Edge index at {self.path}: {exc}. The folder is "
                "left as it is: free disk space and retry, restore it from a backup, or move it "
                "away and ingest the documents again."
            ) from exc

    @property
    def shard(self) -> edge.EdgeShard:
        if self._shard is None:
            raise StoreUnavailableError(f"no Qdrant Edge index at {self.path}")
        return self._shard

    def close(self) -> None:
        if self._shard is not None:
            with self._errors("close"):
                self._shard.close()
            self._shard = None

    def exists(self) -> bool:
        return self._shard is not None

    def create(self, dim: int) -> None:
        config = edge.EdgeConfig(
            vectors={DENSE: edge.EdgeVectorParams(size=dim, distance=edge.Distance.Cosine)},
            sparse_vectors={SPARSE: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
        )
        with self._errors("create"):
            shard = edge.EdgeShard.create(str(self.path), config)
            self._shard = shard
            shard.update(
                edge.UpdateOperation.create_field_index(
                    "tenant", edge.KeywordIndexParams(is_tenant=True)
                )
            )
            shard.update(
                edge.UpdateOperation.create_field_index("doc_id", edge.PayloadSchemaType.Keyword)
            )

    def dense_size(self) -> int | None:
        # The bindings do not expose a shard's config; the shard keeps it in this file.
        try:
            config = json.loads((self.path / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreUnavailableError(
                f"cannot read the config of the Qdrant Edge index at {self.path}: {exc}"
            ) from exc
        dense = config.get("vectors", {}).get(DENSE)
        if not isinstance(dense, dict) or SPARSE not in config.get("sparse_vectors", {}):
            return None
        return int(dense["size"])

    def _check_free_space(self) -> None:
        free = shutil.disk_usage(self.path).free
        if free < MIN_FREE_BYTES:
            raise StoreUnavailableError(
                f"the disk of the Qdrant Edge index at {self.path} is nearly full ({free >> 20} "
                f"MiB free, {MIN_FREE_BYTES >> 20} MiB needed to write); the write stopped "
                "there and what is stored is kept. Free some space and run it again (an ingest "
                "resumes where it stopped)."
            )

    def upsert(self, points: Sequence[models.PointStruct]) -> None:
        with self._errors("write to"):
            for start in range(0, len(points), UPSERT_BATCH):
                self._check_free_space()
                batch = [_point(p) for p in points[start : start + UPSERT_BATCH]]
                self.shard.update(edge.UpdateOperation.upsert_points(batch))

    def set_payloads(self, payloads: Mapping[str, Payload]) -> None:
        with self._errors("write to"):
            for point_id, payload in payloads.items():
                self.shard.update(edge.UpdateOperation.set_payload([point_id], payload))

    def delete(self, ids: Sequence[str]) -> None:
        with self._errors("write to"):
            self.shard.update(edge.UpdateOperation.delete_points(list(ids)))

    def delete_where(self, flt: models.Filter) -> None:
        with self._errors("write to"):
            self.shard.update(edge.UpdateOperation.delete_points_by_filter(_filter(flt)))

    def scroll(
        self,
        flt: models.Filter | None,
        *,
        limit: int,
        offset: Offset = None,
        fields: Sequence[str] | None = None,
        vectors: bool = False,
    ) -> tuple[list[models.Record], Offset]:
        request = edge.ScrollRequest(
            offset=offset,
            limit=limit,
            filter=_filter(flt) if flt is not None else None,
            with_payload=edge.PayloadSelector.Include(list(fields)) if fields is not None else True,
            with_vector=vectors,
        )
        with self._errors("read"):
            records, after = self.shard.scroll(request)
        return [_record(r) for r in records], str(after) if after is not None else None

    def retrieve(self, ids: Sequence[str]) -> list[models.Record]:
        with self._errors("read"):
            records = self.shard.retrieve(list(ids), with_payload=True, with_vector=False)
        return [_record(r) for r in records]

    def count(self, flt: models.Filter | None) -> int:
        request = edge.CountRequest(exact=True, filter=_filter(flt) if flt is not None else None)
        with self._errors("read"):
            return self.shard.count(request)

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
        request = edge.QueryRequest(
            limit=limit,
            query=_query(query, using),
            prefetches=[
                edge.Prefetch(
                    limit=p.limit or limit,
                    query=_query(p.query, p.using),
                    filter=_filter(p.filter) if isinstance(p.filter, models.Filter) else None,
                )
                for p in prefetch
            ],
            filter=_filter(flt),
            with_payload=True,
            with_vector=[DENSE] if with_dense else False,
        )
        with self._errors("search"):
            points = self.shard.query(request)
        return [
            models.ScoredPoint(
                id=str(p.id),
                version=p.version,
                score=p.score,
                payload=p.payload,
                vector=_vectors(p.vector),
            )
            for p in points
        ]

    def build_index(self) -> bool:
        with self._errors("index"):
            return self.shard.optimize()


def _point(point: models.PointStruct) -> edge.Point:
    vectors = point.vector if isinstance(point.vector, dict) else {}
    named: dict[str, edge.NamedVector] = {}
    for name, vector in vectors.items():
        if isinstance(vector, models.SparseVector):
            named[name] = edge.SparseVector(list(vector.indices), list(vector.values))
        elif isinstance(vector, list):
            named[name] = vector
    return edge.Point(point.id, named, point.payload)


def _condition(condition: Any) -> edge.FieldCondition:
    # KnowledgeStore's filters are keyword matches on payload fields; nothing else is needed.
    if isinstance(condition, models.FieldCondition):
        if isinstance(condition.match, models.MatchValue):
            return edge.FieldCondition(condition.key, match=edge.MatchValue(condition.match.value))
        if isinstance(condition.match, models.MatchAny):
            return edge.FieldCondition(condition.key, match=edge.MatchAny(condition.match.any))
    raise TypeError(f"the Edge engine does not translate the condition {condition!r}")


def _filter(flt: models.Filter) -> edge.Filter:
    if flt.should or flt.must_not or flt.min_should:
        raise TypeError("the Edge engine translates `must` filters only")
    must = flt.must if isinstance(flt.must, list) else [flt.must] if flt.must else []
    return edge.Filter(must=[_condition(c) for c in must])


def _query(query: Any, using: str | None) -> Any:
    if isinstance(query, models.FusionQuery) and query.fusion == models.Fusion.RRF:
        return edge.Fusion.Rrf(k=RRF_K)
    if isinstance(query, models.SparseVector):
        vector = edge.SparseVector(list(query.indices), list(query.values))
        return edge.Query.Nearest(vector, using=using)
    if isinstance(query, list):
        return edge.Query.Nearest(query, using=using)
    raise TypeError(f"the Edge engine does not translate the query {query!r}")


def _vectors(vector: Any) -> dict[str, Any] | None:
    if not isinstance(vector, dict):
        return None
    return {
        name: models.SparseVector(indices=list(v.indices), values=list(v.values))
        if isinstance(v, edge.SparseVector)
        else v
        for name, v in vector.items()
    }


def _record(record: edge.Record) -> models.Record:
    return models.Record(id=str(record.id), payload=record.payload, vector=_vectors(record.vector))
