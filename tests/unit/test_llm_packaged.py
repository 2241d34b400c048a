"""Model folder checks: a missing or damaged folder is reported before anything loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from assistant.errors import ModelUnavailableError
from assistant.llm.packaged import check_model_folder, resolve_model_folder
from assistant.settings import Settings


def tiny_model_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    save_file({"w": np.zeros((64, 64), dtype=np.float32)}, str(folder / "model.safetensors"))
    return folder


def test_a_complete_folder_passes(tmp_path: Path) -> None:
    check_model_folder(tiny_model_folder(tmp_path / "m"))


def test_a_truncated_safetensors_file_is_reported_with_its_path(tmp_path: Path) -> None:
    folder = tiny_model_folder(tmp_path / "m")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ModelUnavailableError, match=r"model\.safetensors.*truncated"):
        check_model_folder(folder)


def test_a_folder_without_config_is_reported(tmp_path: Path) -> None:
    folder = tiny_model_folder(tmp_path / "m")
    (folder / "config.json").unlink()
    with pytest.raises(ModelUnavailableError, match=r"config\.json"):
        check_model_folder(folder)


def test_a_folder_without_weights_is_reported(tmp_path: Path) -> None:
    folder = tiny_model_folder(tmp_path / "m")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelUnavailableError, match="safetensors"):
        check_model_folder(folder)


def test_model_path_wins_over_the_packaged_model(settings: Settings, tmp_path: Path) -> None:
    folder = tiny_model_folder(tmp_path / "mine")
    own = settings.model_copy(update={"model_path": folder, "cache_dir": tmp_path / "cache"})
    assert resolve_model_folder(own) == folder
    assert not (own.cache_dir / "models").exists()  # nothing was converted


def test_a_failed_conversion_leaves_no_folder_behind(tmp_path: Path) -> None:
    from assistant.llm.packaged import convert_packaged_model

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    target = tmp_path / "models" / "SmolLM2-135M-Instruct"
    with pytest.raises(Exception):  # noqa: B017 - whatever transformers raises for a bad GGUF
        convert_packaged_model(target, gguf=bad)
    assert list(target.parent.iterdir()) == []
