"""Fitted heads: small linear models over the embedder's signals that carry a turn's decisions.

A head is a logistic regression (binary or multinomial) saved as JSON beside the LoRA
adapters: its labels, the names of its inputs, the standardisation, the weights, the decision
threshold, and a manifest (embedder, data files and hash, held-out scores). JSON, not a pickle:
it loads without running code, and a reader can see what the head weighs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from assistant.errors import InputError

HEAD_FILE = "head.json"
HeadKind = Literal["judge", "router", "small_talk"]


class ReliabilityBin(BaseModel):
    """Out-of-fold examples whose calibrated probability fell in [low, high)."""

    low: float
    high: float
    examples: int
    predicted: float = Field(description="Their mean calibrated probability.")
    observed: float = Field(description="The share of them that were positive.")


class HeadScores(BaseModel):
    """Held-out scores recorded when the head was fitted (conversations never trained on)."""

    examples: int
    metrics: dict[str, float] = Field(default_factory=dict)
    reliability: list[ReliabilityBin] = Field(
        default_factory=list, description="Calibrated heads: predicted against observed."
    )


class PlattScaling(BaseModel):
    """P = sigmoid(slope * logit(p) + offset), fitted on out-of-fold predictions.

    A head fitted with balanced class weights ranks well but its raw probability is not the
    share of positives; thresholds a team sets ("answer with confidence above 0.8") need one
    that is.
    """

    slope: float
    offset: float

    def apply(self, p: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-(self.slope * logit(p) + self.offset))))


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), with p kept off 0 and 1."""
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(clipped / (1 - clipped)))


class LinearHead(BaseModel):
    """A fitted logistic regression and what it was fitted on."""

    kind: HeadKind
    labels: list[str] = Field(min_length=2)
    inputs: list[str] = Field(min_length=1, description="Names of the input columns.")
    mean: list[float]
    scale: list[float]
    weights: list[list[float]] = Field(description="One row per label (one row if binary).")
    intercept: list[float]
    threshold: float = Field(
        0.5, description="Binary heads: P(second label) at or above which it is chosen."
    )
    calibration: PlattScaling | None = Field(
        None, description="Binary heads: maps the regression's P(second label) to a calibrated one."
    )
    confident_at: float | None = Field(
        None,
        description="Binary heads with two bands: P(second label) at or above which it is "
        "chosen with confidence (`threshold` <= it; between them, chosen with a hedge).",
    )
    embedder: str
    trained_on: list[str] = Field(description="The data files, as given to the fit command.")
    data_hash: str
    held_out: HeadScores | None = None

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """P(label) for each row of `rows` (shape n x len(inputs)) -> n x len(labels)."""
        x = (np.atleast_2d(rows) - np.asarray(self.mean)) / np.asarray(self.scale)
        logits = x @ np.asarray(self.weights).T + np.asarray(self.intercept)
        if len(self.labels) == 2 and logits.shape[1] == 1:
            positive = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            if self.calibration is not None:
                positive = self.calibration.apply(positive)
            return np.stack([1.0 - positive, positive], axis=1)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / HEAD_FILE
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
        return path


def load_head(folder: Path, kind: HeadKind, *, embedder: str) -> LinearHead:
    """The head in `folder`; a clear `InputError` when it is missing, broken, of another kind,
    or fitted on another embedder (its inputs would mean something else)."""
    path = folder / HEAD_FILE
    if not path.is_file():
        raise InputError(f"{folder}: no fitted {kind} head ({HEAD_FILE} missing)")
    try:
        head = LinearHead.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise InputError(f"{path}: not a valid head file ({exc.__class__.__name__})") from None
    if head.kind != kind:
        raise InputError(f"{path}: a {head.kind} head, not a {kind} head")
    if head.embedder != embedder:
        raise InputError(
            f"{path}: fitted on the embedder {head.embedder!r}, the knowledge base uses "
            f"{embedder!r}; refit it (assistant adapters fit-{kind.replace('_', '-')})"
        )
    return head
