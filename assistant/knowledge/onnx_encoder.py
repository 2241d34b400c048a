"""The embedding model run by onnxruntime and the `tokenizers` library: no torch on the path
of a command that only reads (`assistant search`, `assistant ask`).

A sentence-transformers model folder is exported once (`onnx_export`, with torch) into
`cache_dir/embedders/KEY/`, KEY hashing the folder's files, and every later process loads that
in a fraction of a second. The export holds the whole sentence-transformers pipeline (the
transformer, its pooling and normalisation) and the model's tokenizer set up as the model calls
it (truncation at its max length, padding), and it is kept only if it embeds a set of probe
texts as the model does, so this class only tokenizes, runs and normalises.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# Bumped when what an export holds changes, so older exports are made again.
EXPORT_FORMAT = 1
MANIFEST = "embedder.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


class OnnxEncoder:
    """A sentence-transformers model's ONNX export, loaded from its cache folder."""

    def __init__(
        self, folder: Path, session: Any, tokenizer: Tokenizer, inputs: dict[str, str], dim: int
    ) -> None:
        self.folder = folder
        self.session = session
        self.tokenizer = tokenizer
        # ONNX input name -> the `tokenizers` Encoding attribute that feeds it.
        self.inputs = inputs
        self.dim = dim

    @classmethod
    def load(cls, folder: Path, *, threads: int | None = None) -> OnnxEncoder:
        import onnxruntime
        from tokenizers import Tokenizer

        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: its warnings are about graph details
        if threads is not None:
            options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        return cls(folder, session, tokenizer, manifest["inputs"], manifest["dim"])

    def encode(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        # Queries and documents embed alike: an export is kept only where the model's own
        # encode_query and encode_document agree with it (a model without prompts).
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        # Longest first, as sentence-transformers batches: each batch pads to similar lengths.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            picked = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] for i in picked])
            feed = {
                name: np.array([getattr(e, attribute) for e in encodings], dtype=np.int64)
                for name, attribute in self.inputs.items()
            }
            (out,) = self.session.run(None, feed)
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            vectors[picked] = out / np.maximum(norms, 1e-12)
        return vectors


def model_key(path: Path) -> str:
    """A hash of the model folder's files (names and contents) and of the export format."""
    return _contents_key(path, _model_files(path))


def _model_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def _contents_key(path: Path, files: list[Path]) -> str:
    digest = hashlib.sha256(f"embedder export {EXPORT_FORMAT}\n".encode())
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with file.open("rb") as fh:
            digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest()[:32]


def remembered_model_key(path: Path, keys: Path) -> str:
    """`model_key(path)`, remembered in the folder `keys` under the files' names, sizes and
    modification times: hashing a model folder's contents (88 MB for the packaged MiniLM)
    took a fifth of a cold `assistant search`. A file rewritten in place gets a new
    modification time, and so a new key; a key that cannot be stored is computed again."""
    files = _model_files(path)
    stamp = hashlib.sha256(f"{path.resolve()}\n".encode())
    for file in files:
        status = file.stat()
        stamp.update(f"{file.relative_to(path).as_posix()}\0{status.st_size}\0".encode())
        stamp.update(f"{status.st_mtime_ns}\n".encode())
    remembered = keys / stamp.hexdigest()[:32]
    with contextlib.suppress(OSError, UnicodeDecodeError):
        key = remembered.read_text(encoding="utf-8").strip()
        if len(key) == 32 and all(c in "0123456789abcdef" for c in key):
            return key
    key = _contents_key(path, files)
    with contextlib.suppress(OSError):
        remembered.parent.mkdir(parents=True, exist_ok=True)
        remembered.write_text(key, encoding="utf-8")
    return key
