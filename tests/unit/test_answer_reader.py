"""The answer reader in the judge: its score as an evidence column, heads fitted with it, and
the fallbacks when its folder is missing. A scripted reader stands in for the cross-encoder."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from doubles import HashEmbedder, chunk

from assistant.adapters.behaviour_fit import (
    READER_FEATURES,
    fit_judge,
    save_judge,
    with_reader_scores,
)
from assistant.adapters.judge_data import JudgeExample
from assistant.adapters.reader import question_text, reader_pairs
from assistant.errors import InputError
from assistant.evidence import FEATURES, READER_FEATURE, EvidenceReader
from assistant.judgement import READER_DIR, CosineGate, FittedJudge, open_judge


class KeywordReader:
    """Scores 3 for a chunk holding the word `solved`, -3 for any other."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, int]] = []

    def scores(self, question: str, context: str, chunks: Sequence[str]) -> np.ndarray:
        self.asked.append((question, context, len(chunks)))
        return np.array([3.0 if "solved" in c else -3.0 for c in chunks])


def example(i: int, answers: bool) -> JudgeExample:
    """A search of three chunks; when it answers its first chunk holds `solved`."""
    texts = (f"solved by {i}" if answers else f"nothing {i}", f"filler {i}", f"more {i}")
    return JudgeExample(
        conversation=f"c{i}",
        kind="answerable" if answers else "unanswerable",
        # Constant hand features get no weight: only the reader's column separates the labels.
        features=np.zeros((3, len(FEATURES))),
        chunk_labels=np.array([answers, False, False]),
        answers=answers,
        question=f"question {i}?",
        context="earlier",
        chunk_texts=texts,
    )


def test_the_readers_score_is_the_last_evidence_column():
    reader = KeywordReader()
    evidence = EvidenceReader(HashEmbedder(), answer_reader=reader)
    chunks = [
        chunk(1).model_copy(update={"text": "Here it is solved."}),
        chunk(2).model_copy(update={"text": "Nothing to see."}),
    ]
    read = evidence.read("How?", "before", chunks)
    assert evidence.features == (*FEATURES, READER_FEATURE)
    assert read.features.shape == (2, len(FEATURES) + 1)
    assert read.features[:, -1].tolist() == [3.0, -3.0]
    assert reader.asked == [("How?", "before", 2)]
    plain = evidence.without_answer_reader()
    assert plain.features == FEATURES
    assert plain.read("How?", "before", chunks).features.shape == (2, len(FEATURES))


def test_reader_pairs_keep_each_question_and_chunk_once():
    answerable = example(1, True)
    # The gold-removed twin repeats the question's non-gold chunks.
    twin = JudgeExample(
        conversation="c1",
        kind="gold_removed",
        features=answerable.features[1:],
        chunk_labels=np.array([False, False]),
        answers=False,
        question=answerable.question,
        context=answerable.context,
        chunk_texts=answerable.chunk_texts[1:],
    )
    pairs = reader_pairs([answerable, twin, example(2, False)])
    assert len(pairs) == 6
    assert [p.answers for p in pairs] == [True, False, False, False, False, False]


def test_the_readers_question_keeps_only_the_end_of_the_earlier_turn():
    assert question_text("Why?", "", 5) == "Why?"
    assert question_text("Why?", "one two three four five six", 2) == "five six | Why?"
    assert question_text("Why?", "one two", 0) == "Why?"


def fitted_reader_judge(folder: Path) -> None:
    examples = [example(i, i % 2 == 0) for i in range(40)]
    scored = with_reader_scores(examples, KeywordReader())
    assert scored[0].features.shape == (3, len(FEATURES) + 1)
    turn, chunk_head = fit_judge(
        scored, embedder="hash", trained_on=["t.jsonl"], features=READER_FEATURES
    )
    save_judge(turn, chunk_head, folder)


def test_heads_fitted_with_the_reader_judge_by_its_score(tmp_path: Path):
    fitted_reader_judge(tmp_path)
    judge = FittedJudge.load(
        tmp_path, EvidenceReader(HashEmbedder(), answer_reader=KeywordReader())
    )
    answered = judge.judge(
        "q?", "", [chunk(1), chunk(2).model_copy(update={"text": "solved here"})]
    )
    assert answered.answerable and 1 in answered.kept
    assert not judge.judge("q?", "", [chunk(1), chunk(2)]).answerable


def test_heads_fitted_with_the_reader_are_refused_without_it(tmp_path: Path):
    fitted_reader_judge(tmp_path)
    with pytest.raises(ValueError, match="other features"):
        FittedJudge.load(tmp_path, EvidenceReader(HashEmbedder()))


def plain_heads(folder: Path) -> None:
    examples = [example(i, i % 2 == 0) for i in range(40)]
    turn, chunk_head = fit_judge(examples, embedder="hash", trained_on=["t.jsonl"])
    save_judge(turn, chunk_head, folder)


def test_without_a_reader_folder_the_judge_keeps_the_heads_without_it(tmp_path: Path, caplog):
    plain_heads(tmp_path / "judge")
    with caplog.at_level(logging.WARNING):
        judge = open_judge("fitted", tmp_path / "judge", EvidenceReader(HashEmbedder()), 0.3)
    assert isinstance(judge, FittedJudge)
    assert judge.reader.answer_reader is None
    assert "answer reader not used" in caplog.text


def test_a_broken_reader_folder_falls_back_as_a_missing_one(tmp_path: Path, caplog):
    plain_heads(tmp_path / "judge")
    (tmp_path / "judge" / READER_DIR).mkdir()
    (tmp_path / "judge" / READER_DIR / "reader.json").write_text("{broken")
    with caplog.at_level(logging.WARNING):
        judge = open_judge("fitted", tmp_path / "judge", EvidenceReader(HashEmbedder()), 0.3)
    assert isinstance(judge, FittedJudge) and judge.reader.answer_reader is None
    assert "cannot load the reader" in caplog.text


def test_without_any_heads_the_judge_is_the_cosine_gate(tmp_path: Path, caplog):
    with caplog.at_level(logging.WARNING):
        judge = open_judge("fitted", tmp_path / "judge", EvidenceReader(HashEmbedder()), 0.3)
    assert isinstance(judge, CosineGate)
    assert "cosine gate" in caplog.text


def test_loading_a_reader_from_an_empty_folder_says_how_to_train_one(tmp_path: Path):
    from assistant.adapters.reader import load_answer_reader

    with pytest.raises(InputError, match="train-reader"):
        load_answer_reader(tmp_path, "packaged:all-MiniLM-L6-v2")
