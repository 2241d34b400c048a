"""Extractive answers of several sentences, chosen from the chunks the judgement kept.

The sentence closest to the question comes first in importance, then the one that follows it
in its passage (answers in help-center text run on: the next sentence is usually the step or
the condition), then the next closest; they are written in passage order, each with its chunk's
[n] marker. Measured on the MTRAG-UN tasks of the two training domains (`behaviour_tasks.jsonl`,
gold chunks): token F1 with the reference 0.296 for the one best sentence, 0.441 for three and
0.451 for four chosen this way.

Sentences are added until the answer reaches a length in words, not a count of sentences:
sentence length differs several-fold between knowledge bases (menu-like government pages against
forum prose), and a count tuned on one gives answers half as long as the references on the other.
The default, 80 words, is about the length of the training domains' reference answers (median 72,
mean 84) and the best budget on their judged searches (README).

A table row closest to the question is the answer alone ("Plan: Pro; Price: $9.99/month."):
the rows around it are other plans, products or countries, and sentences added to reach the
length would be about them, not about what was asked.
"""

from __future__ import annotations

from assistant.turn.evidence import Evidence
from assistant.turn.sentences import split_sentences


def extractive_answer(evidence: Evidence, sentences: int, words: int | None = None) -> str:
    """Sentences of `evidence` as `sentence [n]`, n the 1-based chunk number.

    At most `sentences`; with `words`, no more once the chosen ones have that many words.
    """
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
    if evidence.is_row(chunk, index):
        return _cited(evidence.sentences[chunk][index], chunk + 1)
    following = [(chunk, index + 1)] if index + 1 < len(evidence.sentences[chunk]) else []
    chosen: list[tuple[int, int]] = []
    seen: set[str] = set()
    length = 0
    # Help centers repeat themselves (one answer in two articles): a sentence is said once.
    for c, i in [(chunk, index), *following, *((c, i) for _, c, i in ranked[1:])]:
        said = " ".join(evidence.sentences[c][i].lower().split())
        if said not in seen:
            seen.add(said)
            chosen.append((c, i))
            length += len(evidence.sentences[c][i].split())
        if len(chosen) >= sentences or (words is not None and length >= words):
            break
    return " ".join(_cited(evidence.sentences[c][i], c + 1) for c, i in sorted(chosen))


def _cited(sentence: str, n: int) -> str:
    """`sentence` with marker [n] after each of its sentences: a passage sentence may be two
    joined (a short step and the one after it, "Run `make test`. It installs..."), which the
    citation check splits apart again, and a piece without a marker cites nothing."""
    return " ".join(f"{piece} [{n}]" for piece in split_sentences(sentence))
