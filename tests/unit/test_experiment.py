"""A/B variants on live traffic: the experiment file, the assignment, and the service's use."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from doubles import ListRetriever, ScriptedChatModel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from assistant.errors import InputError
from assistant.graph.experiment import Experiment, load_experiment
from assistant.interaction_log import read_log
from assistant.schemas import Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

EXPERIMENT = """\
name: no-answer-action
variants:
  - name: decline
    weight: 1
    choices: {no_answer_action: decline}
  - name: escalate
    weight: 3
    choices: {no_answer_action: escalate}
"""


class ClosableRetriever(ListRetriever):
    embedder = None  # the cosine gate and the model's choices, as in test_service

    def close(self) -> None:
        pass


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def thread_in(experiment: Experiment, variant: str) -> str:
    return next(f"t{i}" for i in range(1000) if experiment.assign(f"t{i}").name == variant)


@pytest.fixture
def experiment(tmp_path: Path) -> Experiment:
    return load_experiment(write(tmp_path, EXPERIMENT))


def open_assistant(
    settings: Settings, tmp_path: Path, tracer_provider: TracerProvider | None = None
) -> Assistant:
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.verify_citations = "off"
    settings.experiment = write(tmp_path, EXPERIMENT)
    return Assistant(
        settings,
        store=ClosableRetriever([]),  # type: ignore[arg-type]
        model=ScriptedChatModel(respond=lambda prompt: "search"),  # nothing found: no answer
        checkpointer=open_checkpointer(settings.checkpoint_path),
        tracer_provider=tracer_provider,
    )


# --- the file ---------------------------------------------------------------------------------


def test_a_choice_that_is_not_one_of_the_turn_is_refused_naming_it_and_the_choices(
    tmp_path: Path,
) -> None:
    bad = EXPERIMENT.replace("no_answer_action: escalate", "no_anwser_action: escalate")
    with pytest.raises(InputError) as caught:
        load_experiment(write(tmp_path, bad))
    message = str(caught.value)
    assert "no_anwser_action: not a choice of the turn" in message
    assert "variants.1.choices" in message
    assert "judge" in message and "answer_mode" in message  # the choices it could have named


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("name: x\nvariants:\n  - {name: a, weight: 1}\n", "at least 2"),
        ("name: x\nvariants:\n  - {name: a, weight: 1}\n  - {name: a, weight: 2}\n", "repeated"),
        ("name: x\nvariants:\n  - {name: a, weight: 0}\n  - {name: b, weight: 1}\n", "greater"),
        ("name: x\nvariants: [\n", "not YAML"),
    ],
)
def test_a_malformed_experiment_file_is_refused_saying_why(
    tmp_path: Path, text: str, why: str
) -> None:
    with pytest.raises(InputError, match=why):
        load_experiment(write(tmp_path, text))


def test_a_bad_value_of_a_choice_is_refused_when_the_assistant_opens(
    settings: Settings, tmp_path: Path
) -> None:
    settings.experiment = write(tmp_path, EXPERIMENT.replace("escalate}", "shrug}"))
    with pytest.raises(InputError, match="variant 'escalate': no_answer_action"):
        Assistant(
            settings,
            store=ClosableRetriever([]),  # type: ignore[arg-type]
            model=ScriptedChatModel(respond=lambda prompt: "search"),
            checkpointer=open_checkpointer(settings.checkpoint_path),
        )


# --- the assignment ---------------------------------------------------------------------------


def test_a_thread_keeps_its_variant_across_calls_and_loads_of_the_file(
    experiment: Experiment, tmp_path: Path
) -> None:
    again = load_experiment(write(tmp_path, EXPERIMENT))  # another replica reading the file
    for i in range(200):
        thread = f"thread-{i}"
        assert experiment.assign(thread) == experiment.assign(thread) == again.assign(thread)


def test_weights_are_honoured_within_sampling_error_over_ten_thousand_threads(
    experiment: Experiment,
) -> None:
    n = 10_000
    counts = Counter(experiment.assign(f"{i:08x}-thread").name for i in range(n))
    # decline has weight 1 of 4: share 0.25, standard error sqrt(.25 * .75 / n) = 0.0043;
    # four standard errors either way.
    assert abs(counts["decline"] / n - 0.25) < 4 * 0.0043
    assert counts["decline"] + counts["escalate"] == n


def test_three_arms_split_by_their_weights(tmp_path: Path) -> None:
    three = load_experiment(
        write(
            tmp_path,
            "name: three\nvariants:\n  - {name: a, weight: 0.5}\n  - {name: b, weight: 0.3}\n"
            "  - {name: c, weight: 0.2}\n",
        )
    )
    n = 10_000
    counts = Counter(three.assign(f"id-{i}").name for i in range(n))
    for name, share in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
        se = (share * (1 - share) / n) ** 0.5
        assert abs(counts[name] / n - share) < 4 * se, (name, counts)


def test_another_experiment_name_reshuffles_the_threads(experiment: Experiment) -> None:
    renamed = experiment.model_copy(update={"name": "another"})
    moved = sum(experiment.assign(f"t{i}") != renamed.assign(f"t{i}") for i in range(1000))
    assert 200 < moved < 600  # independent draws: 2 * .25 * .75 = 37.5 % move


# --- the service ------------------------------------------------------------------------------


def test_each_thread_runs_its_variants_choices_and_logs_the_variant(
    settings: Settings, tmp_path: Path, experiment: Experiment
) -> None:
    assistant = open_assistant(settings, tmp_path)
    declining, escalating = thread_in(experiment, "decline"), thread_in(experiment, "escalate")

    declined = assistant.ask("How do I reset my password?", thread_id=declining)
    escalated = assistant.ask("How do I reset my password?", thread_id=escalating)

    # The same graph, two configurations: nothing found, one arm declines, the other hands over.
    assert (declined.outcome, declined.variant) == (Outcome.DECLINED, "decline")
    assert (escalated.outcome, escalated.variant) == (Outcome.ESCALATED, "escalate")
    assistant.rate(declining, "down")
    rows = [row.record for row in read_log(settings.interaction_log_path).rows]
    assert [(r.kind, r.thread_id, r.variant) for r in rows] == [
        ("turn", declining, "decline"),
        ("turn", escalating, "escalate"),
        ("feedback", declining, "decline"),
    ]
    assert all(r.latency_ms is not None and r.latency_ms > 0 for r in rows if r.kind == "turn")
    assistant.checkpointer.conn.close()


def test_a_thread_keeps_its_variant_on_its_later_turns_and_its_resume(
    settings: Settings, tmp_path: Path, experiment: Experiment
) -> None:
    assistant = open_assistant(settings, tmp_path)
    thread = thread_in(experiment, "escalate")
    handed = assistant.ask("Where is my parcel?", thread_id=thread)
    replied = assistant.resume(thread, "Hello, this is Sam.")
    assert [handed.variant, replied.variant] == ["escalate", "escalate"]
    rows = read_log(settings.interaction_log_path).rows
    assert {row.record.variant for row in rows} == {"escalate"}
    assistant.checkpointer.conn.close()


@pytest.mark.parametrize("choices", [{"no_answer_action": "decline"}, {}])
def test_chosen_choices_switch_the_experiment_off(
    settings: Settings, tmp_path: Path, experiment: Experiment, choices: dict[str, object]
) -> None:
    # The offline evaluation's `rag` variant is `choosing({})`: the settings' own choices
    # (no_answer_action=decline by default) on every thread, whatever the experiment says.
    assistant = open_assistant(settings, tmp_path)
    chosen = assistant.choosing(choices)
    answer = chosen.ask("How do I reset my password?", thread_id=thread_in(experiment, "escalate"))
    assert (answer.outcome, answer.variant) == (Outcome.DECLINED, None)
    assistant.checkpointer.conn.close()


def test_the_turn_span_carries_the_variant(
    settings: Settings, tmp_path: Path, experiment: Experiment
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assistant = open_assistant(settings, tmp_path, tracer_provider=provider)
    assistant.ask("How do I reset my password?", thread_id=thread_in(experiment, "decline"))
    turns = [s for s in exporter.get_finished_spans() if s.name == "turn"]
    assert [(s.attributes or {}).get("assistant.variant") for s in turns] == ["decline"]
    assert [(s.attributes or {}).get("assistant.outcome") for s in turns] == ["declined"]
    assistant.checkpointer.conn.close()


def test_the_sqlite_log_keeps_the_variant_too(
    settings: Settings, tmp_path: Path, experiment: Experiment
) -> None:
    settings.interaction_log = "sqlite"
    assistant = open_assistant(settings, tmp_path)
    thread = thread_in(experiment, "escalate")
    assistant.ask("How do I reset my password?", thread_id=thread)
    assistant.rate(thread, "up")
    assistant.close()
    rows = read_log(settings.interaction_log_path, strict=True).rows
    assert settings.interaction_log_path.suffix == ".sqlite"
    assert [(r.record.kind, r.record.variant) for r in rows] == [
        ("turn", "escalate"),
        ("feedback", "escalate"),
    ]
