"""The adapter registry: which adapters exist, whether they fit the base, how vLLM gets them.

An adapter is a folder holding ``adapter_config.json``, ``adapter_model.safetensors`` and our
``manifest.json``. The manifest's base-model fingerprint must equal the base model's in use: a
LoRA delta trained on another base loads without complaint and answers nonsense, so the
registry refuses it with a clear error instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel
from safetensors import safe_open

from assistant.errors import AssistantError, ModelUnavailableError
from assistant.llm.errors import UnknownModelError
from assistant.llm.manifest import BaseModelInfo, Manifest, read_manifest

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
# vLLM accepts only these values for --max-lora-rank.
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


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


class AdapterRegistry:
    """The adapters of one folder as named resources, the way vLLM's ``serving_models`` treats
    them: list them, check one against the base in use, and the vLLM arguments that serve
    them. An adapter is any subfolder holding an ``adapter_config.json``; Python files beside
    them (this package) are ignored. The embedded model loads them through ``AdapterSwitch``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def folders(self) -> dict[str, Path]:
        """Adapter name -> folder, sorted by name, without reading the adapters' files."""
        if not self.folder.is_dir():
            return {}
        return {
            sub.name: sub for sub in sorted(self.folder.iterdir()) if (sub / CONFIG_FILE).is_file()
        }

    def adapters(self) -> list[AdapterInfo]:
        """Every adapter, sorted by name; unusable ones carry a ``problem`` rather than
        raising, so a listing always shows everything there is."""
        return [describe(name, folder) for name, folder in self.folders().items()]

    def servable(self) -> dict[str, AdapterInfo]:
        """Name -> adapter, for those whose files are whole (not checked against a base)."""
        return {a.name: a for a in self.adapters() if a.problem is None}

    def get(self, name: str, base: BaseModelInfo) -> AdapterInfo:
        """The adapter ``name``, checked against ``base``; ``UnknownModelError`` if absent."""
        found = self.folders()
        if name not in found:
            listed = ", ".join(found) or "none"
            raise UnknownModelError(
                f"Unknown adapter {name!r} in {self.folder}; there are: {listed}. "
                "Set ASSISTANT_ADAPTERS_DIR to the folder that holds it."
            )
        info = describe(name, found[name])
        check_compatible(info, base)
        return info

    def usable(self, base: BaseModelInfo) -> list[AdapterInfo]:
        """The adapters trained on ``base``. Every other one is left out with a warning that
        says why: a LoRA delta of another base loads without complaint and answers nonsense."""
        return compatible(self.adapters(), base)


def describe(name: str, folder: Path) -> AdapterInfo:
    """The adapter in ``folder`` under ``name``, with a ``problem`` if it cannot be used."""
    try:
        rank = check_files(folder)
        manifest = read_manifest(folder)
    except AssistantError as exc:
        return AdapterInfo(name=name, folder=folder, rank=0, problem=str(exc))
    return AdapterInfo(name=name, folder=folder, rank=rank, manifest=manifest)


def compatible(adapters: Sequence[AdapterInfo], base: BaseModelInfo) -> list[AdapterInfo]:
    """The ``adapters`` trained on ``base``; each other one is logged as left out, and why."""
    usable = []
    for info in adapters:
        try:
            check_compatible(info, base)
        except AssistantError as exc:
            logger.warning("adapter %r left out: %s", info.name, exc)
            continue
        usable.append(info)
    return usable


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
        with safe_open(str(weights), framework="numpy") as fh:  # no torch to list keys
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


def lora_rank_bound(adapters: Sequence[AdapterInfo]) -> int:
    """The smallest ``--max-lora-rank`` vLLM accepts that fits every adapter's rank."""
    needed = max((a.rank for a in adapters), default=8)
    return next((r for r in LORA_RANKS if r >= needed), needed)


def vllm_lora_args(adapters: Sequence[AdapterInfo], *, max_loras: int) -> list[str]:
    """The vLLM arguments that serve ``adapters`` (those without a ``problem``).

    LoRA is enabled even with no adapter, so adapters can be loaded at runtime; ``max_loras``
    is how many one batch may mix.
    """
    usable = [a for a in adapters if a.problem is None]
    argv = [
        "--enable-lora",
        "--max-lora-rank",
        str(lora_rank_bound(usable)),
        "--max-loras",
        str(max_loras),
    ]
    if usable:
        argv += ["--lora-modules", *(f"{a.name}={a.folder.resolve()}" for a in usable)]
    return argv
