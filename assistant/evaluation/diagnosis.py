"""Why an answer failed: one failure kind per question, the first cause found.

The order follows the turn: a wrong citation is a defect whatever else happened; a turn that
never looked the question up failed at the decision; a search that missed every gold document
failed at retrieval (what came after could not have been right); a turn that found a gold
document but did not act on it failed at behaviour; an answer that does not cite or echo what
it found failed at grounding.
"""

from __future__ import annotations

from collections.abc import Collection

from assistant.evaluation.results import Answerability, Diagnosis
from assistant.schemas import Outcome

ANSWERED = frozenset({Outcome.ANSWERED, Outcome.HEDGED, Outcome.ANSWERED_DIRECTLY})
NOT_ANSWERED = frozenset({Outcome.DECLINED, Outcome.ESCALATED, Outcome.HUMAN_REPLY})

# What the assistant should do with each class of question (the data's README mapping).
EXPECTED: dict[Answerability, frozenset[Outcome]] = {
    "ANSWERABLE": ANSWERED,
    "PARTIAL": ANSWERED,
    "UNANSWERABLE": NOT_ANSWERED,
    "UNDERSPECIFIED": frozenset({Outcome.CLARIFY}),
}
EXPECTED_LABEL: dict[Answerability, str] = {
    "ANSWERABLE": "answer",
    "PARTIAL": "answer",
    "UNANSWERABLE": "decline or escalate",
    "UNDERSPECIFIED": "clarifying question",
}
ANSWER_EXPECTED: frozenset[Answerability] = frozenset({"ANSWERABLE", "PARTIAL"})

# Token F1 with the reference below which an answer "does not overlap" it. Extractive answers
# are one passage sentence against a several-sentence reference, so a grounded answer scores
# low too; 0.1 is the level a sentence on another subject falls under.
MIN_OVERLAP = 0.1


def behaviour_ok(answerability: Answerability, outcome: Outcome) -> bool:
    """Whether the turn ended the way a question of this class should."""
    return outcome in EXPECTED[answerability]


def diagnose(
    *,
    answerability: Answerability,
    outcome: Outcome,
    searched: bool,
    gold: Collection[str],
    retrieved: Collection[str],
    cited: Collection[str],
    citation_valid: bool | None,
    overlap: float,
) -> Diagnosis:
    """The failure kind of one answered question, or `ok`.

    `retrieved` and `cited` are document ids; `overlap` is the answer's token F1 with the
    reference; `citation_valid` as `metrics.citations_valid` gives it.
    """
    if citation_valid is False:
        return "format"
    if answerability not in ANSWER_EXPECTED:
        return "ok" if behaviour_ok(answerability, outcome) else "behaviour"
    answered = outcome in ANSWERED
    if not searched and not answered:
        return "behaviour"
    gold_found = set(gold) & set(retrieved)
    if gold and not gold_found:
        return "retrieval"
    if not answered:
        return "behaviour"
    if (gold and not gold_found & set(cited)) or overlap < MIN_OVERLAP:
        return "grounding"
    return "ok"
