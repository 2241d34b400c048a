"""Extractive answers of several sentences, chosen from the chunks the judgement kept.

The sentence closest to the question comes first in importance, then the one that follows it
in its passage (answers in help-center text run on: the next sentence is usually the step or
the condition), then the next closest, up to the setting's count; they are written in passage
order, each with its chunk's [n] marker. Measured on the MTRAG-UN tasks of the two training
domains (`behaviour_tasks.jsonl`, gold chunks): token F1 with the reference 0.296 for the one
best sentence, 0.441 for three and 0.451 for four chosen this way.
"""

from __future__ import annotations

from assistant.evidence import Evidence


def extractive_answer(evidence: Evidence, sentences: int) -> str:
    """Up to `sentences` sentences of `evidence` as `sentence [n]`, n the 1-based chunk number."""
    ranked = sorted(
        (
            (float(score), chunk, index)
            for chunk, scores in enumerate(evidence.similarity)
            for index, score in enumerate(scores)
        ),
        reverse=True,
    )
    if not ranked:
        return ""
    _, chunk, index = ranked[0]
    following = [(chunk, index + 1)] if index + 1 < len(evidence.sentences[chunk]) else []
    chosen: list[tuple[int, int]] = []
    seen: set[str] = set()
    # Help centers repeat themselves (one answer in two articles): a sentence is said once.
    for c, i in [(chunk, index), *following, *((c, i) for _, c, i in ranked[1:])]:
        said = " ".join(evidence.sentences[c][i].lower().split())
        if said not in seen:
            seen.add(said)
            chosen.append((c, i))
        if len(chosen) >= sentences:
            break
    return " ".join(f"{evidence.sentences[c][i]} [{c + 1}]" for c, i in sorted(chosen))
