"""An answer released while it is drafted: a piece is shown only once nothing can take it back.

What a streaming client sees must be the answer, so a piece leaves here only when it is final.
With sentence verification on, that is each sentence once it is complete and checked against
the chunks it cites (one that `remove` drops is never shown). With it off, the drafted text goes
out as it comes, its markers resolved (an unfinished `[n` is held back until it closes). Either
way nothing is shown before the answer cites something: an answer citing nothing is declined.
With verification on, a sentence that instructs the reader off script (`turn.instructions`:
"send your password to ...") is withheld too; with it off the text streams unchecked, but the
model never read a flagged sentence (passages are shown without them).
The released pieces join to the released text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from assistant.schemas import RetrievedChunk
from assistant.turn.citations import resolve_citations
from assistant.turn.instructions import instructs_the_assistant
from assistant.turn.sentences import complete_sentences
from assistant.turn.verification import CitationVerifier

# The end of a draft that may still become (part of) a marker: space, then `[` and digits.
_UNSETTLED = re.compile(r"\s*(?:\[\d{0,3})?$")


@dataclass(frozen=True)
class AnswerPiece:
    """The next piece of the turn's answer, final already (the graph's custom stream)."""

    text: str


Show = Callable[[AnswerPiece], None]


class Released(BaseModel):
    """The answer as released: its text with only valid markers, and what was held back."""

    text: str
    unsupported: list[str] = []
    removed_citations: int = 0
    withheld: list[str] = []


def release(
    draft: Iterable[str],
    chunks: Sequence[RetrievedChunk],
    verifier: CitationVerifier | None,
    *,
    remove: bool,
    show: Show,
) -> Released:
    """Release the `draft` pieces over the turn's `chunks` (1-based markers), calling `show`
    with each piece as it becomes final. `verifier` None: no sentence check; `remove`: an
    unsupported sentence is dropped (else it is kept and listed)."""
    if verifier is None:
        return _release_text(draft, chunks, show)
    return _release_sentences(draft, chunks, verifier, remove, show)


def _release_sentences(
    draft: Iterable[str],
    chunks: Sequence[RetrievedChunk],
    verifier: CitationVerifier,
    remove: bool,
    show: Show,
) -> Released:
    kept: list[str] = []
    unsupported: list[str] = []
    withheld: list[str] = []
    removed = 0
    flags = [flag for chunk in chunks for flag in chunk.injections]
    # Sentences kept before the answer cites anything wait here: it may yet be declined.
    waiting: list[str] = []
    for sentence in complete_sentences(draft):
        cited = resolve_citations(sentence, list(chunks))
        removed += cited.removed
        if not cited.text:
            continue
        # A model that wrote an injected instruction (from a passage, or from the question)
        # never gets it to the customer, whatever the check of its support says.
        if instructs_the_assistant(cited.text, flags):
            withheld.append(cited.text)
            continue
        check = verifier.check_sentence(cited.text, chunks)
        if not check.supported:
            unsupported.append(cited.text)
            if remove:
                continue
        waiting.append(cited.text)
        # Anything kept means a cited sentence was: the answer will not be declined.
        if kept or cited.citations:
            for text in waiting:
                show(AnswerPiece(text=f" {text}" if kept else text))
                kept.append(text)
            waiting = []
    # Kept sentences that never got a cited one after them: the answer cites nothing.
    return Released(
        text=" ".join([*kept, *waiting]),
        unsupported=unsupported,
        removed_citations=removed,
        withheld=withheld,
    )


def _release_text(draft: Iterable[str], chunks: Sequence[RetrievedChunk], show: Show) -> Released:
    raw = ""
    shown = ""
    for piece in draft:
        raw += piece
        cited = resolve_citations(_settled(raw), list(chunks))
        # A settled prefix resolves to a prefix of the whole answer's text.
        if cited.citations and len(cited.text) > len(shown):
            show(AnswerPiece(text=cited.text[len(shown) :]))
            shown = cited.text
    whole = resolve_citations(raw, list(chunks))
    if whole.citations and len(whole.text) > len(shown):
        show(AnswerPiece(text=whole.text[len(shown) :]))
    return Released(text=whole.text, removed_citations=whole.removed)


def _settled(raw: str) -> str:
    unsettled = _UNSETTLED.search(raw)
    return raw[: unsettled.start()] if unsettled else raw
