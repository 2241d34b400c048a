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

A sentence is ranked by its own cosine with the question and its passage's (the chunk's, which
reads the section heading with the text), half each: help centers put an answer's subject in
the heading ("Rotate a key") and the step below it ("Click "Roll key" next to the key."), and
by its own cosine that step lost to a sentence of the next section ("Delete the key at once
under Settings > Developers > API keys") that shares the question's words.

The best sentence and the one after it in its passage make the answer's core, with the one
before it when the best one opens on it ("After that, ...", "This ...") and every one before it
when the passage's own heading is closer to the question than the best sentence is (an FAQ's
"## I lost my key fob" over "Report it at the front desk. A replacement fob costs €10 ...":
the section is the answer, and its first step shares no word with the question); the rest of
the best passage after it may join (help centers write conditions and next steps after an
answer); a sentence before it only when it is nearly as close to the question
(`NEAR_IN_PASSAGE`), and a sentence of another passage only when it is about as close as the
best one (`NEAR`): the other passages a search keeps share the question's subject words
("scooter", "ride") without answering it, and filling the word budget from them put the answer
fifth, after rules about age and parking. The best passage is written first, then the others in
the order of their best chosen sentence, each in passage order.

A table row closest to the question is the answer alone ("Plan: Pro; Price: $9.99/month."):
the rows around it are other plans, products or countries, and sentences added to reach the
length would be about them, not about what was asked.
"""

from __future__ import annotations

import re

from assistant.turn.evidence import Evidence
from assistant.turn.sentences import split_sentences

# A sentence that opens on what came before it ("After that the delivery is marked failed.")
# is read with the sentence before it.
OPENS_ON_WHAT_CAME_BEFORE = re.compile(
    r"(after that|then|this|that|these|those|it|they|there|such|otherwise|however|also|"
    r"if so|if not|in that case|instead)\b",
    re.IGNORECASE,
)
# How much of a sentence's rank is its passage's cosine with the question.
PASSAGE_WEIGHT = 0.5
# How much lower a sentence's rank may be than the best one's and still join from another
# passage: 0.05 of the blend.
NEAR = 0.05
# ... and from before the best sentence in its own passage: 0.1 of the blend, 0.2 of a
# sentence's own cosine. "Turn on two-step verification" (0.31) stays before "If you think
# someone else signed in, change your password" (0.42) for "How do I keep my account safe?";
# "Scooters are limited to 20 km/h." (0.52) does not lead "Only one person may ride a scooter
# at a time." (0.81) for "Can two people ride one scooter?".
NEAR_IN_PASSAGE = 0.1


def extractive_answer(evidence: Evidence, sentences: int, words: int | None = None) -> str:
    """Sentences of `evidence` as `sentence [n]`, n the 1-based chunk number.

    At most `sentences`; with `words`, no more once the chosen ones have that many words.
    """
    ranked = sorted(
        (
            (
                (1 - PASSAGE_WEIGHT) * float(score)
                + PASSAGE_WEIGHT * float(evidence.chunks[chunk].dense_score or 0.0),
                chunk,
                index,
            )
            for chunk, scores in enumerate(evidence.similarity)
            for index, score in enumerate(scores)
        ),
        reverse=True,
    )
    if not ranked:
        return ""
    top, chunk, index = ranked[0]
    if evidence.is_row(chunk, index):
        index = _row_in_conversation(evidence, ranked)
        return _cited(evidence.sentences[chunk][index], chunk + 1)
    heading = evidence.heading_similarity(chunk)
    if heading is not None and heading >= float(evidence.similarity[chunk][index]):
        # The section's heading is the question ("## I lost my key fob"): its text from the
        # start is the answer, not only the sentence that shares the most words with it.
        before = list(range(index))
    elif index > 0 and OPENS_ON_WHAT_CAME_BEFORE.match(evidence.sentences[chunk][index]):
        before = [index - 1]
    else:
        before = []
    around = [(chunk, i) for i in (index + 1, *before) if i < len(evidence.sentences[chunk])]
    joining = [
        (c, i)
        for score, c, i in ranked[1:]
        if (c == chunk and (i > index or score >= top - NEAR_IN_PASSAGE)) or score >= top - NEAR
    ]
    chosen: list[tuple[int, int]] = []
    seen: set[str] = set()
    length = 0
    # Help centers repeat themselves (one answer in two articles): a sentence is said once.
    for c, i in [(chunk, index), *around, *joining]:
        said = " ".join(evidence.sentences[c][i].lower().split())
        if said not in seen:
            seen.add(said)
            chosen.append((c, i))
            length += len(evidence.sentences[c][i].split())
        if len(chosen) >= sentences or (words is not None and length >= words):
            break
    passages = list(dict.fromkeys(c for c, _ in chosen))
    written = sorted(chosen, key=lambda ci: (passages.index(ci[0]), ci[1]))
    return " ".join(_cited(evidence.sentences[c][i], c + 1) for c, i in written)


def _row_in_conversation(evidence: Evidence, ranked: list[tuple[float, int, int]]) -> int:
    """The row of the best row's table that the conversation asks about: of the rows of its
    chunk about as close to the question as the best (`NEAR`), the closest to the earlier user
    turn and the question together. Rows share their header's words, so "Is it covered by
    insurance?" is as close to every row of a fee table; after "What does a sports certificate
    cost?" it asks about that row."""
    top, chunk, best = ranked[0]
    if chunk >= len(evidence.in_context):
        return best
    near = [i for score, c, i in ranked if c == chunk and score >= top - NEAR]
    rows = [i for i in near if evidence.is_row(chunk, i)]
    return max(rows, key=lambda i: (float(evidence.in_context[chunk][i]), i == best))


def _cited(sentence: str, n: int) -> str:
    """`sentence` with marker [n] after each of its sentences: a passage sentence may be two
    joined (a short step and the one after it, "Run `make test`. It installs..."), which the
    citation check splits apart again, and a piece without a marker cites nothing."""
    return " ".join(f"{piece} [{n}]" for piece in split_sentences(sentence))
