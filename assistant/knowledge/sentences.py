"""The one sentence splitter of the library: the turn's answers and passages, and the injection
check at ingest, split alike (see `assistant.turn.sentences` for why the turn needs one).

It lives in the knowledge layer because ingestion (flagging a chunk's sentences) and the turn
(quoting them) both read it, and neither may import the other.
"""

from __future__ import annotations

import re

# A sentence ends at a marker followed by space (markers stay with their sentence), or at
# . ! ? followed by space and anything but a lower-case letter: "e.g. the" and "etc. and" run on.
SENTENCE_END = re.compile(r"(?<=\])\s+(?=[^\s\[])|(?<=[.!?])\s+(?=[^\s\[a-z])")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped, each with its trailing markers."""
    return [s.strip() for s in SENTENCE_END.split(text.strip()) if s.strip()]
