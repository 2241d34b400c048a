"""`assistant adapters promote`: a candidate head replaces the current one only when it is not
worse on held-back labelled data.

Both heads are scored on the same rows the candidate was not fitted on (the team's reviewed
hard cases, and the shipped support tasks' fold the candidate was fitted without). The measure
is balanced recall: the mean over the labels present of the share of each label's rows routed
to it, so that a head cannot win by sending everything to the common label. The candidate is
not worse when its balanced recall is at least the current one's less `tolerance`.

Promoting moves the current folder to `HEADS_DIR/.previous/NAME/STAMP/` (rollback: move it
back) and copies the candidate in. The decision, promoted or not, is written as
`promotion.json` into the candidate's folder, and into the live folder when promoted; `force`
promotes a candidate that is worse, and needs a reason, which the record keeps.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from assistant.errors import InputError
from assistant.knowledge.embedder import Embedder
from assistant.training.hard_cases import RoutedText
from assistant.turn.heads import HEAD_FILE, load_head
from assistant.turn.routing import FittedRouter

PROMOTABLE = ("router",)
DECISION_FILE = "promotion.json"
PREVIOUS_DIR = ".previous"
DEFAULT_TOLERANCE = 0.01


class HeadScore(BaseModel):
    examples: int
    balanced_recall: float
    accuracy: float
    recall: dict[str, float]
    """Per label present in the data: the share of its rows the head routed to it."""


class PromotionDecision(BaseModel):
    """What `promote` found and did; written beside the heads as `promotion.json`."""

    name: str
    at: datetime
    candidate: str
    live: str
    data: list[str]
    tolerance: float
    current_score: HeadScore | None
    candidate_score: HeadScore
    not_worse: bool
    promoted: bool
    forced: bool = False
    reason: str | None = None
    previous_kept_at: str | None = None


def score_router(folder: Path, embedder: Embedder, rows: Sequence[RoutedText]) -> HeadScore:
    """How the router head in `folder` routes `rows`."""
    if not rows:
        raise InputError("no labelled rows to score on (reviewed rows carry a `route`)")
    router = FittedRouter.load(folder, embedder)
    routed = router.route_many([r.text for r in rows], [r.context for r in rows])
    labels = sorted({r.route for r in rows})
    recall = {}
    for label in labels:
        wanted = [got for got, row in zip(routed, rows, strict=True) if row.route == label]
        recall[label] = sum(got == label for got in wanted) / len(wanted)
    right = sum(got == row.route for got, row in zip(routed, rows, strict=True))
    return HeadScore(
        examples=len(rows),
        balanced_recall=sum(recall.values()) / len(recall),
        accuracy=right / len(rows),
        recall=recall,
    )


def promote_head(
    name: str,
    candidate: Path,
    heads_dir: Path,
    rows: Sequence[RoutedText],
    embedder: Embedder,
    *,
    data: Sequence[str],
    at: datetime,
    tolerance: float = DEFAULT_TOLERANCE,
    force: bool = False,
    reason: str | None = None,
) -> PromotionDecision:
    """Score the candidate against the live head of `name` on `rows`; replace the live one
    when the candidate is not worse (or `force`, with a `reason`). The decision is returned
    and written either way."""
    if name not in PROMOTABLE:
        raise InputError(f"{name!r} cannot be promoted; promotable heads: {', '.join(PROMOTABLE)}")
    if force and not (reason and reason.strip()):
        raise InputError("--force needs a --reason, which the promotion record keeps")
    live = heads_dir / name
    if candidate.resolve() == live.resolve():
        raise InputError(f"{candidate} is the live {name} head itself")
    load_head(candidate, "router", embedder=embedder.name)  # a clear error before scoring
    candidate_score = score_router(candidate, embedder, rows)
    current_score = score_router(live, embedder, rows) if (live / HEAD_FILE).is_file() else None
    not_worse = (
        current_score is None
        or candidate_score.balanced_recall >= current_score.balanced_recall - tolerance
    )
    decision = PromotionDecision(
        name=name,
        at=at,
        candidate=str(candidate),
        live=str(live),
        data=list(data),
        tolerance=tolerance,
        current_score=current_score,
        candidate_score=candidate_score,
        not_worse=not_worse,
        promoted=not_worse or force,
        forced=force and not not_worse,
        reason=reason.strip() if reason else None,
    )
    if decision.promoted:
        if live.exists():
            kept = heads_dir / PREVIOUS_DIR / name / at.strftime("%Y%m%dT%H%M%S%fZ")
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(live), kept)
            decision.previous_kept_at = str(kept)
        shutil.copytree(candidate, live)
        _write(decision, live)
    _write(decision, candidate)
    return decision


def _write(decision: PromotionDecision, folder: Path) -> None:
    (folder / DECISION_FILE).write_text(decision.model_dump_json(indent=1) + "\n", encoding="utf-8")
