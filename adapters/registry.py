"""The adapter registry: which adapters exist, whether they fit the base, how vLLM gets them.

An adapter is a folder holding ``adapter_config.json``, ``adapter_model.safetensors`` and our
``manifest.json``. The manifest's base-model fingerprint must equal the base model's in use: a
LoRA delta trained on another base loads without complaint and answers nonsense, so the
registry refuses it with a clear error instead.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel
from safetensors import safe_open

from assistant.adapters.manifest import BaseModelInfo, Manifest, read_manifest
from assistant.errors import AssistantError, ModelUnavailableError
from assistant.llm.errors import UnknownModelError
from assistant.llm.lora import available_adapters

WEIGHTS_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"


class IncompatibleAdapterError(ModelUnavailableError):
    """The adapter was trained on another base model (or cannot show which one)."""


class CorruptAdapterError(ModelUnavailableError):
    """The adapter folder is incomplete or its files cannot be read."""


class AdapterInfo(BaseModel):
    """One adapter as the registry sees it."""

    name: str
    folder: Path
    rank: int
    manifest: Manifest | None = None
    problem: str | None = None
    """Why it cannot be used (no manifest, unreadable files), or None."""


def list_adapters(adapters_dir: Path | None) -> list[AdapterInfo]:
    """Every adapter folder under ``adapters_dir``, sorted by name; unusable ones carry a
    ``problem`` rather than raising, so a listing always shows everything there is."""
    infos = []
    for name, folder in available_adapters(adapters_dir).items():
        try:
            rank = check_files(folder)
            manifest = read_manifest(folder)
        except AssistantError as exc:
            infos.append(AdapterInfo(name=name, folder=folder, rank=0, problem=str(exc)))
            continue
        infos.append(AdapterInfo(name=name, folder=folder, rank=rank, manifest=manifest))
    return infos


def check_files(folder: Path) -> int:
    """Check that ``folder`` holds a readable peft adapter; return its LoRA rank.

    Reads the safetensors header (not the tensors), which is enough to catch a truncated or
    overwritten file before peft or vLLM fail on it with a less helpful message.
    """
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        rank = int(config["r"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptAdapterError(f"{folder / CONFIG_FILE} is unreadable: {exc}") from exc
    weights = folder / WEIGHTS_FILE
    try:
        with safe_open(str(weights), framework="pt") as fh:
            if not list(fh.keys()):
                raise CorruptAdapterError(f"{weights} holds no tensors.")
    except CorruptAdapterError:
        raise
    except Exception as exc:  # safetensors raises its own error types for a bad file
        raise CorruptAdapterError(
            f"{weights} is missing or corrupt ({exc}). Retrain the adapter or restore the file."
        ) from exc
    return rank


def check_compatible(info: AdapterInfo, base: BaseModelInfo) -> None:
    """Raise ``IncompatibleAdapterError`` unless ``info`` was trained on ``base``."""
    if info.problem is not None or info.manifest is None:
        raise IncompatibleAdapterError(
            f"Adapter {info.name!r} cannot be used: {info.problem or 'no manifest'}"
        )
    trained_on = info.manifest.base_model
    differ = [
        part
        for part, ours, theirs in (
            ("weights", base.weights_sha256, trained_on.weights_sha256),
            ("config", base.config_sha256, trained_on.config_sha256),
        )
        if ours != theirs
    ]
    if differ:
        raise IncompatibleAdapterError(
            f"Adapter {info.name!r} was trained on base {trained_on.id} "
            f"(weights sha256 {trained_on.weights_sha256[:12]}…, config sha256 "
            f"{trained_on.config_sha256[:12]}…), but the base model in use is {base.id} "
            f"(weights sha256 {base.weights_sha256[:12]}…, config sha256 "
            f"{base.config_sha256[:12]}…): the {' and '.join(differ)} differ. Retrain it on "
            f"this base (`assistant adapters train {info.name}`) or point ASSISTANT_MODEL_PATH "
            "at its base."
        )


def get_adapter(adapters_dir: Path | None, name: str, base: BaseModelInfo) -> AdapterInfo:
    """The adapter ``name``, checked against ``base``; ``UnknownModelError`` if absent."""
    found = {info.name: info for info in list_adapters(adapters_dir)}
    if name not in found:
        listed = ", ".join(found) or "none"
        raise UnknownModelError(f"Unknown adapter {name!r} in {adapters_dir}; there are: {listed}.")
    check_compatible(found[name], base)
    return found[name]


def lora_modules(adapters: list[AdapterInfo]) -> list[str]:
    """vLLM's ``--lora-modules`` values (``name=/abs/path``) for the usable ``adapters``."""
    return [f"{a.name}={a.folder.resolve()}" for a in adapters if a.problem is None]


def vllm_lora_args(adapters: list[AdapterInfo]) -> list[str]:
    """The vLLM arguments that serve ``adapters``: enable LoRA, the rank bound, the modules.

    vLLM only accepts a few values for ``--max-lora-rank``, so the highest rank is rounded up
    to the next power of two (8 at least).
    """
    usable = [a for a in adapters if a.problem is None]
    if not usable:
        return []
    rank = 8
    while rank < max(a.rank for a in usable):
        rank *= 2
    return ["--enable-lora", "--max-lora-rank", str(rank), "--lora-modules", *lora_modules(usable)]
