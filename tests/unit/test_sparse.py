from __future__ import annotations

import subprocess
import sys
import zlib

from assistant.knowledge.sparse import SparseEncoder


def test_tokens_are_lowercased_stemmed_and_stopwords_dropped() -> None:
    tokens = SparseEncoder().tokenize("The Running of the servers IS configured")

    assert tokens == ["run", "server", "configur"]


def test_inflections_share_one_token_id() -> None:
    encoder = SparseEncoder()

    assert encoder.encode_query("refunds").indices == encoder.encode_query("refund").indices


def test_token_ids_are_crc32_and_the_same_in_another_process() -> None:
    here = SparseEncoder().encode_query("billing refund").indices
    code = (
        "from assistant.knowledge.sparse import SparseEncoder; "
        "print(SparseEncoder().encode_query('billing refund').indices)"
    )

    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert here == sorted([zlib.crc32(b"bill"), zlib.crc32(b"refund")])
    assert there.strip() == str(here)


def test_query_weights_are_one_per_distinct_term() -> None:
    vector = SparseEncoder().encode_query("refund refund card")

    assert vector.values == [1.0, 1.0]


def test_document_weights_saturate_with_term_frequency() -> None:
    encoder = SparseEncoder()
    refund = SparseEncoder.token_id("refund")

    def weight(text: str) -> float:
        vector = encoder.encode_document(text)
        return vector.values[vector.indices.index(refund)]

    once, twice, many = weight("refund"), weight("refund refund"), weight("refund " * 50)
    assert once < twice < many < encoder.k1 + 1


def test_longer_documents_weigh_a_term_less() -> None:
    encoder = SparseEncoder()
    refund = SparseEncoder.token_id("refund")
    short = encoder.encode_document("refund policy")
    long = encoder.encode_document("refund policy " + "shipping tracking " * 100)

    assert long.values[long.indices.index(refund)] < short.values[short.indices.index(refund)]


def test_only_stopwords_give_an_empty_vector() -> None:
    vector = SparseEncoder().encode_query("Is it? No, not that, and not in this.")

    assert vector.indices == [] and vector.values == []
