"""BM25-style sparse vectors computed offline; Qdrant adds the IDF (`Modifier.IDF`).

A document's weight for a term is BM25's saturated term frequency; a query's weights are 1.0,
so Qdrant's dot product over the IDF-modified index is the BM25 score.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from typing import TYPE_CHECKING

import Stemmer

if TYPE_CHECKING:  # qdrant-client (a second to import) only where vectors are made for the store
    from qdrant_client import models

# Same token pattern as bm25s and scikit-learn: words of two or more characters.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
# Stemmed-token count of a typical chunk (~1200 chars; the support corpus averages 101). A fixed
# value keeps a document's weights independent of what else is indexed, so re-ingesting a
# document never changes its vector.
DEFAULT_AVG_DOC_LEN = 100.0


class SparseEncoder:
    """Turns text into BM25 term-weight vectors with stable token ids (crc32 of the stem)."""

    def __init__(
        self, *, k1: float = 1.2, b: float = 0.75, avg_doc_len: float = DEFAULT_AVG_DOC_LEN
    ) -> None:
        self.k1 = k1
        self.b = b
        self.avg_doc_len = avg_doc_len
        # bm25s's package imports scipy: loaded with the first encoder, not with this module.
        from bm25s.stopwords import STOPWORDS_EN

        self._stemmer = Stemmer.Stemmer("english")
        self._stopwords = frozenset(STOPWORDS_EN)

    def tokenize(self, text: str) -> list[str]:
        """Lower-case words minus English stopwords, Snowball-stemmed."""
        words = [w for w in _TOKEN.findall(text.lower()) if w not in self._stopwords]
        return list(self._stemmer.stemWords(words))

    @staticmethod
    def token_id(token: str) -> int:
        """A token's index in the sparse space: crc32 is the same in every process and run."""
        return zlib.crc32(token.encode("utf-8"))

    def encode_document(self, text: str) -> models.SparseVector:
        """BM25 document weights: tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))."""
        tokens = self.tokenize(text)
        norm = self.k1 * (1.0 - self.b + self.b * len(tokens) / self.avg_doc_len)
        weights: dict[int, float] = {}
        for token, tf in Counter(tokens).items():
            index = self.token_id(token)
            # Two stems hashing to one id (rare) share it; adding keeps both contributions.
            weights[index] = weights.get(index, 0.0) + tf * (self.k1 + 1.0) / (tf + norm)
        return _to_vector(weights)

    def encode_query(self, text: str) -> models.SparseVector:
        """Query weights: 1.0 per distinct term (IDF comes from Qdrant)."""
        return _to_vector({self.token_id(t): 1.0 for t in set(self.tokenize(text))})


def _to_vector(weights: dict[int, float]) -> models.SparseVector:
    from qdrant_client import models

    indices = sorted(weights)
    return models.SparseVector(indices=indices, values=[weights[i] for i in indices])
