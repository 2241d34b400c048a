"""`assistant adapters train-reader`: the answer reader, and the judge's heads refitted with it.

One search of the task files (`collect_judge_examples`, as `fit-judge`) gives both the
reader's (question, chunk) pairs and the heads' examples. The heads must learn how far to
trust the reader's score on chunks it did not train on, or they trust it too much: with
`cross_fit` K >= 2 the heads learn from scores of K readers each trained without a K-th of the
conversations, and the saved reader is trained on all of them. Everything lands in one folder
(``HEADS_DIR/judge/reader``): the peft adapter, `reader.json` and the heads `turn/`, `chunk/`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.adapters.behaviour_fit import (
    READER_FEATURES,
    fit_judge,
    save_judge,
    with_reader_scores,
)
from assistant.adapters.heads import LinearHead
from assistant.adapters.judge_data import JudgeExample
from assistant.adapters.reader import (
    CrossEncoderReader,
    ReaderManifest,
    ReaderRecipe,
    file_sha256,
    pairs_hash,
    reader_pairs,
    save_reader,
    train_reader,
)


def _part(conversation: str, of: int) -> int:
    return int.from_bytes(hashlib.sha256(conversation.encode()).digest()[:8], "big") % of


def cross_fitted_scores(
    examples: Sequence[JudgeExample],
    base: Path,
    recipe: ReaderRecipe,
    of: int,
    log: Callable[[str], None],
) -> list[JudgeExample]:
    """`examples` with reader scores from readers that never saw their conversation."""
    out: dict[int, JudgeExample] = {}
    for part in range(of):
        inside = [e for e in examples if _part(e.conversation, of) != part]
        log(f"reader for the heads, part {part + 1}/{of}: {len(inside)} searches")
        reader, _ = train_reader(reader_pairs(inside), base, recipe, log)
        held = [i for i, e in enumerate(examples) if _part(e.conversation, of) == part]
        for i, scored in zip(
            held, with_reader_scores([examples[i] for i in held], reader), strict=True
        ):
            out[i] = scored
    return [out[i] for i in range(len(examples))]


def fit_reader_judge(
    examples: Sequence[JudgeExample],
    base: Path,
    recipe: ReaderRecipe,
    *,
    embedder: str,
    trained_on: Sequence[str],
    held_out_fold: str | None,
    cross_fit: int,
    log: Callable[[str], None] = print,
) -> tuple[CrossEncoderReader, ReaderManifest, LinearHead, LinearHead]:
    """The reader trained on every pair of `examples`, its manifest, and the (turn, chunk)
    heads fitted over the features and its score."""
    pairs = reader_pairs(examples)
    reader, per_step = train_reader(pairs, base, recipe, log)
    if cross_fit >= 2:
        scored = cross_fitted_scores(examples, base, recipe, cross_fit, log)
    else:
        scored = with_reader_scores(examples, reader)
    turn, chunk = fit_judge(
        scored, embedder=embedder, trained_on=trained_on, features=READER_FEATURES
    )
    manifest = ReaderManifest(
        base_model=embedder,
        base_sha256=file_sha256(base / "model.safetensors"),
        recipe=recipe,
        trained_on=list(trained_on),
        held_out_fold=held_out_fold,
        pairs=len(pairs),
        positives=sum(p.answers for p in pairs),
        data_hash=pairs_hash(pairs),
        seconds_per_step=round(per_step, 3),
        heads_scores_cross_fitted=cross_fit if cross_fit >= 2 else 0,
        held_out=turn.held_out.metrics if turn.held_out else {},
    )
    return reader, manifest, turn, chunk


def save_reader_judge(
    folder: Path,
    reader: CrossEncoderReader,
    manifest: ReaderManifest,
    turn: LinearHead,
    chunk: LinearHead,
) -> None:
    save_reader(reader, folder, manifest)
    save_judge(turn, chunk, folder)
