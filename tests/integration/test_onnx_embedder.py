"""The embedder's ONNX backend: the packaged MiniLM exported once, run by onnxruntime, embeds,
searches and answers as sentence-transformers does, and a command on it imports no torch;
where it cannot be had, the model runs under sentence-transformers and a log line says why."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ModelUnavailableError
from assistant.evaluation.datasets import corpus_subset, load_support_qa
from assistant.ingestion.ingest import ingest_paths
from assistant.knowledge import onnx_export
from assistant.knowledge.embedder import (
    Embedder,
    SentenceTransformerEncoder,
    load_embedder,
    resolve_model_path,
)
from assistant.knowledge.onnx_encoder import OnnxEncoder
from assistant.knowledge.sentences import split_sentences
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.schemas import Answer
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

pytestmark = pytest.mark.slow

SPEC = Settings(_env_file=None).embedder  # type: ignore[call-arg]
QUESTIONS = 8


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def onnx_embedder(cache_dir: Path) -> Embedder:
    """The packaged model exported into a fresh cache (the first use of a machine)."""
    return load_embedder(SPEC, backend="onnx", cache_dir=cache_dir)


@pytest.fixture(scope="module")
def sentences(shared_data: Path) -> list[str]:
    """Three hundred sentences of the support corpus, as the evidence reader embeds them."""
    found: list[str] = []
    with (shared_data / "support_corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            found += split_sentences(json.loads(line)["text"])
            if len(found) >= 300:
                return found[:300]
    return found


def test_the_export_embeds_the_corpus_as_sentence_transformers_does(
    onnx_embedder: Embedder, embedder: Embedder, sentences: list[str], shared_data: Path
) -> None:
    assert isinstance(onnx_embedder.encoder, OnnxEncoder)
    assert isinstance(embedder.encoder, SentenceTransformerEncoder)
    assert onnx_embedder.dim == embedder.dim == 384
    documents = onnx_embedder.embed_documents(sentences)
    expected = embedder.embed_documents(sentences)
    assert documents.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(documents, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(documents * expected, axis=1))) >= 0.9999
    questions = [q.question for q in load_support_qa(shared_data / "support_qa_dev.jsonl")[:50]]
    queries = onnx_embedder.embed_queries(questions)
    assert float(np.min(np.sum(queries * embedder.embed_queries(questions), axis=1))) >= 0.9999
    one = onnx_embedder.embed_query(questions[0])
    assert float(one @ embedder.embed_query(questions[0])) >= 0.9999


def test_a_second_load_reuses_the_export(
    onnx_embedder: Embedder, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_export(*_: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "export_onnx", no_export)
    again = load_embedder(SPEC, backend="auto", cache_dir=cache_dir)
    assert isinstance(again.encoder, OnnxEncoder)
    np.testing.assert_array_equal(again.embed_query("Reset"), onnx_embedder.embed_query("Reset"))


@pytest.fixture(scope="module")
def indexed(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[Settings, list[str]]:
    """A small index made with sentence-transformers: the dev questions' gold passages and
    40 others, as the latency benchmark indexes them."""
    root = tmp_path_factory.mktemp("indexed")
    qa = load_support_qa(shared_data / "support_qa_dev.jsonl")[:QUESTIONS]
    subset = root / "corpus.jsonl"
    subset.write_text("\n".join(corpus_subset(shared_data / "support_corpus.jsonl", qa, 40)))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=root / "data",
        qdrant_path=root / "qdrant",
        cache_dir=root / "cache",
    )
    with KnowledgeStore.open(settings, embedder=embedder, sparse=SparseEncoder()) as store:
        store.ensure_collection()
        ingest_paths([subset], store, tenant=settings.tenant, max_chars=settings.chunk_max_chars)
        store.build_index()
    return settings, [q.question for q in qa]


def opened(settings: Settings, embedder: Embedder) -> KnowledgeStore:
    store = KnowledgeStore.open(settings, embedder=embedder, sparse=SparseEncoder())
    store.ensure_collection()
    return store


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_searches_find_the_same_chunks(
    indexed: tuple[Settings, list[str]], embedder: Embedder, onnx_embedder: Embedder, mode: str
) -> None:
    settings, questions = indexed

    def top5(with_embedder: Embedder) -> list[list[str]]:
        with opened(settings, with_embedder) as store:
            found = [store.search(q, tenant=settings.tenant, k=5, mode=mode) for q in questions]
        return [[c.chunk_id for c in chunks] for chunks in found]

    assert top5(onnx_embedder) == top5(embedder)


def test_the_assistant_answers_the_same(
    indexed: tuple[Settings, list[str]],
    embedder: Embedder,
    onnx_embedder: Embedder,
    chat_model: EmbeddedChatModel,
    tmp_path: Path,
) -> None:
    settings, questions = indexed

    def answers(with_embedder: Embedder, name: str) -> list[Answer]:
        with_embedder.forget()
        checkpointer = open_checkpointer(tmp_path / f"{name}.sqlite")
        with Assistant(
            settings,
            store=opened(settings, with_embedder),
            model=chat_model,
            checkpointer=checkpointer,
        ) as assistant:
            return [assistant.ask(q) for q in questions]

    def decided(answer: Answer) -> dict[str, object]:
        return answer.model_dump(include={"text", "citations", "outcome", "action", "triage"})

    onnx, torch = answers(onnx_embedder, "onnx"), answers(embedder, "torch")
    assert [decided(a) for a in onnx] == [decided(a) for a in torch]
    assert any(a.citations for a in torch)  # the comparison covers answers that quote


def test_searching_on_the_export_imports_no_torch(
    indexed: tuple[Settings, list[str]], onnx_embedder: Embedder
) -> None:
    """What `assistant search` loads once the export is made: the store and onnxruntime."""
    settings, questions = indexed
    shutil.rmtree(settings.cache_dir / "embedders", ignore_errors=True)
    shutil.copytree(onnx_embedder_cache(onnx_embedder), settings.cache_dir / "embedders")
    script = (
        "import sys\n"
        "from assistant.knowledge.store import open_store\n"
        "from assistant.settings import Settings\n"
        f"settings = Settings(_env_file=None, data_dir={str(settings.data_dir)!r}, "
        f"qdrant_path={str(settings.qdrant_path)!r}, cache_dir={str(settings.cache_dir)!r})\n"
        "with open_store(settings) as store:\n"
        f"    assert store.search({questions[0]!r}, tenant=settings.tenant, k=5, mode='hybrid')\n"
        "heavy = {'torch', 'transformers', 'sentence_transformers', 'sklearn'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def onnx_embedder_cache(embedder: Embedder) -> Path:
    """The `embedders` folder that holds this ONNX embedder's export."""
    assert isinstance(embedder.encoder, OnnxEncoder)
    return embedder.encoder.folder.parent


def test_without_onnxruntime_the_model_runs_under_sentence_transformers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnxruntime" else real(name, *a),
    )
    with caplog.at_level(logging.INFO, logger="assistant.knowledge.embedder"):
        fallen = load_embedder(SPEC, backend="auto", cache_dir=tmp_path)
    assert isinstance(fallen.encoder, SentenceTransformerEncoder)
    assert "onnxruntime is not installed" in caplog.text
    assert not (tmp_path / "embedders").exists()
    with pytest.raises(ModelUnavailableError, match="onnxruntime is not installed"):
        load_embedder(SPEC, backend="onnx", cache_dir=tmp_path)


@pytest.fixture(scope="module")
def prompted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's own model folder whose queries carry a prompt: the export (one pipeline for
    queries and documents) cannot embed it as the model does."""
    folder = tmp_path_factory.mktemp("prompted") / "model"
    shutil.copytree(resolve_model_path(SPEC), folder)
    config = folder / "config_sentence_transformers.json"
    settings = json.loads(config.read_text(encoding="utf-8"))
    settings["prompts"] = {"query": "query: ", "document": ""}
    config.write_text(json.dumps(settings), encoding="utf-8")
    return folder


def test_a_model_whose_export_differs_runs_under_sentence_transformers_and_is_not_tried_again(
    prompted_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="assistant.knowledge.embedder"):
        fallen = load_embedder(str(prompted_model), backend="auto", cache_dir=tmp_path)
    assert isinstance(fallen.encoder, SentenceTransformerEncoder)
    assert "embeds differently from the model's encode_query" in caplog.text
    assert list((tmp_path / "embedders").glob("*.failed"))
    assert not [p for p in (tmp_path / "embedders").iterdir() if p.is_dir()]  # no export kept

    def no_export(*_: object) -> None:
        raise AssertionError("tried again")

    monkeypatch.setattr(onnx_export, "export_onnx", no_export)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="assistant.knowledge.embedder"):
        again = load_embedder(str(prompted_model), backend="auto", cache_dir=tmp_path)
    assert isinstance(again.encoder, SentenceTransformerEncoder)
    assert "does not export to ONNX" in caplog.text
    monkeypatch.undo()  # asked for by name, the export is tried again, and refused
    with pytest.raises(ModelUnavailableError, match="embeds differently"):
        load_embedder(str(prompted_model), backend="onnx", cache_dir=tmp_path)


@pytest.fixture
def damaged(onnx_embedder: Embedder, tmp_path: Path) -> Iterator[Path]:
    """A copy of the export whose model file was cut short (a full disk, a killed copy)."""
    cache = tmp_path / "cache"
    shutil.copytree(onnx_embedder_cache(onnx_embedder), cache / "embedders")
    (model,) = (cache / "embedders").glob("*/model.onnx")
    model.write_bytes(model.read_bytes()[:1000])
    yield cache


def test_a_damaged_export_is_made_again(damaged: Path, onnx_embedder: Embedder) -> None:
    again = load_embedder(SPEC, backend="auto", cache_dir=damaged)
    assert isinstance(again.encoder, OnnxEncoder)
    np.testing.assert_allclose(
        again.embed_query("Reset"), onnx_embedder.embed_query("Reset"), atol=1e-6
    )
