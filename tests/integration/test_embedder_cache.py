"""The embedder embeds each distinct passage once while it is recent: a turn reads the same
sentences in the judge, the answer and the citation check."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from assistant.knowledge import embedder as embedder_module
from assistant.knowledge.embedder import Embedder


def test_a_passage_embedded_lately_is_not_embedded_again_and_reads_the_same(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[str]] = []
    encode = embedder.encoder.encode

    def spy(texts: list[str], **kwargs: Any) -> Any:
        asked.append(list(texts))
        return encode(texts, **kwargs)

    monkeypatch.setattr(embedder.encoder, "encode", spy)
    texts = ["Reset the router.", "Hold the ring for ten seconds.", "Reset the router."]
    first = embedder.embed_documents(texts)
    again = embedder.embed_documents(["Hold the ring for ten seconds.", "Open Settings."])
    assert asked == [
        ["Reset the router.", "Hold the ring for ten seconds."],
        ["Open Settings."],
    ]
    assert first.shape == (3, embedder.dim) and first.dtype == np.float32
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(first[1], again[0])
    # The same vectors as a call that embeds them all afresh.
    np.testing.assert_allclose(first, encode(texts, query=False, batch_size=32), atol=1e-6)
    # A caller that changes what it got back does not change what the next caller gets.
    kept = first[0].copy()
    first[0] += 1.0
    np.testing.assert_array_equal(embedder.embed_documents(["Reset the router."])[0], kept)


def test_the_cache_keeps_only_the_latest_passages(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedder_module, "CACHED_TEXTS", 2)
    embedder.embed_documents(["cache probe one", "cache probe two", "cache probe three"])
    asked: list[list[str]] = []
    encode = embedder.encoder.encode
    monkeypatch.setattr(
        embedder.encoder,
        "encode",
        lambda texts, **kw: asked.append(list(texts)) or encode(texts, **kw),
    )
    embedder.embed_documents(["cache probe one", "cache probe three"])
    assert asked == [["cache probe one"]]


def test_a_forgotten_passage_is_embedded_again(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder.embed_documents(["cache probe forgotten"])
    embedder.forget()
    asked: list[list[str]] = []
    encode = embedder.encoder.encode
    monkeypatch.setattr(
        embedder.encoder,
        "encode",
        lambda texts, **kw: asked.append(list(texts)) or encode(texts, **kw),
    )
    embedder.embed_documents(["cache probe forgotten"])
    assert asked == [["cache probe forgotten"]]
