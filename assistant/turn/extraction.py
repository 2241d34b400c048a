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

The passage the best sentence comes from is written first, from the best sentence on (its
earlier sentences after), then the others in the order of their best chosen sentence: a
customer reads the answer before its context. A sentence of
another passage joins only when it is about as close to the question as the best one (within
`NEAR` of its cosine): the other passages a search keeps share the question's subject words
("scooter", "ride") without answering it, and filling the word budget from them put the answer
fifth, after rules about age and parking. Within the best sentence's own passage every sentence
may join: help centers write an answer's conditions and next steps around it.

A table row closest to the question is the answer alone ("Plan: Pro; Price: $9.99/month."):
the rows around it are other plans, products or countries, and sentences added to reach the
length would be about them, not about what was asked.
"""

from __future__ import annotations

from assistant.turn.evidence import Evidence
from assistant.turn.sentences import split_sentences

# How much less close to the question (cosine) than the best sentence a sentence of another
# passage may be and still join the answer.
NEAR = 0.1


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
    top, chunk, index = ranked[0]
    if evidence.is_row(chunk, index):
        return _cited(evidence.sentences[chunk][index], chunk + 1)
    following = [(chunk, index + 1)] if index + 1 < len(evidence.sentences[chunk]) else []
    joining = [(c, i) for score, c, i in ranked[1:] if c == chunk or score >= top - NEAR]
    chosen: list[tuple[int, int]] = []
    seen: set[str] = set()
    length = 0
    # Help centers repeat themselves (one answer in two articles): a sentence is said once.
    for c, i in [(chunk, index), *following, *joining]:
        said = " ".join(evidence.sentences[c][i].lower().split())
        if said not in seen:
            seen.add(said)
            chosen.append((c, i))
            length += len(evidence.sentences[c][i].split())
        if len(chosen) >= sentences or (words is not None and length >= words):
            break
    # Passages in the order their first chosen sentence was (the best one's first), each
    # passage's sentences in passage order, except that the best passage starts at the best
    # sentence and its earlier sentences follow: the answer comes before its context.
    passages = list(dict.fromkeys(c for c, _ in chosen))
    written = sorted(
        chosen, key=lambda ci: (passages.index(ci[0]), ci[0] == chunk and ci[1] < index, ci[1])
    )
    return " ".join(_cited(evidence.sentences[c][i], c + 1) for c, i in written)


def _cited(sentence: str, n: int) -> str:
    """`sentence` with marker [n] after each of its sentences: a passage sentence may be two
    joined (a short step and the one after it, "Run `make test`. It installs..."), which the
    citation check splits apart again, and a piece without a marker cites nothing."""
    return " ".join(f"{piece} [{n}]" for piece in split_sentences(sentence))
