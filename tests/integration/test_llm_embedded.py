"""The gateway on the real packaged SmolLM2-135M-Instruct, in-process.

The model is converted once per machine into the user's real cache folder (~20 s, ~520 MB)
and loaded once per test session.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.errors import ModelUnavailableError
from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.errors import UnknownModelError
from assistant.llm.gateway import choose, complete, stream
from assistant.llm.manifest import base_model_id, base_model_info
from assistant.llm.packaged import resolve_model_folder
from assistant.llm.registry import AdapterRegistry
from assistant.settings import SHIPPED_ADAPTERS_DIR, Settings

pytestmark = pytest.mark.slow

QUESTION = [HumanMessage("Name three colours of a rainbow.")]
YES_NO = [
    SystemMessage("Reply with exactly one word: yes or no."),
    HumanMessage("Is water wet?"),
]


@pytest.fixture(scope="session")
def model_folder() -> Path:
    return resolve_model_folder(Settings(_env_file=None, model_path=None))


@pytest.fixture(scope="session")
def adapters_dir(model_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny random LoRA named `tiny` (r=8 on q/k/v/o); B is non-zero so it shifts logits."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    folder = tmp_path_factory.mktemp("adapters")
    base = AutoModelForCausalLM.from_pretrained(model_folder)
    config = LoraConfig(
        r=8,
        lora_alpha=16,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=False,
    )
    get_peft_model(base, config).save_pretrained(str(folder / "tiny"))
    return folder


@pytest.fixture(scope="session")
def model(model_folder: Path, adapters_dir: Path) -> EmbeddedChatModel:
    loaded = EmbeddedChatModel(
        model_folder=model_folder, adapters_dir=adapters_dir, max_new_tokens=24, torch_threads=1
    )
    loaded.load()
    return loaded


def test_the_conversion_is_cached_and_reloads_fast(model_folder: Path) -> None:
    started = time.monotonic()
    again = resolve_model_folder(Settings(_env_file=None, model_path=None))
    assert again == model_folder
    assert time.monotonic() - started < 2  # no second conversion
    assert not list(model_folder.parent.glob(".*partial*"))
    started = time.monotonic()
    EmbeddedChatModel(model_folder=model_folder).load()
    assert time.monotonic() - started < 15


def test_complete_returns_text(model: EmbeddedChatModel) -> None:
    reply = model.invoke(QUESTION)
    assert str(reply.text).strip()
    assert reply.usage_metadata is not None
    assert 0 < reply.usage_metadata["output_tokens"] <= 24


def test_stream_yields_pieces_that_join_to_the_greedy_reply(model: EmbeddedChatModel) -> None:
    pieces = list(stream(model, QUESTION))
    assert len(pieces) > 3
    assert "".join(pieces) == complete(model, QUESTION)


def test_a_stream_closed_early_frees_the_model(model: EmbeddedChatModel) -> None:
    pieces = stream(model, QUESTION)
    next(pieces)
    pieces.close()  # stops generation and releases the engine's lock
    assert complete(model, QUESTION, regex=r"(yes|no)") in {"yes", "no"}


def test_choose_returns_an_option_and_scores_every_option(model: EmbeddedChatModel) -> None:
    options = ["yes", "no"]
    reply = model.invoke(YES_NO, choices=options)
    scores = reply.response_metadata["choice_scores"]
    assert set(scores) == set(options)
    assert all(math.isfinite(s) and s < 0 for s in scores.values())
    assert reply.content == max(scores, key=scores.__getitem__)
    assert choose(model, YES_NO, options) == reply.content
    # Under a streaming caller (LangGraph's "messages" mode) the choice arrives as one chunk.
    chunks = list(model.stream(YES_NO, choices=options))
    assert [c.content for c in chunks if c.content] == [reply.content]


@pytest.mark.parametrize("regex", [r"\[[1-3]\]", r"(yes|no)"])
def test_a_regex_constraint_is_honoured(model: EmbeddedChatModel, regex: str) -> None:
    ask = [HumanMessage("Is water wet? Pick 1, 2 or 3 and say yes or no.")]
    assert re.fullmatch(regex, complete(model, ask, regex=regex))


def test_an_adapter_changes_the_model_per_call_and_none_restores_the_base(
    model: EmbeddedChatModel,
) -> None:
    options = ["yes", "no"]

    def scores(adapter: str | None) -> dict[str, float]:
        bound = model.bind(choices=options, adapter=adapter)
        result: dict[str, float] = bound.invoke(YES_NO).response_metadata["choice_scores"]
        return result

    base = scores(None)
    tuned = scores("tiny")
    assert tuned != pytest.approx(base, abs=1e-3)
    assert scores(None) == pytest.approx(base, abs=1e-5)


def test_a_stream_after_an_adapter_was_loaded_streams_the_base_and_the_adapter(
    model: EmbeddedChatModel,
) -> None:
    # Adapters load under inference mode (a scored or generated call); the stream once
    # switched them outside it and failed ("requires_grad ... on inference tensor").
    model.invoke(YES_NO, choices=["yes", "no"], adapter="tiny")
    assert "".join(stream(model, QUESTION)) == complete(model, QUESTION)
    assert "".join(stream(model, QUESTION, adapter="tiny")) == complete(
        model, QUESTION, adapter="tiny"
    )


def test_the_shipped_adapters_pass_the_base_check_on_the_packaged_model(
    model_folder: Path,
) -> None:
    # `adapters list`, `eval`, `load` and the vLLM arguments all go through this check; it
    # once refused both shipped adapters after a transformers upgrade rewrote config.json.
    base = base_model_info(model_folder, base_model_id(model_folder))
    for name in ("triage", "escalation"):
        assert AdapterRegistry(SHIPPED_ADAPTERS_DIR).get(name, base).name == name


def test_an_unknown_adapter_names_the_ones_available(model: EmbeddedChatModel) -> None:
    with pytest.raises(UnknownModelError, match=r"'nope'.*tiny"):
        complete(model, QUESTION, adapter="nope")


def test_a_corrupt_model_folder_is_reported(model_folder: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_bytes((model_folder / "config.json").read_bytes())
    with (model_folder / "model.safetensors").open("rb") as weights:
        (broken / "model.safetensors").write_bytes(weights.read(1 << 20))
    settings = Settings(_env_file=None, model_path=broken)
    with pytest.raises(ModelUnavailableError, match="broken-model"):
        resolve_model_folder(settings)
    # The loader reports it too, for a folder that skipped the check.
    with pytest.raises(ModelUnavailableError, match="broken-model"):
        EmbeddedChatModel(model_folder=broken).load()
