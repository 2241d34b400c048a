"""Flagging, at ingest, the sentences of a document's chunks that instruct the reader or the
assistant off script (`assistant.knowledge.injection`).

The flags are stored in each chunk's payload (`Chunk.injections`), so the turn leaves those
sentences out of every answer, and the run lists them (`IngestReport.flagged`) for the team to
read. A flagged chunk's `content_hash` covers its flags: re-ingesting after the detector or the
`knowledge_domains` setting changed rewrites the chunks whose flags changed, and only those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from assistant.knowledge.injection import flagged_sentences, own_domains
from assistant.schemas import Chunk, Document, FlaggedSentence, InjectionFlag


def flag_chunks(document: Document, chunks: list[Chunk], domains: Iterable[str]) -> list[Chunk]:
    """`chunks` of `document`, each carrying its flagged sentences. The knowledge base's own
    domains are `domains` (the setting) and the domain of the document's own URL."""
    own = own_domains(domains, [document.url])
    flagged = []
    for chunk in chunks:
        flags = [
            InjectionFlag(sentence=sentence, reason=reason)
            for sentence, reason in flagged_sentences(chunk.text, own)
        ]
        if flags:
            signed = chunk.content_hash + "".join(f"\x1f{f.reason}\x1f{f.sentence}" for f in flags)
            chunk = chunk.model_copy(
                update={
                    "injections": flags,
                    "content_hash": hashlib.sha256(signed.encode("utf-8")).hexdigest(),
                }
            )
        flagged.append(chunk)
    return flagged


def listed(chunks: Iterable[Chunk]) -> list[FlaggedSentence]:
    """The flagged sentences of `chunks` as an ingest run lists them."""
    return [
        FlaggedSentence(doc_id=c.doc_id, source=c.source, sentence=f.sentence, reason=f.reason)
        for c in chunks
        for f in c.injections
    ]
