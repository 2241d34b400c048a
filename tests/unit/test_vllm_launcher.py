"""The vLLM command line and environment that deploy/vllm/serve.sh and the contract tests use."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.llm.registry import AdapterInfo, lora_rank_bound
from assistant.llm.vllm_launcher import ServeConfig, vllm_command, vllm_env


def _adapter(folder: Path, rank: int = 8) -> AdapterInfo:
    return AdapterInfo(name=folder.name, folder=folder, rank=rank)


def _value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_the_command_serves_the_base_under_its_name_with_each_adapter(tmp_path: Path) -> None:
    adapters = (_adapter(tmp_path / "triage"), _adapter(tmp_path / "escalation"))
    config = ServeConfig(model_dir=tmp_path / "base", adapters=adapters, port=9000)

    argv = vllm_command(config)

    assert argv[:3] == [".venv-vllm/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    assert _value(argv, "--model") == str(tmp_path / "base")
    assert _value(argv, "--served-model-name") == "smollm2-135m-instruct"
    assert _value(argv, "--port") == "9000"
    assert _value(argv, "--max-loras") == "2"
    assert "--enable-lora" in argv
    start = argv.index("--lora-modules") + 1
    assert argv[start : start + 2] == [
        f"triage={tmp_path / 'triage'}",
        f"escalation={tmp_path / 'escalation'}",
    ]


def test_without_adapters_lora_stays_enabled_for_runtime_loading(tmp_path: Path) -> None:
    argv = vllm_command(ServeConfig(model_dir=tmp_path))

    assert "--enable-lora" in argv
    assert "--lora-modules" not in argv


def test_json_output_is_compact_unless_turned_off(tmp_path: Path) -> None:
    argv = vllm_command(ServeConfig(model_dir=tmp_path))

    assert json.loads(_value(argv, "--structured-outputs-config")) == {
        "backend": "xgrammar",
        "disable_any_whitespace": True,
    }
    assert "--structured-outputs-config" not in vllm_command(
        ServeConfig(model_dir=tmp_path, compact_json=False)
    )


def test_the_rank_bound_is_the_smallest_value_vllm_accepts_that_fits(tmp_path: Path) -> None:
    assert lora_rank_bound([]) == 8
    assert lora_rank_bound([_adapter(tmp_path / "a", rank=4)]) == 8
    assert lora_rank_bound([_adapter(tmp_path / "b", rank=12)]) == 16


def test_cpu_only_variables_are_set_only_on_cpu(tmp_path: Path) -> None:
    cpu = vllm_env(ServeConfig(model_dir=tmp_path), {"PATH": "/bin"})
    gpu = vllm_env(ServeConfig(model_dir=tmp_path, device="gpu", runtime_lora=False), {})

    assert cpu == {
        "PATH": "/bin",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
    }
    assert gpu == {}
