"""A name the question asks about that the search never says, read with the real embedder: a
page naming things of the same kind answers by what it leaves out (hedged), a page naming
nothing like it does not answer at all (declined), unless the judge is otherwise confident."""

from __future__ import annotations

from pathlib import Path

import pytest
from doubles import chunk, constant_head

from assistant.knowledge.embedder import Embedder
from assistant.training.behaviour_fit import save_judge
from assistant.turn.evidence import FEATURES, TURN_FEATURES, EvidenceReader
from assistant.turn.judgement import open_judge

HOURS = "Our clinics are open Monday to Friday from 8:00 to 19:00 and on Saturday morning."
SHIPPING = "We ship to Germany, France, Austria and the Netherlands within 3 working days."
PAYMENT = "You can pay by card or by bank transfer. Invoices are due within 14 days."


@pytest.mark.parametrize(
    ("question", "page", "answered"),
    [
        ("Are you open on Sunday?", HOURS, True),  # weekdays are named
        ("Do you ship to Switzerland?", SHIPPING, True),  # countries are named
        ("Can I pay with Klarna?", PAYMENT, False),  # nothing of its kind
    ],
)
def test_a_missing_name_is_hedged_only_when_the_page_names_its_kind(
    embedder: Embedder, tmp_path: Path, question: str, page: str, answered: bool
) -> None:
    # Heads that read nothing (P 0.6: answer, not plainly), fitted "on" the real embedder.
    real = {"embedder": embedder.name}
    turn = constant_head(TURN_FEATURES, 0.6, threshold=0.3, confident_at=0.8)
    save_judge(
        turn.model_copy(update=real), constant_head(FEATURES, 0.9).model_copy(update=real), tmp_path
    )
    judge = open_judge("fitted", tmp_path, EvidenceReader(embedder), 0.0)
    found = [chunk(1).model_copy(update={"text": page, "title": "Help"})]

    judgement = judge.judge(question, "", found)

    assert judgement.answerable is answered
    assert judgement.hedged is answered
