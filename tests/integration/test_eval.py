"""`assistant eval` end to end on a slice of the dev data: the real embedder, the real Qdrant
local engine and the real packaged model (with the shipped adapters)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from typer.testing import CliRunner

from assistant.evaluation.results import (
    AnswersResult,
    ClassificationResult,
    EvalResult,
    RetrievalResult,
)
from assistant.interfaces.cli.main import app

QA = "support_qa_dev.jsonl"
CORPUS = "support_corpus.jsonl"
BANKING = "banking77_train.jsonl"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_QDRANT_PATH": str(tmp_path / "qdrant"),
        "ASSISTANT_TORCH_THREADS": "1",
    }


@pytest.fixture(scope="module")
def small_set(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Eight answerable questions and a corpus of their gold passages plus 40 others."""
    rows = [json.loads(line) for line in (shared_data / QA).read_text().splitlines()]
    picked = [r for r in rows if r["answerability"] == "ANSWERABLE"][:6]
    picked += [r for r in rows if r["answerability"] == "UNANSWERABLE"][:2]
    gold = {d for r in picked for d in r["doc_ids"]}
    passages = (shared_data / CORPUS).read_text().splitlines()
    kept = [p for p in passages if json.loads(p)["doc_id"] in gold]
    kept += [p for p in passages if json.loads(p)["doc_id"] not in gold][:40]
    folder = tmp_path_factory.mktemp("eval-data")
    qa, corpus = folder / "qa.jsonl", folder / "corpus.jsonl"
    qa.write_text("\n".join(json.dumps(r) for r in picked) + "\n")
    corpus.write_text("\n".join(kept) + "\n")
    return qa, corpus


def flat(output: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(output.split())


def run_eval(env: dict[str, str], out: Path, *args: str) -> EvalResult:
    result = CliRunner().invoke(app, ["eval", *args, "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    parsed: EvalResult = TypeAdapter(EvalResult).validate_json((out / "result.json").read_text())
    # Every table is followed by the command that produced it, and that command repeats the run.
    assert f"```bash\n{parsed.run.command}\n```" in report
    assert parsed.run.command.startswith("assistant eval ")
    return parsed


@pytest.mark.slow
def test_retrieval_suite_compares_the_three_modes(env, small_set, tmp_path):
    qa, corpus = small_set
    result = run_eval(
        env, tmp_path / "out", "retrieval", "--data", str(qa), "--corpus", str(corpus)
    )
    assert isinstance(result, RetrievalResult)
    assert [row.variant for row in result.rows] == ["dense", "sparse", "hybrid"]
    # Six questions have gold documents; the two UNANSWERABLE ones are noted, not scored.
    assert result.run.examples == 6
    assert any("cannot be scored" in note for note in result.run.notes)
    for row in result.rows:
        # The gold passages are among 40-odd others: every mode finds most of them.
        assert row.scores.recall_at_10 >= 0.5, row
        assert row.scores.recall_at_1 <= row.scores.recall_at_5 <= row.scores.recall_at_10
    assert (tmp_path / "out" / "retrieval.png").stat().st_size > 1000


@pytest.mark.slow
def test_answers_suite_scores_rag_against_closed_book(env, small_set, tmp_path):
    qa, corpus = small_set
    result = run_eval(
        env,
        tmp_path / "out",
        "answers",
        "--data",
        str(qa),
        "--corpus",
        str(corpus),
        "--compare",
        "rag,no-rag",
        "--limit",
        "3",
        "--seed",
        "1",
    )
    assert isinstance(result, AnswersResult)
    rag, closed = result.rows
    assert (rag.variant, closed.variant) == ("rag", "no-rag")
    assert rag.questions == closed.questions == 3
    # Closed book never searches and cites nothing; each question gets one diagnosis.
    assert closed.answered_without_retrieval == 1.0
    assert closed.citation_validity is None
    for row in result.rows:
        assert sum(row.failures.values()) <= row.questions
    # The rag turns cite only chunks they retrieved: the graph's own check guarantees it.
    assert rag.citation_validity in (None, 1.0)
    assert {e.variant for e in result.examples} == {"rag", "no-rag"}
    assert all(e.diagnosis for e in result.examples)
    # The same seed draws the same questions.
    ids = sorted({e.id for e in result.examples})
    assert len(ids) == 3
    assert (tmp_path / "out" / "failures.png").exists()


@pytest.mark.slow
def test_triage_suite_reports_per_class_scores_and_confusion(env, shared_data, tmp_path):
    out = tmp_path / "out"
    result = run_eval(
        env,
        out,
        "triage",
        "--data",
        str(shared_data / BANKING),
        "--compare",
        "lora",
        "--limit",
        "4",
    )
    assert isinstance(result, ClassificationResult)
    [lora] = result.variants
    assert lora.row.examples == 4 == len(result.gold) == len(lora.predictions)
    # Constrained decoding: the adapter's reply is valid JSON every time.
    assert lora.row.json_valid_rate == 1.0
    correct = sum(g == p for g, p in zip(result.gold, lora.predictions, strict=True))
    assert lora.row.accuracy == correct / 4
    assert sum(map(sum, lora.confusion.counts)) == 4
    assert (out / "confusion-lora.png").exists()
    assert "## Per class (category)" in (out / "report.md").read_text()


@pytest.mark.slow
def test_the_classifier_engine_is_compared_beside_the_baseline_it_grew_from(
    env, shared_data, tmp_path
):
    # One BANKING77 row in 16 (every intent has rows): seconds to embed, not minutes.
    rows = (shared_data / BANKING).read_text(encoding="utf-8").splitlines()[::16]
    data = tmp_path / "banking-slice.jsonl"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    fitted = CliRunner().invoke(
        app, ["adapters", "fit-classifier", "--data", str(data), "--out", str(tmp_path / "clf")],
        env=env,
    )  # fmt: skip
    assert fitted.exit_code == 0, fitted.output
    env = env | {
        "ASSISTANT_TRIAGE_ENGINE": "classifier",
        "ASSISTANT_TRIAGE_CLASSIFIER_DIR": str(tmp_path / "clf"),
    }
    result = run_eval(
        env, tmp_path / "out", "triage", "--data", str(data), "--compare", "classifier,baseline",
        "--limit", "20",
    )  # fmt: skip
    assert isinstance(result, ClassificationResult)
    classifier, baseline = result.variants
    assert classifier.row.variant == "classifier"
    # The same model fitted on the same train side: the same readings.
    assert classifier.predictions == baseline.predictions
    assert classifier.row.examples == 20


@pytest.mark.slow
def test_adapters_eval_scores_the_examples_eval_draws(env, shared_data, tmp_path):
    # `adapters eval` wraps the triage suite: the same seeded draw of the same dev split.
    args = ["--limit", "3", "--no-base", "--no-baseline", "--no-save", "--markdown"]
    adapters = CliRunner().invoke(
        app, ["adapters", "eval", "triage", *args, "--data-dir", str(shared_data)], env=env
    )
    assert adapters.exit_code == 0, adapters.output
    [row] = [line for line in adapters.output.splitlines() if line.startswith("| triage |")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]

    suite = run_eval(
        env,
        tmp_path / "out",
        "triage",
        "--data",
        str(shared_data / BANKING),
        "--compare",
        "lora",
        "--limit",
        "3",
    )
    assert isinstance(suite, ClassificationResult)
    [lora] = suite.variants
    assert cells[1] == "3"
    assert float(cells[2]) == pytest.approx(lora.row.accuracy, abs=1e-3)


@pytest.mark.slow
def test_escalation_suite_reads_banking_and_support_tasks(env, shared_data, tmp_path):
    result = run_eval(
        env,
        tmp_path / "out",
        "escalation",
        "--data",
        str(shared_data / BANKING),
        "--data",
        str(shared_data / QA),
        "--compare",
        "lora",
        "--limit",
        "4",
        "--seed",
        "2",
    )
    assert isinstance(result, ClassificationResult)
    assert set(result.gold) <= {"escalate", "no"}
    assert set(result.variants[0].predictions) <= {"escalate", "no", "(invalid)"}


def test_bad_input_names_the_line(env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "hi", "doc_ids": [], "answerability": "ANSWERABLE"}\n{oops\n')
    result = CliRunner().invoke(
        app, ["eval", "retrieval", "--data", str(bad), "--corpus", str(bad)], env=env
    )
    assert result.exit_code == 1
    assert "bad.jsonl:2: not valid JSON" in flat(result.output)
    assert "Traceback" not in flat(result.output)


def test_a_corpus_or_the_index_must_be_chosen(env, small_set):
    qa, _ = small_set
    result = CliRunner().invoke(app, ["eval", "retrieval", "--data", str(qa)], env=env)
    assert result.exit_code == 1
    assert "give --corpus FILE" in flat(result.output)


def test_an_unknown_variant_is_refused(env, small_set):
    qa, corpus = small_set
    result = CliRunner().invoke(
        app,
        ["eval", "retrieval", "--data", str(qa), "--corpus", str(corpus), "--compare", "lora"],
        env=env,
    )
    assert result.exit_code == 1
    assert "unknown variant 'lora'" in flat(result.output)
