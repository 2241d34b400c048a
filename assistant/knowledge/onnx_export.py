"""Export a sentence-transformers model to ONNX for `OnnxEncoder`, and check it embeds alike.

Runs with torch (the model is loaded already: at the first ingest or the first command after
an install). The whole pipeline is traced, so the export pools and normalises as the model's
own modules say; the tokenizer is the model's, saved with its truncation and padding.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.knowledge.onnx_encoder import (
    EXPORT_FORMAT,
    MANIFEST,
    MODEL_FILE,
    TOKENIZER_FILE,
    OnnxEncoder,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# A temporary export folder older than this was left by a killed process (an export takes
# seconds to a few minutes).
STALE_PARTIAL_S = 3600.0
# The model's input tensors -> the `tokenizers` Encoding attribute that makes each.
ENCODING_FIELDS = {
    "input_ids": "ids",
    "attention_mask": "attention_mask",
    "token_type_ids": "type_ids",
}
# Texts the export must embed as the model does: short and long (past the max length, so
# truncated), spaces around, accents and CJK, an empty one; in batches of several lengths.
PROBES = [
    "How do I reset my password?",
    "  Hold the reset button for ten seconds, then wait for the light.  ",
    "Ünïcödé naïve café — 日本語のテキスト, emoji 🙂 and tabs\tinside",
    "x",
    "",
    " ".join(["The invoice lists every seat billed this month and the prorated change."] * 60),
    "Open Settings > Security and choose Two-factor authentication.",
]
MIN_COSINE = 0.9999
# The packages an export is made with: a failed export is tried again when one of them changes.
EXPORT_PACKAGES = ("torch", "transformers", "sentence-transformers", "onnx")


class ExportError(Exception):
    """The model does not export, or its export embeds differently. `lasting`: trying again
    with the same packages would fail again."""

    def __init__(self, reason: str, *, lasting: bool = True) -> None:
        super().__init__(reason)
        self.lasting = lasting


def export_versions() -> str:
    """The versions of `EXPORT_PACKAGES` installed, in one line."""
    versions = []
    for package in EXPORT_PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} none")
    return ", ".join(versions)


def remove_stale_partials(target: Path, *, older_than_s: float = STALE_PARTIAL_S) -> None:
    """Remove the temporary folders of exports of `target` that a killed process left (an
    export removes its own otherwise); one younger than `older_than_s` may be another
    process's export in progress, and stays."""
    now = time.time()
    for stale in target.parent.glob(f".{target.name}.partial-*"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > older_than_s:
                shutil.rmtree(stale, ignore_errors=True)


def export_onnx(model: SentenceTransformer, target: Path) -> None:
    """Write `model`'s ONNX export and tokenizer to the folder `target`, atomically: under a
    temporary name beside it, renamed once checked; a concurrent export that finished first
    is kept. Raises `ExportError`."""
    if importlib.util.find_spec("onnx") is None:
        raise ExportError("the onnx package is not installed (pip install onnx)", lasting=False)
    tokenizer = getattr(model, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if tokenizer is None or backend is None:
        raise ExportError("its tokenizer is not a `tokenizers` one")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as exc:  # a read-only or full cache folder: another day may differ
        raise ExportError(f"cannot write to {target.parent}: {exc}", lasting=False) from exc
    try:
        _write_tokenizer(tokenizer, backend, tmp / TOKENIZER_FILE)
        inputs = _write_model(model, tmp / MODEL_FILE)
        dim = model.get_embedding_dimension()
        manifest = {"format": EXPORT_FORMAT, "dim": dim, "inputs": inputs}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _check(model, tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / MANIFEST).is_file():
                raise
    except ExportError:
        raise
    except OSError as exc:  # a full disk: another day may differ
        raise ExportError(f"{type(exc).__name__}: {exc}", lasting=False) from exc
    except Exception as exc:  # tracing and exporting fail in many library-specific ways
        raise ExportError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_tokenizer(tokenizer: Any, backend: Any, file: Path) -> None:
    """The model's tokenizer as sentence-transformers calls it: truncated at the model's max
    length (`max_seq_length`, 256 for MiniLM), padded to the longest of a batch."""
    from tokenizers import Tokenizer

    fast = Tokenizer.from_str(backend.to_str())
    fast.enable_truncation(max_length=int(tokenizer.model_max_length))
    fast.enable_padding(
        pad_id=tokenizer.pad_token_id,
        pad_type_id=tokenizer.pad_token_type_id,
        pad_token=tokenizer.pad_token,
    )
    fast.save(str(file))


def _write_model(model: SentenceTransformer, file: Path) -> dict[str, str]:
    """Trace the model's whole pipeline into `file`; returns its inputs (ONNX input name ->
    Encoding attribute)."""
    import torch

    features = model.preprocess(["a probe", "a longer probe text"])
    names = [name for name, value in features.items() if isinstance(value, torch.Tensor)]
    unknown = [name for name in names if name not in ENCODING_FIELDS]
    if unknown:
        raise ExportError(f"it takes inputs a tokenizer does not make: {', '.join(unknown)}")
    constants = {name: value for name, value in features.items() if name not in names}

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.model({**constants, **dict(zip(names, tensors, strict=True))})[
                "sentence_embedding"
            ]
            return out

    device = model.device
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's warnings (Python booleans of shapes, the exporter's deprecation) are
        # about graphs in general; `_check` tells whether this one embeds as the model does.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pipeline(),
            tuple(features[name].to(device) for name in names),
            str(file),
            dynamo=False,  # the dynamo exporter needs onnxscript, and this graph is static
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=17,
        )
    return {name: ENCODING_FIELDS[name] for name in names}


def _check(model: SentenceTransformer, folder: Path) -> None:
    """Raise `ExportError` unless the export embeds `PROBES` as the model's encode_document
    and encode_query do (one batch, and one text at a time)."""
    exported = OnnxEncoder.load(folder)
    batch = exported.encode(PROBES, query=False, batch_size=4)
    one_by_one = np.concatenate([exported.encode([t], query=True, batch_size=1) for t in PROBES])
    for name, encode in (("document", model.encode_document), ("query", model.encode_query)):
        expected = np.asarray(encode(PROBES, normalize_embeddings=True, convert_to_numpy=True))
        for vectors in (batch, one_by_one):
            cosine = float(np.min(np.sum(vectors * expected, axis=1)))
            if cosine < MIN_COSINE:
                raise ExportError(
                    f"its export embeds differently from the model's encode_{name} "
                    f"(cosine {cosine:.6f} < {MIN_COSINE})"
                )
