"""Stand-in base-model and adapter folders for registry and CLI tests (tiny, no real model)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from assistant.llm.manifest import (
    DataInfo,
    Hyperparameters,
    Manifest,
    base_model_info,
    write_manifest,
)


def make_base(folder: Path, seed: float) -> Path:
    """A stand-in base model folder: a config and one small safetensors file."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    save_file({"w": torch.full((4, 4), seed)}, str(folder / "model.safetensors"))
    return folder


def make_adapter(adapters: Path, name: str, base: Path, rank: int = 8) -> Path:
    folder = adapters / name
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank}), encoding="utf-8")
    save_file({"lora_A": torch.zeros(rank, 4)}, str(folder / "adapter_model.safetensors"))
    manifest = Manifest(
        name=name,
        task="triage",
        base_model=base_model_info(base, "test/base"),
        data=DataInfo(sha256="0" * 64, train_examples=9, dev_examples=1, dev_percent=10),
        hyperparameters=Hyperparameters(r=rank),
    )
    write_manifest(folder, manifest)
    return folder
