"""An embedder's ONNX export is kept under a key of its model folder's files: any change to
the folder makes a new export, and the same folder finds the old one."""

from __future__ import annotations

import os
import time
from pathlib import Path

from assistant.knowledge.onnx_encoder import model_key, remembered_model_key
from assistant.knowledge.onnx_export import STALE_PARTIAL_S, remove_stale_partials


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


def test_the_remembered_key_is_the_contents_key_and_follows_a_rewritten_file(
    tmp_path: Path,
) -> None:
    model = folder(tmp_path / "model", {"config.json": b"{}", "model.safetensors": b"weights"})
    cache = tmp_path / "cache"
    key = remembered_model_key(model, cache)
    assert key == model_key(model)
    assert remembered_model_key(model, cache) == key
    assert len(list(cache.iterdir())) == 1
    weights = model / "model.safetensors"
    weights.write_bytes(b"weightz")  # same size: only the modification time tells
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert remembered_model_key(model, cache) == model_key(model) != key


def test_a_damaged_remembered_key_is_computed_again(tmp_path: Path) -> None:
    model = folder(tmp_path / "model", {"config.json": b"{}"})
    cache = tmp_path / "cache"
    key = remembered_model_key(model, cache)
    (entry,) = cache.iterdir()
    entry.write_bytes(b"\xff\xfe not a key")
    assert remembered_model_key(model, cache) == key
    assert entry.read_text(encoding="utf-8") == key


def test_an_export_folder_a_killed_process_left_is_removed_and_a_fresh_one_kept(
    tmp_path: Path,
) -> None:
    target = tmp_path / "embedders" / "0123abcd"
    old = tmp_path / "embedders" / ".0123abcd.partial-killed"
    fresh = tmp_path / "embedders" / ".0123abcd.partial-running"
    other = tmp_path / "embedders" / ".ffff.partial-other"
    for folder in (old, fresh, other):
        (folder / "model.onnx").parent.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(b"half")
    hour_ago = time.time() - 2 * STALE_PARTIAL_S
    os.utime(old, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))

    remove_stale_partials(target)

    assert not old.exists()
    assert fresh.exists()  # another process's export in progress
    assert other.exists()  # another model's: its own export cleans it
