"""An adapter's manifest: what it was trained on, how, and how well it did.

``manifest.json`` sits beside ``adapter_config.json`` in each adapter folder. The base-model
fingerprint (sha256 of its config settings and of its weights) is what the registry checks an
adapter against before loading it: a LoRA delta on another base silently produces nonsense.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from assistant.errors import InputError
from assistant.policy import TriagePolicy
from assistant.schemas import Task

MANIFEST_FILE = "manifest.json"
_CHUNK = 1 << 20
# Written by whichever transformers release saved the folder, not part of the model: hashing
# it would refuse every shipped adapter after a transformers upgrade.
_UNSTABLE_CONFIG_KEYS = frozenset({"transformers_version", "_name_or_path"})


class BaseModelInfo(BaseModel):
    """Which base model an adapter belongs to."""

    id: str = Field(description="Human-readable name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct.")
    config_sha256: str
    weights_sha256: str = Field(description="sha256 over the *.safetensors files, by name.")


class Hyperparameters(BaseModel):
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    learning_rate: float = 2e-4
    batch_size: int = 16
    steps: int = 600
    warmup_steps: int = 20
    max_length: int = 256
    seed: int = 0


class DataInfo(BaseModel):
    sha256: str = Field(description="`examples_hash` of the training examples, in order.")
    train_examples: int
    dev_examples: int
    dev_percent: int


class ContinuedFrom(BaseModel):
    """The trained adapter a run started from (its optimizer state started fresh there)."""

    steps_done: int
    weights_sha256: str
    created: str


class Manifest(BaseModel):
    """The contents of ``manifest.json``."""

    name: str
    task: Task
    base_model: BaseModelInfo
    data: DataInfo
    policy: TriagePolicy | None = Field(
        default=None,
        description="The taxonomy and policy its examples were labelled by; the triage engine "
        "refuses the adapter under another one.",
    )
    hyperparameters: Hyperparameters
    continued_from: ContinuedFrom | None = None
    steps_done: int = 0
    train_seconds: float = 0.0
    loss_curve: list[tuple[int, float]] = Field(
        default_factory=list, description="(step, mean training loss since the previous point)."
    )
    dev_loss: float | None = None
    dev_metrics: dict[str, float] = Field(default_factory=dict)
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    versions: dict[str, str] = Field(default_factory=dict)
    trained_on: str | None = Field(
        default=None, description="Where the last run trained, e.g. cpu (2 threads)."
    )


def sha256_file(path: Path) -> str:
    """sha256 of a file, read in chunks (the base weights are ~0.5 GB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def base_model_info(folder: Path, model_id: str) -> BaseModelInfo:
    """The fingerprint of the Hugging Face model in ``folder``."""
    weights = sorted(folder.glob("*.safetensors"))
    if not (folder / "config.json").is_file() or not weights:
        raise InputError(f"{folder} is not a Hugging Face model folder (config + safetensors).")
    digest = hashlib.sha256()
    for file in weights:
        digest.update(f"{file.name}:{sha256_file(file)}\n".encode())
    return BaseModelInfo(
        id=model_id,
        config_sha256=config_fingerprint(folder / "config.json"),
        weights_sha256=digest.hexdigest(),
    )


def config_fingerprint(path: Path) -> str:
    """sha256 of a model config's settings, in canonical JSON, without the saving library's
    bookkeeping keys."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable model config: {exc}") from exc
    if not isinstance(config, dict):
        raise InputError(f"{path} is not a model config (a JSON object).")
    settings = {k: v for k, v in config.items() if k not in _UNSTABLE_CONFIG_KEYS}
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the adapter in ``folder``; ``InputError`` if missing or malformed."""
    path = folder / MANIFEST_FILE
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"Adapter {folder.name!r} has no readable {MANIFEST_FILE}: {exc}") from exc
    except ValidationError as exc:
        raise InputError(f"{path} is not a valid adapter manifest: {exc}") from exc


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``manifest`` into ``folder`` (atomically, so a reader never sees half a file)."""
    path = folder / MANIFEST_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def base_model_id(folder: Path) -> str:
    """A readable id for the base in ``folder``: the hub id of the packaged SmolLM2 when the
    folder is its conversion (its ``source.json`` names the GGUF), else the folder's name."""
    from assistant.llm.packaged import GGUF_FILE

    try:
        source = json.loads((folder / "source.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return folder.name
    if isinstance(source, dict) and source.get("gguf") == GGUF_FILE:
        return "HuggingFaceTB/SmolLM2-135M-Instruct"
    return folder.name
