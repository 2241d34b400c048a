"""The answer reader for real: a tiny LoRA trained on the packaged MiniLM, saved, and loaded by
the graph's judge onto the packaged model again (local files only), scoring as it did."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from assistant.adapters.judge_data import JudgeExample
from assistant.adapters.reader import READER_MANIFEST, ReaderRecipe, load_answer_reader
from assistant.adapters.reader_fit import fit_reader_judge, save_reader_judge
from assistant.embedder import Embedder, resolve_model_path
from assistant.evidence import FEATURES, READER_FEATURE, EvidenceReader
from assistant.judgement import READER_DIR, FittedJudge, open_judge
from assistant.schemas import RetrievedChunk

pytestmark = pytest.mark.slow

ANSWERS = "To reset your password, open Settings, choose Security and press Reset password."
OFF_TOPIC = "Our offices are closed on public holidays and open again the next working day."


def example(i: int) -> JudgeExample:
    answers = i % 2 == 0
    texts = (ANSWERS if answers else OFF_TOPIC, OFF_TOPIC)
    return JudgeExample(
        conversation=f"c{i}",
        kind="answerable" if answers else "unanswerable",
        features=np.zeros((2, len(FEATURES))),
        chunk_labels=np.array([answers, False]),
        answers=answers,
        question=f"How do I reset my password? ({i})",
        context="",
        chunk_texts=texts,
    )


def test_a_trained_reader_loads_onto_the_packaged_model_and_scores_as_trained(
    embedder: Embedder, tmp_path: Path, caplog
):
    recipe = ReaderRecipe(epochs=1, batch_size=8, max_length=64)
    reader, manifest, turn, chunk = fit_reader_judge(
        [example(i) for i in range(20)],
        resolve_model_path(embedder.name),
        recipe,
        embedder=embedder.name,
        trained_on=["synthetic"],
        held_out_fold=None,
        cross_fit=0,
        log=lambda _: None,
    )
    folder = tmp_path / "judge" / READER_DIR
    save_reader_judge(folder, reader, manifest, turn, chunk)
    assert turn.inputs[-1] == f"max_{READER_FEATURE}"
    assert json.loads((folder / READER_MANIFEST).read_text())["pairs"] == 40

    loaded = load_answer_reader(folder, embedder.name)
    chunks = [ANSWERS, OFF_TOPIC]
    expected = reader.scores("How do I reset my password?", "", chunks)
    assert np.allclose(loaded.scores("How do I reset my password?", "", chunks), expected)

    with caplog.at_level(logging.WARNING):
        judge = open_judge("fitted", tmp_path / "judge", EvidenceReader(embedder), 0.3)
    assert isinstance(judge, FittedJudge) and judge.reader.answer_reader is not None
    assert not caplog.text
    passages = [
        RetrievedChunk(
            chunk_id=f"00000000-0000-0000-0000-00000000000{n}",
            doc_id=f"d{n}",
            tenant="t",
            text=text,
            score=0.5,
            dense_score=0.5,
        )
        for n, text in enumerate(chunks, 1)
    ]
    assert 0.0 <= judge.judge("How do I reset my password?", "", passages).confidence <= 1.0


def test_a_reader_trained_on_another_base_model_is_refused(embedder: Embedder, tmp_path: Path):
    (tmp_path / READER_MANIFEST).write_text(
        json.dumps(
            {
                "base_model": "packaged:another-model",
                "base_sha256": "0",
                "recipe": {},
                "trained_on": [],
                "pairs": 0,
                "positives": 0,
                "data_hash": "0",
                "seconds_per_step": 0.0,
            }
        )
    )
    from assistant.errors import InputError

    with pytest.raises(InputError, match="another-model"):
        load_answer_reader(tmp_path, embedder.name)
