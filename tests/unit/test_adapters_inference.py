"""Triage and escalation replies: validation, one bounded repair, then a clear error."""

from __future__ import annotations

import re

import pytest
from doubles import ScriptedChatModel
from pydantic import ValidationError

from assistant.llm.errors import ModelOutputError
from assistant.policy import shipped_policy
from assistant.schemas import EscalationDecision, TriageResult
from assistant.triage.examples import policy_escalation, triage_result
from assistant.triage.inference import (
    ESCALATION_REGEX,
    decide_escalation,
    parse_reply,
    triage,
    triage_regex,
    triage_validated,
)
from assistant.triage.prompts import render_escalation, render_triage

VALID = '{"category": "lost_or_stolen_card", "priority": "urgent", "needs_human": true}'


def replies(*texts: str) -> ScriptedChatModel:
    """A model that gives `texts` in order, one per call."""
    queue = list(texts)
    return ScriptedChatModel(respond=lambda prompt: queue.pop(0))


def test_a_valid_reply_is_returned_without_repair() -> None:
    model = replies(VALID)
    checked = triage_validated(model, "I lost my card")
    assert checked.value == TriageResult(
        category="lost_or_stolen_card", priority="urgent", needs_human=True
    )
    assert not checked.repaired
    assert model.prompts == ["I lost my card"]


def test_json_wrapped_in_a_code_fence_or_prose_is_still_read() -> None:
    assert triage(replies(f"Sure! ```json\n{VALID}\n```"), "I lost my card").priority == "urgent"


def test_an_invalid_reply_gets_one_repair_that_names_the_problem() -> None:
    bad = '{"category": "stolen", "priority": "urgent", "needs_human": true}'
    model = replies(bad, VALID)
    checked = triage_validated(model, "I lost my card")
    assert checked.repaired
    assert checked.value.category == "lost_or_stolen_card"
    assert "unknown category 'stolen'" in model.prompts[1]


def test_two_invalid_replies_raise_a_clear_error_not_a_crash() -> None:
    model = replies("I cannot help with that.", '{"category": ')
    with pytest.raises(ModelOutputError, match="did not return a valid TriageResult") as info:
        triage(model, "I lost my card")
    assert "I cannot help with that." in str(info.value)
    assert len(model.prompts) == 2


def test_escalation_decisions_must_be_consistent() -> None:
    with pytest.raises(ValidationError, match="reason"):
        EscalationDecision(escalate=True, reason="none", summary="x")
    with pytest.raises(ValidationError, match="reason"):
        EscalationDecision(escalate=False, reason="security", summary="")
    contradictory = '{"escalate": true, "reason": "none", "summary": ""}'
    fixed = render_escalation(policy_escalation("My card was stolen", "lost_or_stolen_card"))
    decision = decide_escalation(replies(contradictory, fixed), "My card was stolen")
    assert decision.escalate
    assert decision.reason == "security"
    assert "My card was stolen" in decision.summary


def test_the_constraint_regexes_accept_every_reply_the_adapters_are_trained_on() -> None:
    regex = triage_regex(shipped_policy())
    for category in shipped_policy().labels:
        assert re.fullmatch(regex, render_triage(triage_result(category)))
    tricky = 'He said "stop" \\ then left\n' + "é"
    decision = EscalationDecision(escalate=True, reason="human_requested", summary=tricky)
    assert re.fullmatch(ESCALATION_REGEX, render_escalation(decision))
    assert not re.fullmatch(regex, VALID.replace("urgent", "critical"))


def test_parse_reply_says_why_it_failed() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        parse_reply("nothing here", TriageResult)
    with pytest.raises(ValueError, match="invalid JSON"):
        parse_reply('{"category": }', TriageResult)
    with pytest.raises(ValueError, match="priority"):
        parse_reply(VALID.replace("urgent", "soon"), TriageResult)
