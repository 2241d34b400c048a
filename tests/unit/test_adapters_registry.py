"""The manifest and the registry: base-model check, corrupt files, vLLM arguments."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from adapter_fakes import make_adapter, make_base
from doubles import ListRetriever

from assistant.errors import InputError
from assistant.graph.deps import build_deps
from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.errors import UnknownModelError
from assistant.llm.manifest import base_model_info, read_manifest
from assistant.llm.registry import (
    AdapterRegistry,
    IncompatibleAdapterError,
    check_compatible,
    vllm_lora_args,
)
from assistant.settings import Settings


def test_the_base_fingerprint_changes_with_the_weights(tmp_path: Path) -> None:
    one = base_model_info(make_base(tmp_path / "one", 1.0), "x")
    two = base_model_info(make_base(tmp_path / "two", 2.0), "x")
    assert one.config_sha256 == two.config_sha256
    assert one.weights_sha256 != two.weights_sha256


def test_the_base_fingerprint_ignores_which_transformers_saved_the_config(tmp_path: Path) -> None:
    base = make_base(tmp_path / "base", 1.0)
    before = base_model_info(base, "x")
    config = base / "config.json"
    config.write_text('{"transformers_version": "9.9.9",  "model_type": "llama"}', encoding="utf-8")
    assert base_model_info(base, "x") == before
    config.write_text('{"model_type": "llama", "vocab_size": 7}', encoding="utf-8")
    assert base_model_info(base, "x").config_sha256 != before.config_sha256
    config.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable model config"):
        base_model_info(base, "x")


def test_the_manifest_round_trips_and_a_bad_one_is_a_clear_error(tmp_path: Path) -> None:
    base = make_base(tmp_path / "base", 1.0)
    folder = make_adapter(tmp_path / "adapters", "triage", base)
    manifest = read_manifest(folder)
    assert manifest.base_model.id == "test/base"
    assert manifest.hyperparameters.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    (folder / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="not a valid adapter manifest"):
        read_manifest(folder)


def test_an_adapter_for_another_base_is_refused(tmp_path: Path) -> None:
    ours = make_base(tmp_path / "ours", 1.0)
    other = make_base(tmp_path / "other", 2.0)
    adapters = tmp_path / "adapters"
    make_adapter(adapters, "triage", ours)
    make_adapter(adapters, "escalation", other)
    base = base_model_info(ours, "test/base")

    registry = AdapterRegistry(adapters)
    assert registry.get("triage", base).name == "triage"
    assert [a.name for a in registry.usable(base)] == ["triage"]
    with pytest.raises(IncompatibleAdapterError, match="trained on base test/base") as info:
        registry.get("escalation", base)
    assert "the weights differ" in str(info.value)
    assert "Retrain it on this base" in str(info.value)


def test_an_unknown_adapter_names_the_ones_there_are(tmp_path: Path) -> None:
    base = make_base(tmp_path / "base", 1.0)
    make_adapter(tmp_path / "adapters", "triage", base)
    with pytest.raises(UnknownModelError, match="there are: triage"):
        AdapterRegistry(tmp_path / "adapters").get("tone", base_model_info(base, "b"))


def test_a_corrupt_adapter_is_listed_with_its_problem_and_refused(tmp_path: Path) -> None:
    base = make_base(tmp_path / "base", 1.0)
    folder = make_adapter(tmp_path / "adapters", "triage", base)
    weights = folder / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    (info,) = AdapterRegistry(tmp_path / "adapters").adapters()
    assert info.problem is not None and "corrupt" in info.problem
    with pytest.raises(IncompatibleAdapterError, match="cannot be used"):
        check_compatible(info, base_model_info(base, "b"))
    assert "--lora-modules" not in vllm_lora_args([info], max_loras=2)


def test_vllm_gets_every_usable_adapter_and_a_rank_bound_it_accepts(tmp_path: Path) -> None:
    base = make_base(tmp_path / "base", 1.0)
    adapters = tmp_path / "adapters"
    make_adapter(adapters, "escalation", base, rank=12)
    make_adapter(adapters, "triage", base)
    (adapters / "__pycache__").mkdir()  # not an adapter: no adapter_config.json
    args = vllm_lora_args(AdapterRegistry(adapters).adapters(), max_loras=2)
    assert args == [
        "--enable-lora",
        "--max-lora-rank",
        "16",
        "--max-loras",
        "2",
        "--lora-modules",
        f"escalation={(adapters / 'escalation').resolve()}",
        f"triage={(adapters / 'triage').resolve()}",
    ]


class _NoEmbedderRetriever(ListRetriever):
    embedder = None


def test_the_service_gives_the_graph_only_adapters_trained_on_the_model_it_loads(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    ours = make_base(tmp_path / "ours", 1.0)
    other = make_base(tmp_path / "other", 2.0)
    adapters = tmp_path / "adapters"
    make_adapter(adapters, "triage", other)
    make_adapter(adapters, "escalation", ours)
    model = EmbeddedChatModel(model_folder=ours, adapters_dir=adapters)
    settings.adapters_dir = adapters
    settings.verify_citations = "off"
    settings.triage_engine = "adapter"

    with caplog.at_level(logging.WARNING):
        deps = build_deps(settings, _NoEmbedderRetriever([]), model)  # type: ignore[arg-type]

    # The triage adapter of another base would load silently onto this one: it is left out.
    assert deps.triage is None
    assert deps.escalation is not None
    assert "'triage' left out" in caplog.text and "was trained on base" in caplog.text
