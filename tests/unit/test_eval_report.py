"""The written report: result.json reads back, report.md has the tables and their command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter

from assistant.evaluation.metrics import confusion_matrix, per_class_scores
from assistant.evaluation.report import biggest_failure, markdown_table, write_outputs
from assistant.evaluation.results import (
    ClassificationResult,
    ClassificationRow,
    ClassificationVariant,
    EvalResult,
    RetrievalResult,
    RetrievalRow,
    RetrievalScores,
    RunInfo,
)
from assistant.triage.scores import EscalationScores

COMMAND = "assistant eval escalation --data x.jsonl --seed 0 --compare lora --out out"


def run_info(suite: str) -> RunInfo:
    return RunInfo.model_validate(
        {
            "suite": suite,
            "command": COMMAND,
            "data": ["x.jsonl"],
            "seed": 0,
            "variants": ["lora"],
            "examples": 4,
            "started_at": datetime(2026, 11, 30, tzinfo=UTC),
            "notes": ["a note the reader needs"],
        }
    )


def test_classification_report(tmp_path: Path) -> None:
    gold = ["escalate", "no", "no", "escalate"]
    predicted = ["escalate", "no", "escalate", "(invalid)"]
    details = EscalationScores(
        n=4,
        accuracy=0.5,
        precision=0.5,
        recall=0.5,
        reason_accuracy=None,
        json_valid_rate=0.75,
    )
    result = ClassificationResult(
        suite="escalation",
        run=run_info("escalation"),
        label_kind="decision",
        example_ids=["a", "b", "c", "d"],
        gold=gold,
        variants=[
            ClassificationVariant(
                row=ClassificationRow(
                    variant="lora",
                    examples=4,
                    accuracy=0.5,
                    macro_f1=0.5,
                    json_valid_rate=0.75,
                    seconds_per_example=0.1,
                    details=details,
                ),
                per_class=per_class_scores(gold, predicted),
                confusion=confusion_matrix(gold, predicted),
                predictions=predicted,
            )
        ],
    )
    paths = write_outputs(result, tmp_path / "out")
    assert sorted(p.name for p in paths) == [
        "confusion-lora.png",
        "report.md",
        "result.json",
        "scores.png",
    ]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| lora | 4 | 0.500 | 0.500 | 0.750 |" in report
    assert report.count(f"```bash\n{COMMAND}\n```") == 2  # under both tables
    assert "- a note the reader needs" in report
    back = TypeAdapter(EvalResult).validate_json((tmp_path / "out" / "result.json").read_text())
    assert back == result


def test_retrieval_report_reads_back(tmp_path: Path) -> None:
    scores = RetrievalScores(
        recall_at_1=1, recall_at_5=1, recall_at_10=1, mrr_at_10=1, ndcg_at_10=1
    )
    result = RetrievalResult(
        run=run_info("retrieval"),
        chunks=1200,
        rows=[RetrievalRow(variant="hybrid", questions=4, scores=scores, p50_ms=1, p95_ms=2)],
        questions=[],
    )
    write_outputs(result, tmp_path)
    assert "## Retrieval over 1,200 chunks" in (tmp_path / "report.md").read_text()
    assert TypeAdapter(EvalResult).validate_json((tmp_path / "result.json").read_text()) == result


def test_numeric_columns_align_right() -> None:
    table = markdown_table(["mode", "score"], [["dense", "0.5"], ["sparse", "–"]], "cmd")
    assert "| --- | ---: |" in table
    assert table.endswith("```bash\ncmd\n```\n")


def test_biggest_failure() -> None:
    assert biggest_failure({"retrieval": 2, "grounding": 5, "behaviour": 0, "format": 0}) == (
        "grounding"
    )
    assert biggest_failure({"retrieval": 0, "grounding": 0, "behaviour": 0, "format": 0}) == "none"
