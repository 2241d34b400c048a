"""Evaluation inputs: the documented formats load, and every bad file names its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.evaluation.datasets import (
    Fold,
    SupportQuestion,
    corpus_subset,
    detect_format,
    load_classification,
    load_support_qa,
    sample,
)
from assistant.evaluation.runner import EvalOptions
from assistant.evaluation.variants import parse_variants
from assistant.training.behaviour_fit import load_tasks


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


QUESTION = {
    "qid": "q1",
    "question": "How do I reset my password?",
    "history": [{"role": "user", "text": "I cannot log in"}, {"role": "agent", "text": "Hm."}],
    "doc_ids": ["d1"],
    "answerability": "ANSWERABLE",
    "answer": "Use the reset link.",
}


def test_support_qa_loads_and_uses_the_previous_user_turn(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [QUESTION])
    [question] = load_support_qa(path, need_reference=True)
    assert question.id == "q1"
    assert question.search_query() == "I cannot log in How do I reset my password?"
    assert question.search_query(with_history=False) == "How do I reset my password?"


def test_the_shared_dev_file_is_an_example_of_the_format(shared_data: Path) -> None:
    questions = load_support_qa(shared_data / "support_qa_dev.jsonl", need_reference=True)
    assert len(questions) == 131
    assert {q.answerability for q in questions} == {
        "ANSWERABLE",
        "PARTIAL",
        "UNANSWERABLE",
        "UNDERSPECIFIED",
    }


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        ("{not json", "qa.jsonl:2: not valid JSON"),
        ("[1, 2]", "qa.jsonl:2: not a JSON object"),
        (json.dumps({**QUESTION, "doc_ids": None}), "qa.jsonl:2: field `doc_ids`"),
        (
            json.dumps({k: v for k, v in QUESTION.items() if k != "answerability"}),
            "qa.jsonl:2: missing field `answerability`",
        ),
        (json.dumps({**QUESTION, "answerability": "MAYBE"}), "qa.jsonl:2: field `answerability`"),
        (
            json.dumps({k: v for k, v in QUESTION.items() if k != "answer"}),
            "qa.jsonl:2: missing field `answer`",
        ),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, second_line: str, message: str) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps(QUESTION) + "\n" + second_line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_support_qa(path, need_reference=True)


def test_an_empty_or_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no rows"):
        load_support_qa(empty)
    with pytest.raises(InputError, match="cannot read"):
        load_support_qa(tmp_path / "absent.jsonl")


def test_a_file_of_the_wrong_kind_says_what_was_expected(tmp_path: Path) -> None:
    banking = write_jsonl(tmp_path / "banking.jsonl", [{"text": "card lost", "label": "lost"}])
    with pytest.raises(InputError, match=r"banking.jsonl:1: missing field `question`.*expected"):
        load_support_qa(banking)
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"doc_id": "d", "text": "t", "title": ""}])
    with pytest.raises(InputError, match=r"corpus.jsonl:1: not a triage/escalation file"):
        detect_format(corpus)


def test_classification_formats_are_detected(tmp_path: Path) -> None:
    assert detect_format(write_jsonl(tmp_path / "a.jsonl", [{"text": "x", "label": "y"}])) == (
        "banking77"
    )
    assert detect_format(write_jsonl(tmp_path / "b.jsonl", [QUESTION])) == "support_qa"
    chat = {"task": "triage", "messages": [], "source": "s", "key": "k"}
    assert detect_format(write_jsonl(tmp_path / "c.jsonl", [chat])) == "chat_examples"


def test_an_unknown_banking_label_names_its_line(tmp_path: Path) -> None:
    rows = [{"text": "card lost", "label": "lost_or_stolen_card"}, {"text": "hi", "label": "x"}]
    path = write_jsonl(tmp_path / "banking.jsonl", rows)
    with pytest.raises(InputError, match=r"banking.jsonl:2: unknown label 'x'"):
        load_classification([path], "triage")


def test_support_qa_cannot_be_scored_for_triage(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [QUESTION])
    with pytest.raises(InputError, match="no triage labels"):
        load_classification([path], "triage")


def test_only_the_dev_hold_out_is_scored(shared_data: Path) -> None:
    train, dev = load_classification([shared_data / "banking77_train.jsonl"], "triage")
    train_texts = {e.messages[-2].content for e in train}
    assert dev and not train_texts & {e.messages[-2].content for e in dev}


def test_sample_is_seeded_and_keeps_order() -> None:
    items = list(range(100))
    first = sample(items, 10, seed=3)
    assert first == sample(items, 10, seed=3)
    assert first == sorted(first)
    assert first != sample(items, 10, seed=4)
    assert sample(items, None, seed=0) == items
    assert sample(items, 500, seed=0) == items


def test_variants() -> None:
    assert parse_variants("retrieval", None) == ["dense", "sparse", "hybrid"]
    assert parse_variants("answers", "rag, no-rag,rag") == ["rag", "no-rag"]
    with pytest.raises(InputError, match="unknown variant 'lora' for the retrieval suite"):
        parse_variants("retrieval", "dense,lora")


def test_folds_split_by_conversation_and_cover_every_question(shared_data: Path) -> None:
    questions = load_support_qa(shared_data / "support_qa_dev.jsonl")
    folds = [Fold.parse(f"{i}/5") for i in range(1, 6)]
    owners = [[f for f in folds if f.holds(q.conversation)] for q in questions]
    assert all(len(o) == 1 for o in owners)
    by_conversation: dict[str, set[str]] = {}
    for q, [fold] in zip(questions, owners, strict=True):
        by_conversation.setdefault(q.conversation, set()).add(str(fold))
    assert all(len(f) == 1 for f in by_conversation.values())
    # Every fold gets a share of the conversations, not all of them or none.
    sizes = [sum(o == [f] for o in owners) for f in folds]
    assert min(sizes) > 0 and max(sizes) < len(questions) / 2


def test_a_held_out_fold_is_left_out_of_fitting_and_alone_in_scoring(shared_data: Path) -> None:
    path = shared_data / "behaviour_tasks.jsonl"
    fold = Fold.parse("2/5")
    fitted = {q.conversation for q in load_tasks(path, fold)}
    scored = {q.conversation for q in load_support_qa(path) if fold.holds(q.conversation)}
    assert fitted and scored and not fitted & scored
    assert len(fitted | scored) == len({q.conversation for q in load_support_qa(path)})


@pytest.mark.parametrize("text", ["0/5", "6/5", "1/1", "2", "a/b", "2/5/1"])
def test_a_malformed_fold_is_a_clear_error(text: str) -> None:
    with pytest.raises(InputError, match="a fold is I/K"):
        Fold.parse(text)


def test_the_repeat_command_keeps_the_fold(tmp_path: Path) -> None:
    options = EvalOptions(
        suite="answers",
        data=[tmp_path / "qa.jsonl"],
        out=tmp_path / "out",
        fold=Fold.parse(" 3 / 4 "),
        variants=["rag"],
    )
    assert "--fold 3/4" in options.command()


def test_a_corpus_subset_holds_the_gold_passages_then_the_first_others(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"doc_id": d, "text": d}) + "\n" for d in ["a", "g1", "b", "g2", "c"]),
        encoding="utf-8",
    )
    questions = [
        SupportQuestion.model_validate(
            {
                "qid": "q<::>1",
                "question": "?",
                "doc_ids": ["g2", "g1"],
                "answerability": "ANSWERABLE",
            }
        )
    ]
    kept = [json.loads(line)["doc_id"] for line in corpus_subset(corpus, questions, 2)]
    assert kept == ["g1", "g2", "a", "b"]
