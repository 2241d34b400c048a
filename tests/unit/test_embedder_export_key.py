"""An embedder's ONNX export is kept under a key of its model folder's files: any change to
the folder makes a new export, and the same folder finds the old one."""

from __future__ import annotations

from pathlib import Path

from assistant.knowledge.onnx_encoder import model_key


def folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def test_the_key_follows_the_files_names_and_contents(tmp_path: Path) -> None:
    files = {"config.json": b"{}", "model.safetensors": b"weights", "1_Pooling/config.json": b"m"}
    key = model_key(folder(tmp_path / "a", files))
    assert model_key(folder(tmp_path / "b", files)) == key  # where it lies does not count
    changed = {**files, "model.safetensors": b"weightz"}
    assert model_key(folder(tmp_path / "c", changed)) != key
    renamed = {"config.json": b"{}", "model.safetensors": b"weights", "1_Pooling/other.json": b"m"}
    assert model_key(folder(tmp_path / "d", renamed)) != key
    added = {**files, "tokenizer.json": b"{}"}
    assert model_key(folder(tmp_path / "e", added)) != key
