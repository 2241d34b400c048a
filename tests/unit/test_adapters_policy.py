"""The policy table behind triage priority and escalation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.adapters.policy import CATEGORIES, POLICY, PRIORITIES, REASONS, policy_for


def test_the_table_covers_exactly_the_banking77_intents(shared_data: Path) -> None:
    lines = (shared_data / "banking77_train.jsonl").read_text(encoding="utf-8").splitlines()
    intents = {json.loads(line)["label"] for line in lines}
    assert set(POLICY) == intents
    assert len(CATEGORIES) == 77


@pytest.mark.parametrize(
    "intent",
    [
        "lost_or_stolen_card",
        "compromised_card",
        "card_swallowed",
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "direct_debit_payment_not_recognised",
    ],
)
def test_cards_at_risk_and_unrecognised_transactions_are_urgent_and_need_a_human(
    intent: str,
) -> None:
    policy = policy_for(intent)
    assert policy.priority == "urgent"
    assert policy.needs_human


def test_general_questions_are_low_priority_self_service() -> None:
    for intent in ("exchange_rate", "age_limit", "country_support", "top_up_limits"):
        assert policy_for(intent).priority == "low"
        assert not policy_for(intent).needs_human


def test_a_human_is_needed_exactly_when_there_is_an_escalation_reason() -> None:
    for policy in POLICY.values():
        assert policy.priority in PRIORITIES
        assert policy.reason in REASONS
        assert policy.needs_human == (policy.reason != "none")


def test_an_unknown_intent_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="no_such_intent"):
        policy_for("no_such_intent")
