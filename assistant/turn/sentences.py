"""The one sentence splitter of the turn: answers, streamed answers and passages split alike.

The citation check scores an answer sentence by sentence, the release streams it sentence by
sentence, and extractive answers are written from passage sentences, each with its marker: all
three must agree on where a sentence ends, or a piece of an extractive answer would reach the
check without a marker.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from assistant.knowledge.sentences import SENTENCE_END, split_sentences

__all__ = ["SENTENCE_END", "complete_sentences", "split_sentences"]


def complete_sentences(pieces: Iterable[str]) -> Iterator[str]:
    """`split_sentences` of the text `pieces` join to, each sentence as soon as it is complete.

    A sentence is complete once the text after it starts the next one: a boundary, once seen,
    stays one whatever follows, so a streamed answer splits exactly as the whole answer would.
    """
    buffer = ""
    for piece in pieces:
        *complete, buffer = SENTENCE_END.split(buffer + piece)
        yield from (s.strip() for s in complete if s.strip())
    if buffer.strip():
        yield buffer.strip()
