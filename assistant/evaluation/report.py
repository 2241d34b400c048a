"""A result written out: `result.json`, `report.md` (tables, each with its command) and PNGs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from assistant.evaluation.plots import bar_chart, confusion_chart
from assistant.evaluation.results import (
    FAILURE_KINDS,
    RETRIEVAL_LABELS,
    AnswersResult,
    AnyResult,
    ClassificationResult,
    FailureKind,
    RetrievalResult,
    RunInfo,
)
from assistant.evaluation.variants import MEANING

FAILURE_EXAMPLES = 3
QUOTE_CHARS = 140


def write_outputs(result: AnyResult, out: Path) -> list[Path]:
    """Write the result's files into `out` (created if needed); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "result.json"
    json_path.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    plots = draw_plots(result, out)
    report_path = out / "report.md"
    report_path.write_text(render_markdown(result, [p.name for p in plots]), encoding="utf-8")
    return [json_path, report_path, *plots]


# --- tables -----------------------------------------------------------------------------------


NUMBER = re.compile(r"^(–|-?[\d.,]+(/\d+)?)$")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], command: str) -> str:
    """A Markdown table (numeric columns right-aligned), then the command that produced it."""
    aligns = [
        "---:" if rows and all(NUMBER.match(row[i]) for row in rows) else "---"
        for i in range(len(header))
    ]
    lines = ["| " + " | ".join(cells) + " |" for cells in (header, aligns, *rows)]
    return "\n".join(lines) + f"\n\n```bash\n{command}\n```\n"


def fmt(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def render_markdown(result: AnyResult, plots: Sequence[str]) -> str:
    """The whole report: run line, tables with their command, notes, plots."""
    parts = [f"# Evaluation: {result.run.suite}\n", _run_line(result.run)]
    if isinstance(result, RetrievalResult):
        parts += retrieval_tables(result)
    elif isinstance(result, AnswersResult):
        parts += answers_tables(result)
    else:
        parts += classification_tables(result)
    parts.append(
        "Variants: "
        + "; ".join(f"`{v}` = {MEANING.get(v, v)}" for v in result.run.variants)
        + ".\n"
    )
    if result.run.notes:
        parts.append("Notes:\n\n" + "\n".join(f"- {note}" for note in result.run.notes) + "\n")
    parts += [f"![{Path(name).stem}]({name})\n" for name in plots]
    return "\n".join(parts)


def _run_line(run: RunInfo) -> str:
    settings = ", ".join(f"{k}={v}" for k, v in run.settings.items())
    return (
        f"{run.examples} examples from {', '.join(run.data)}; seed {run.seed}; "
        f"{run.started_at:%Y-%m-%d %H:%M} UTC; {run.seconds:.0f} s.\n\n"
        f"Settings: {settings}.\n"
    )


def retrieval_tables(result: RetrievalResult) -> list[str]:
    header = ["mode", "questions", *RETRIEVAL_LABELS.values(), "p50 ms", "p95 ms"]
    rows = [
        [
            row.variant,
            str(row.questions),
            *(fmt(v) for v in row.scores.model_dump().values()),
            fmt(row.p50_ms, 1),
            fmt(row.p95_ms, 1),
        ]
        for row in result.rows
    ]
    chunks = f" over {result.chunks:,} chunks" if result.chunks else ""
    return [
        f"## Retrieval{chunks}\n",
        markdown_table(header, rows, result.run.command),
    ]


def answers_tables(result: AnswersResult) -> list[str]:
    command = result.run.command
    header = [
        "variant",
        "questions",
        "behaviour",
        "citation validity",
        "citation precision",
        "cit. precision, plain answers",
        "citation recall",
        "token F1",
        "ROUGE-L",
        "answered w/o retrieval",
        "s/question",
    ]
    rows = [
        [
            r.variant,
            str(r.questions),
            fmt(r.behaviour_accuracy),
            fmt(r.citation_validity),
            fmt(r.citation_precision),
            fmt(r.citation_precision_confident),
            fmt(r.citation_recall),
            fmt(r.token_f1),
            fmt(r.rouge_l),
            fmt(r.answered_without_retrieval),
            fmt(r.seconds_per_question, 1),
        ]
        for r in result.rows
    ]
    failure_rows = [
        [
            r.variant,
            str(r.questions - sum(r.failures.values())),
            *(str(r.failures[k]) for k in FAILURE_KINDS),
            biggest_failure(r.failures),
        ]
        for r in result.rows
    ]
    behaviour_rows = [
        [
            b.variant,
            b.answerability,
            str(b.questions),
            b.expected,
            f"{b.correct}/{b.questions}",
            ", ".join(f"{k} {v}" for k, v in b.outcomes.items()),
        ]
        for b in result.behaviour
    ]
    return [
        "## Answers\n",
        markdown_table(header, rows, command),
        "## Failures by kind\n",
        "One kind per question, the first cause found: `retrieval` (no gold document "
        "retrieved), `grounding` (gold retrieved but not cited, or no overlap with the "
        "reference), `behaviour` (wrong action for the answerability), `format` (a citation "
        "marker that points at no retrieved chunk).\n",
        markdown_table(["variant", "ok", *FAILURE_KINDS, "biggest failure"], failure_rows, command),
        "## Behaviour by answerability\n",
        markdown_table(
            ["variant", "answerability", "questions", "expected", "right", "outcomes"],
            behaviour_rows,
            command,
        ),
        *_failure_examples(result),
    ]


def biggest_failure(failures: Mapping[FailureKind, int]) -> str:
    """The most frequent failure kind (ties: the earlier in the turn), or `none`."""
    kind, count = max(failures.items(), key=lambda item: item[1], default=("none", 0))
    return kind if count else "none"


def _failure_examples(result: AnswersResult) -> list[str]:
    lines = []
    for kind in FAILURE_KINDS:
        cases = [e for e in result.examples if e.diagnosis == kind][:FAILURE_EXAMPLES]
        lines += [
            f"- `{kind}` ({e.variant}, {e.answerability}, {e.outcome}): "
            f"{_quote(e.question)} -> {_quote(e.text)}"
            for e in cases
        ]
    return ["## Examples of failures\n", "\n".join(lines) + "\n"] if lines else []


def _quote(text: str) -> str:
    flat = " ".join(text.split()).replace("|", "/")
    flat = re.sub(r"`", "'", flat)
    short = flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1] + "…"
    return f"“{short}”"


def classification_tables(result: ClassificationResult) -> list[str]:
    command = result.run.command
    detail_names = list(result.variants[0].row.details.model_dump()) if result.variants else []
    detail_names = [n for n in detail_names if n not in {"n", "json_valid_rate"}]
    header = [
        "variant",
        "examples",
        "accuracy",
        "macro-F1",
        "JSON valid",
        *detail_names,
        "s/example",
    ]
    rows = []
    for variant in result.variants:
        row = variant.row
        details = row.details.model_dump()
        rows.append(
            [
                row.variant,
                str(row.examples),
                fmt(row.accuracy),
                fmt(row.macro_f1),
                fmt(row.json_valid_rate),
                *(fmt(details[n]) for n in detail_names),
                fmt(row.seconds_per_example, 2),
            ]
        )
    per_class_header = [
        result.label_kind,
        "support",
        *(f"F1 {v.row.variant}" for v in result.variants),
    ]
    support = {s.label: s.support for v in result.variants for s in v.per_class}
    f1 = {(v.row.variant, s.label): s.f1 for v in result.variants for s in v.per_class}
    per_class_rows = [
        [label, str(count), *(fmt(f1.get((v.row.variant, label))) for v in result.variants)]
        for label, count in sorted(support.items(), key=lambda item: (-item[1], item[0]))
    ]
    return [
        f"## {result.suite.capitalize()}\n",
        markdown_table(header, rows, command),
        f"## Per class ({result.label_kind})\n",
        markdown_table(per_class_header, per_class_rows, command),
    ]


# --- plots ------------------------------------------------------------------------------------


def draw_plots(result: AnyResult, out: Path) -> list[Path]:
    """The suite's PNGs in `out`."""
    if isinstance(result, RetrievalResult):
        series = {str(r.variant): list(r.scores.model_dump().values()) for r in result.rows}
        return [
            bar_chart(
                out / "retrieval.png",
                title=f"Retrieval ({result.run.examples} questions)",
                groups=list(RETRIEVAL_LABELS.values()),
                series=series,
                ylabel="score",
            )
        ]
    if isinstance(result, AnswersResult):
        metrics = {
            "behaviour": "behaviour_accuracy",
            "cit. validity": "citation_validity",
            "cit. precision": "citation_precision",
            "cit. recall": "citation_recall",
            "token F1": "token_f1",
            "ROUGE-L": "rouge_l",
        }
        return [
            bar_chart(
                out / "answers.png",
                title=f"Answers ({result.run.examples} questions)",
                groups=list(metrics),
                series={r.variant: [getattr(r, f) for f in metrics.values()] for r in result.rows},
                ylabel="score",
            ),
            bar_chart(
                out / "failures.png",
                title="Failures by kind",
                groups=list(FAILURE_KINDS),
                series={r.variant: [r.failures[k] for k in FAILURE_KINDS] for r in result.rows},
                ylabel="questions",
                unit_scale=False,
            ),
        ]
    paths = [
        bar_chart(
            out / "scores.png",
            title=f"{result.suite} ({result.run.examples} examples)",
            groups=["accuracy", "macro-F1", "JSON valid"],
            series={
                v.row.variant: [v.row.accuracy, v.row.macro_f1, v.row.json_valid_rate]
                for v in result.variants
            },
            ylabel="score",
        )
    ]
    for variant in result.variants:
        paths.append(
            confusion_chart(
                out / f"confusion-{variant.row.variant}.png",
                title=f"{result.suite}: {variant.row.variant} ({result.label_kind})",
                matrix=variant.confusion,
            )
        )
    return paths
