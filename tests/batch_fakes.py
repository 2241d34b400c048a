"""Tickets from real BANKING77 texts and a deterministic triage double, for the batch tests."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from doubles import ScriptedChatModel

from assistant.triage.examples import triage_result
from assistant.triage.prompts import render_triage

BANKING77 = "banking77_train.jsonl"
# What the double says for a text it was not given a label for (and for the repair prompt):
# not JSON, so `triage` raises ModelOutputError after its one repair.
REFUSAL = "I cannot help with that."


def banking_texts(shared_data: Path, n: int, *, every: int = 97) -> list[tuple[str, str]]:
    """``n`` (text, label) pairs of BANKING77, spread over the labels (every ``every``th row)."""
    lines = (shared_data / BANKING77).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines[::every][:n]]
    return [(row["text"], row["label"]) for row in rows]


def tickets(shared_data: Path, n: int) -> list[dict[str, str]]:
    """``n`` tickets with ids ``T001``..., a body and a subject taken from the label."""
    return [
        {"id": f"T{i:03d}", "subject": "", "body": text, "label": label}
        for i, (text, label) in enumerate(banking_texts(shared_data, n), 1)
    ]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def triage_double(
    labels: dict[str, str], *, delay_s: float = 0.0, delays: dict[str, float] | None = None
) -> ScriptedChatModel:
    """Replies to a ticket text with the policy triage of its BANKING77 label, in the exact
    JSON the adapter writes; any other text gets ``REFUSAL``. Each reply takes ``delay_s``,
    or ``delays[text]`` for a text listed there (a latency that varies by ticket)."""

    def respond(prompt: str) -> str:
        delay = (delays or {}).get(prompt, delay_s)
        if delay:
            time.sleep(delay)
        label = labels.get(prompt)
        return REFUSAL if label is None else render_triage(triage_result(label))

    return ScriptedChatModel(respond=respond)


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
