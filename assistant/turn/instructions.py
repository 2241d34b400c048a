"""Text in a document that instructs the assistant (or whoever reads it to a customer) is never
quoted to a customer nor shown to the model as a passage.

The detector is `assistant.knowledge.injection` (ingestion flags with it too); here the turn
applies it to what it is about to quote or show. A sentence is left out when the detector flags
it now, or when ingest stored it as flagged on its chunk (`Chunk.injections`): ingest knew the
knowledge base's own domains (the `knowledge_domains` setting and the documents' URLs), so its
flags are the authority for the outside-address rule, which the turn does not re-run; every other
rule runs here again, which also covers chunks stored before the detector existed.
A flagged sentence is dropped, not the page: a false positive costs one sentence of one answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.knowledge.injection import injection_reason
from assistant.schemas import InjectionFlag
from assistant.turn.sentences import split_sentences

_WORD = re.compile(r"\w+")
# A link's address, in Markdown or bare: the turn quotes a link by its text (`plain_inline`).
_ADDRESS = re.compile(r"\]\([^)]*\)|https?://\S+")


def instructs_the_assistant(sentence: str, flags: Sequence[InjectionFlag] = ()) -> bool:
    """Whether `sentence` instructs its reader or the assistant off script (the detector's
    domain-free rules), or is one of `flags`, the sentences ingest flagged in its chunk."""
    if injection_reason(sentence) is not None:
        return True
    words = _words(sentence)
    # Ingest and the turn split a chunk alike but read markup differently (a link's address, a
    # list's bullet): a sentence matches a flag when either one's words run inside the other's.
    return bool(words.strip()) and any(
        flagged.strip() and (words in flagged or flagged in words)
        for flagged in (_words(f.sentence) for f in flags)
    )


def without_instructions(text: str, flags: Sequence[InjectionFlag] = ()) -> str:
    """`text` with each sentence that instructs the assistant left out, paragraph by paragraph
    (a passage shown to the model, a quote shown to a customer); a paragraph without one is
    kept as it was written."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        sentences = split_sentences(" ".join(paragraph.split()))
        if any(instructs_the_assistant(s, flags) for s in sentences):
            paragraph = " ".join(s for s in sentences if not instructs_the_assistant(s, flags))
        paragraphs.append(paragraph)
    return "\n\n".join(p for p in paragraphs if p.strip())


def _words(text: str) -> str:
    return " " + " ".join(_WORD.findall(_ADDRESS.sub(" ", text).lower())) + " "
