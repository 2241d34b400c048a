"""Upload and delete knowledge-base documents, always within the caller's tenant."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from assistant.ingestion.ingest import ingest_documents
from assistant.ingestion.loaders import SUPPORTED_SUFFIXES, LoadError, load_file
from assistant.interfaces.api.app_state import Runtime
from assistant.interfaces.api.auth import Tenant
from assistant.interfaces.api.http_models import DeletedDocument
from assistant.interfaces.api.problems import ApiError
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Document, IngestReport

router = APIRouter(tags=["documents"])

Upload = tuple[str, bytes]

UPLOAD_PATH = "/v1/documents"
MAX_NAME_BYTES = 255


@router.post(UPLOAD_PATH)
async def upload_documents(
    files: Annotated[
        list[UploadFile],
        File(description="Markdown, HTML, text or JSONL files; the file name is the doc_id."),
    ],
    runtime: Runtime,
    tenant: Tenant,
) -> IngestReport:
    """Ingest the uploaded files for the key's tenant (re-uploading a file replaces it).

    A file that cannot be read is listed in `errors`; 422 when nothing could be ingested.
    Sentences that instruct the reader or the assistant off script are listed in `flagged`
    (document, sentence, reason): stored, never quoted in an answer.
    """
    uploads: list[Upload] = []
    for file in files:
        name = upload_name(file.filename)
        if any(name == seen for seen, _ in uploads):
            raise ApiError(400, f"{name}: uploaded twice in one request")
        uploads.append((name, await file.read()))
    store = runtime.assistant.store
    max_chars = runtime.settings.chunk_max_chars
    domains = runtime.settings.knowledge_domains
    report = await runtime.call(partial(ingest_uploads, store, uploads, tenant, max_chars, domains))
    if report.docs == 0 and report.errors:
        raise ApiError(422, "nothing was ingested: " + "; ".join(report.errors))
    return report


@router.delete("/v1/documents/{doc_id:path}")
async def delete_document(doc_id: str, runtime: Runtime, tenant: Tenant) -> DeletedDocument:
    """Remove a document (all its chunks); 404 when the tenant has no document of that id."""
    store = runtime.assistant.store
    removed = await runtime.call(partial(store.delete_document, doc_id, tenant))
    if not removed:
        raise ApiError(404, f"no document {doc_id!r}")
    return DeletedDocument(doc_id=doc_id, chunks_removed=removed)


def upload_name(filename: str | None) -> str:
    """The file's base name (never a path the client chose), with a supported suffix."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    if not name or name.startswith("."):
        raise ApiError(400, f"every upload needs a file name (got {filename!r})")
    # The upload is written to a temporary file under its name, so the name must be one the
    # file system takes: no NUL (nor other control characters), at most 255 bytes.
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ApiError(400, f"{name!r}: a file name may not contain control characters")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ApiError(400, f"{name[:40]}...: a file name may be at most {MAX_NAME_BYTES} bytes")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise ApiError(
            415, f"{name}: unsupported file type {suffix or '(none)'} (supported: {supported})"
        )
    return name


def ingest_uploads(
    store: KnowledgeStore,
    uploads: Sequence[Upload],
    tenant: str,
    max_chars: int,
    domains: Sequence[str] = (),
) -> IngestReport:
    """Ingest uploaded files through the same loaders as `assistant ingest`."""
    with tempfile.TemporaryDirectory(prefix="assistant-upload-") as folder:
        documents = _load(Path(folder), uploads, tenant)
        return ingest_documents(
            documents, store, tenant=tenant, max_chars=max_chars, domains=domains
        )


def _load(folder: Path, uploads: Sequence[Upload], tenant: str) -> Iterator[Document | LoadError]:
    for name, data in uploads:
        path = folder / name
        path.write_bytes(data)
        for item in load_file(path, doc_id=name, tenant=tenant):
            # Sources (shown in citations) name the upload, not the temporary copy.
            source = item.source.replace(str(path), name)
            yield item.model_copy(update={"source": source})
