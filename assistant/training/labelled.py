"""A team's own labelled tickets (CSV or JSONL) as training rows, checked against its policy.

Any file with a text column and a label column will do: the columns are named by the caller
(`--text-field`, `--label-field`), and `--label-map FROM=TO` renames labels on the way in (a
dataset's `oos` to the policy's `out_of_scope`, say). Every problem names the line: a row
without text, a label the policy lacks, and a policy category with no example at all (the
classifier and the adapter could never predict it). Out-of-scope examples can come from
another file's out-of-scope rows (``--out-of-scope-from``, CLINC150's ``oos`` rows).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from assistant.policy import OUT_OF_SCOPE, PolicyError, TriagePolicy
from assistant.triage.examples import LabelledText


class LabelFields(BaseModel):
    """Which columns (CSV) or fields (JSONL) hold a row's text and its label."""

    model_config = ConfigDict(frozen=True)

    text: str = Field("text", min_length=1)
    label: str = Field("label", min_length=1)
    label_map: dict[str, str] = Field(
        default_factory=dict, description="Data label -> policy category, applied first."
    )


def parse_label_map(pairs: Sequence[str]) -> dict[str, str]:
    """``["oos=out_of_scope", ...]`` as a mapping; ``PolicyError`` for a pair without ``=``."""
    mapping = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise PolicyError(f"--label-map {pair!r}: write FROM=TO, e.g. oos=out_of_scope")
        mapping[source.strip()] = target.strip()
    return mapping


def read_labelled(
    path: Path,
    fields: LabelFields,
    policy: TriagePolicy,
    *,
    out_of_scope: Sequence[Path] = (),
    out_of_scope_label: str = "oos",
) -> list[LabelledText]:
    """The rows of ``path`` (``.csv`` with a header, or ``.jsonl``), checked against ``policy``,
    and the rows of each ``out_of_scope`` file labelled ``out_of_scope_label`` (CLINC150's
    ``oos``) as ``out_of_scope`` examples.

    Raises ``PolicyError`` naming the line of the first bad row, or the policy line of a
    category without examples.
    """
    rows = _read(path, fields, policy)
    for extra in out_of_scope:
        rows += out_of_scope_rows(extra, fields, policy, out_of_scope_label)
    for category in policy.labels:
        if not any(row.label == category for row in rows):
            raise PolicyError(
                f"{policy.where(category)}: category {category!r} has no examples in {path} "
                "(add labelled rows, map a label to it with --label-map, or remove it)"
            )
    return rows


def out_of_scope_rows(
    path: Path, fields: LabelFields, policy: TriagePolicy, label: str = "oos"
) -> list[LabelledText]:
    """The rows of ``path`` labelled ``label``, as ``out_of_scope`` examples (other rows are
    left out: they are another taxonomy's intents)."""
    if OUT_OF_SCOPE not in policy.categories:
        raise PolicyError(
            f"{policy.where()}: --out-of-scope-from needs an {OUT_OF_SCOPE!r} category in the "
            "policy (e.g. adapters/policies/banking77-oos.yaml)"
        )
    only = LabelFields(text=fields.text, label=fields.label, label_map={label: OUT_OF_SCOPE})
    rows = []
    for line, values in _raw_rows(path, only):
        if str(values.get(fields.label, "")).strip() == label:
            rows.append(_row(path, line, values, only, policy))
    if not rows:
        raise PolicyError(f"{path}: no row labelled {label!r} in {fields.label!r}")
    return rows


def _read(path: Path, fields: LabelFields, policy: TriagePolicy) -> list[LabelledText]:
    rows = [_row(path, line, values, fields, policy) for line, values in _raw_rows(path, fields)]
    if not rows:
        raise PolicyError(f"{path}: no rows")
    return rows


def _raw_rows(path: Path, fields: LabelFields) -> Iterator[tuple[int, Mapping[str, object]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read {path}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path, text, fields)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_rows(path, text)
    raise PolicyError(f"{path}: unsupported suffix {path.suffix!r}; use .csv or .jsonl")


def _row(
    path: Path, line: int, values: Mapping[str, object], fields: LabelFields, policy: TriagePolicy
) -> LabelledText:
    body = values.get(fields.text)
    if not isinstance(body, str) or not body.strip():
        raise PolicyError(f"{path}:{line}: no text in {fields.text!r}")
    raw_label = values.get(fields.label)
    if raw_label is None or not str(raw_label).strip():
        raise PolicyError(f"{path}:{line}: no label in {fields.label!r}")
    label = fields.label_map.get(str(raw_label).strip(), str(raw_label).strip())
    if label not in policy.categories:
        raise PolicyError(
            f"{path}:{line}: label {label!r} is not a category of the policy {policy.name!r} "
            f"({policy.where()}); add it there or map it with --label-map {label}=CATEGORY"
        )
    return LabelledText(text=body.strip(), label=label, source=f"{path.name}:{line}")


def _jsonl_rows(path: Path, text: str) -> Iterator[tuple[int, Mapping[str, object]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(values, dict):
            raise PolicyError(f"{path}:{number}: not a JSON object")
        yield number, values


def _csv_rows(
    path: Path, text: str, fields: LabelFields
) -> Iterator[tuple[int, Mapping[str, object]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = reader.fieldnames or []
    if missing := [f for f in (fields.text, fields.label) if f not in header]:
        raise PolicyError(
            f"{path}:1: no column {', '.join(map(repr, missing))}; the header has "
            f"{', '.join(map(repr, header))} (name them with --text-field, --label-field)"
        )
    start = 2
    try:
        for values in reader:
            yield start, values
            # A quoted newline makes a record span lines: the next starts after this one.
            start = reader.line_num + 1
    except csv.Error as exc:
        raise PolicyError(f"{path}:{start}: malformed CSV: {exc}") from None
