"""`assistant adapters list` and `assistant triage` as a user runs them (no model is loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from adapter_fakes import make_adapter, make_base
from typer.testing import CliRunner

from assistant.interfaces.cli.adapters_commands import adapters_app, triage_command


def app() -> typer.Typer:
    """The adapters commands mounted the way assistant/cli.py mounts them."""
    root = typer.Typer()
    root.add_typer(adapters_app, name="adapters")
    root.command("triage")(triage_command)
    return root


def test_list_marks_an_adapter_for_another_base_and_leaves_it_out_of_vllm(
    tmp_path: Path,
) -> None:
    ours = make_base(tmp_path / "ours", 1.0)
    other = make_base(tmp_path / "other", 2.0)
    adapters = tmp_path / "adapters"
    make_adapter(adapters, "triage", ours)
    make_adapter(adapters, "escalation", other)
    env = {"ASSISTANT_MODEL_PATH": str(ours), "ASSISTANT_ADAPTERS_DIR": str(adapters)}

    result = CliRunner().invoke(app(), ["adapters", "list"], env=env, terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "was trained on base" in result.output

    # The LoRA arguments `assistant.llm.vllm_launcher` starts vLLM with, from the same builder.
    args = CliRunner().invoke(app(), ["adapters", "list", "--vllm-args"], env=env)
    triage = (adapters / "triage").resolve()
    assert args.output.strip() == (
        f"--enable-lora --max-lora-rank 8 --max-loras 2 --lora-modules triage={triage}"
    )


def test_triage_of_an_empty_message_is_a_one_line_error() -> None:
    result = CliRunner().invoke(app(), ["triage", "  "])
    assert result.exit_code == 1
    assert "Give the message to triage" in result.output


def test_eval_with_every_system_switched_off_is_a_usage_error(
    tmp_path: Path, shared_data: Path
) -> None:
    base = make_base(tmp_path / "base", 1.0)
    make_adapter(tmp_path / "adapters", "triage", base)
    env = {"ASSISTANT_MODEL_PATH": str(base), "ASSISTANT_ADAPTERS_DIR": str(tmp_path / "adapters")}
    argv = ["adapters", "eval", "triage", "--no-adapter", "--no-base", "--no-baseline"]
    result = CliRunner().invoke(app(), [*argv, "--data-dir", str(shared_data)], env=env)
    assert result.exit_code == 2
    assert "Nothing to score" in result.output


@pytest.mark.parametrize(
    ("argv", "expected"), [([], 200), (["--limit", "50"], 50), (["--limit", "0"], None)]
)
def test_eval_limit_defaults_to_200_and_zero_means_the_whole_dev_split(
    tmp_path: Path,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    expected: int | None,
) -> None:
    import assistant.training.evaluation_run as evaluation_run

    asked: list[int | None] = []

    def no_rows(*args: object, limit: int | None, **kwargs: object) -> list[object]:
        asked.append(limit)
        return []

    monkeypatch.setattr(evaluation_run, "run_evaluation", no_rows)
    base = make_base(tmp_path / "base", 1.0)
    make_adapter(tmp_path / "adapters", "triage", base)
    env = {"ASSISTANT_MODEL_PATH": str(base), "ASSISTANT_ADAPTERS_DIR": str(tmp_path / "adapters")}
    command = ["adapters", "eval", "triage", "--data-dir", str(shared_data), *argv]
    CliRunner().invoke(app(), command, env=env)
    assert asked == [expected]


@pytest.mark.parametrize("command", ["fit-router", "fit-judge"])
def test_a_malformed_hold_out_is_a_one_line_error_before_anything_loads(
    tmp_path: Path, command: str
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    argv = ["adapters", command, "--tasks", str(tasks), "--hold-out", "6/5"]
    if command == "fit-judge":
        argv += ["--corpus", str(tmp_path / "corpus.jsonl")]
    result = CliRunner().invoke(app(), argv)
    assert result.exit_code == 1, result.output
    assert "a fold is I/K" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
