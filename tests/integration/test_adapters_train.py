"""A few LoRA training steps on a tiny real slice, on the real packaged SmolLM2.

About a minute on 2 cores: 8 steps of 4 short examples, a resume, and loading the result
with peft and through the embedded chat model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from assistant.errors import InputError
from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.manifest import (
    Hyperparameters,
    base_model_id,
    base_model_info,
    read_manifest,
)
from assistant.llm.packaged import resolve_model_folder
from assistant.llm.registry import check_files
from assistant.schemas import ChatExample
from assistant.settings import Settings
from assistant.training.lora_training import (
    IGNORE,
    TrainOptions,
    encode,
    latest_checkpoint,
    train_adapter,
)
from assistant.triage.examples import read_banking77, split, triage_examples
from assistant.triage.inference import triage

pytestmark = pytest.mark.slow

HYPER = Hyperparameters(steps=6, batch_size=4, learning_rate=2e-3, warmup_steps=1, seed=0)


@pytest.fixture(scope="module")
def model_folder() -> Path:
    return resolve_model_folder(Settings(_env_file=None, model_path=None))


@pytest.fixture(scope="module")
def tiny(shared_data: Path) -> tuple[list[ChatExample], list[ChatExample]]:
    """16 train and 4 dev triage examples over a spread of intents."""
    rows = read_banking77(shared_data / "banking77_train.jsonl")[::400]
    train, dev = split(triage_examples(rows))
    return train[:16], (dev or train[16:])[:4]


def options(tmp: Path, folder: Path, **changes: object) -> TrainOptions:
    defaults: dict[str, object] = {
        "name": "triage",
        "task": "triage",
        "base_folder": folder,
        "out_dir": tmp / "adapters" / "triage",
        "checkpoint_dir": tmp / "checkpoints",
        "checkpoint_every": 3,
        "log_every": 1,
        "threads": 2,
        "progress": False,
    }
    return TrainOptions.model_validate(defaults | changes)


def test_a_trained_adapter_goes_on_training_where_it_stopped(
    model_folder: Path, tiny: tuple[list[ChatExample], list[ChatExample]], tmp_path: Path
) -> None:
    train, dev = tiny
    shipped = tmp_path / "shipped"
    first = train_adapter(options(tmp_path / "a", model_folder, out_dir=shipped), HYPER, train, dev)

    longer = HYPER.model_copy(update={"steps": 8})
    continued = train_adapter(
        options(tmp_path / "b", model_folder, init_from=shipped), longer, train, dev
    )
    assert continued.steps_done == 8
    assert continued.loss_curve[:6] == first.loss_curve
    assert [step for step, _ in continued.loss_curve[6:]] == [7, 8]
    assert continued.continued_from is not None
    assert continued.continued_from.steps_done == 6
    # Picking up trained weights, not fresh ones: the loss goes on from where it was.
    assert continued.loss_curve[6][1] < first.loss_curve[0][1]

    with pytest.raises(InputError, match="other r"):
        train_adapter(
            options(tmp_path / "c", model_folder, init_from=shipped),
            longer.model_copy(update={"r": 4}),
            train,
            dev,
        )
    with pytest.raises(InputError, match="other data"):
        train_adapter(
            options(tmp_path / "d", model_folder, init_from=shipped), longer, train[:8], dev
        )
    with pytest.raises(InputError, match="already has 6 steps"):
        train_adapter(options(tmp_path / "e", model_folder, init_from=shipped), HYPER, train, dev)


def test_only_the_reply_and_its_end_of_turn_are_learned(
    model_folder: Path, tiny: tuple[list[ChatExample], list[ChatExample]]
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    example = tiny[0][0]
    encoded = encode(example, tokenizer, 256)
    assert encoded is not None
    learned = [t for t in encoded.labels if t != IGNORE]
    assert tokenizer.decode(learned) == example.reply + "<|im_end|>"
    assert encode(example, tokenizer, 10) is None


def test_a_few_steps_lower_the_loss_resume_and_load_everywhere(
    model_folder: Path, tiny: tuple[list[ChatExample], list[ChatExample]], tmp_path: Path
) -> None:
    train, dev = tiny
    first = train_adapter(options(tmp_path, model_folder), HYPER, train, dev)
    losses = [loss for _, loss in first.loss_curve]
    assert first.steps_done == 6
    assert first.trained_on is not None and first.trained_on.startswith(("cpu", "cuda"))
    assert sum(losses[-2:]) < sum(losses[:2])
    assert latest_checkpoint(tmp_path / "checkpoints") == tmp_path / "checkpoints" / "step-000006"

    # Resuming continues from the checkpoint: the first six points are not recomputed.
    longer = HYPER.model_copy(update={"steps": 8})
    resumed = train_adapter(options(tmp_path, model_folder), longer, train, dev)
    assert resumed.steps_done == 8
    assert resumed.loss_curve[:6] == first.loss_curve

    folder = tmp_path / "adapters" / "triage"
    assert check_files(folder) == 8
    # The shipped folder is float16 (committed, half the size); checkpoints keep float32.
    shipped = load_file(str(folder / "adapter_model.safetensors"))
    kept = load_file(str(tmp_path / "checkpoints" / "step-000006" / "adapter_model.safetensors"))
    assert {t.dtype for t in shipped.values()} == {torch.float16}
    assert {t.dtype for t in kept.values()} == {torch.float32}
    assert shipped.keys() == kept.keys()
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    assert sorted(config["target_modules"]) == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    manifest = read_manifest(folder)
    assert manifest.base_model == base_model_info(model_folder, base_model_id(model_folder))
    assert manifest.dev_loss is not None

    from peft import PeftModel, get_peft_model_state_dict
    from transformers import AutoModelForCausalLM

    peft_model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(model_folder), str(folder)
    )
    # peft names the loaded weights as it names the saved ones: each is the float16 value, cast.
    loaded = get_peft_model_state_dict(peft_model, save_embedding_layers=False)
    assert loaded.keys() == shipped.keys()
    assert {t.dtype for t in loaded.values()} == {torch.float32}
    assert all(torch.equal(loaded[name], shipped[name].float()) for name in shipped)

    chat = EmbeddedChatModel(
        model_folder=model_folder, adapters_dir=folder.parent, max_new_tokens=48, torch_threads=2
    )
    result = triage(chat, "I think my card was stolen yesterday")
    assert result.priority in ("urgent", "high", "normal", "low")
