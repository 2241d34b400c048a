"""JSONL files read into typed rows; every problem names its file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from assistant.errors import InputError

M = TypeVar("M", bound=BaseModel)


def read_jsonl(
    path: Path, model: type[M], *, expected: str, allow_empty: bool = False
) -> list[tuple[int, M]]:
    """Every non-empty line of `path` validated as `model`, with its line number.

    `expected` names the format in the error, so a file of the wrong kind says what was wanted.
    Raises `InputError` as `path:line: problem` at the first bad line, and for a file with no
    rows unless `allow_empty`.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    rows: list[tuple[int, M]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise InputError(f"{path}:{number}: not a JSON object (expected {expected})")
        try:
            rows.append((number, model.model_validate(data)))
        except ValidationError as exc:
            raise InputError(f"{path}:{number}: {_problems(exc)} (expected {expected})") from exc
    if not rows and not allow_empty:
        raise InputError(f"{path}: no rows (expected {expected})")
    return rows


def _problems(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        field = ".".join(str(p) for p in problem["loc"])
        if problem["type"] == "missing":
            parts.append(f"missing field `{field}`")
        else:
            parts.append(f"field `{field}`: {problem['msg']}")
    return "; ".join(parts)
