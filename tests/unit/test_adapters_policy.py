"""The triage policy: the shipped BANKING77 file, policy files of one's own, and labelled
tickets checked against them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.policy import (
    GENERIC_SYSTEM_PROMPT,
    OUT_OF_SCOPE,
    PRIORITIES,
    REASONS,
    SHIPPED_POLICY_FILE,
    PolicyError,
    load_policy,
    parse_policy,
    policy_for,
    shipped_policy,
)
from assistant.schemas import TriageResult
from assistant.training.labelled import LabelFields, read_labelled
from assistant.triage.examples import triage_result
from assistant.triage.inference import parse_reply, triage_regex


def test_the_table_covers_exactly_the_banking77_intents(shared_data: Path) -> None:
    lines = (shared_data / "banking77_train.jsonl").read_text(encoding="utf-8").splitlines()
    intents = {json.loads(line)["label"] for line in lines}
    assert set(shipped_policy().categories) == intents
    assert len(shipped_policy().labels) == 77


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
    for policy in shipped_policy().categories.values():
        assert policy.priority in PRIORITIES
        assert policy.reason in REASONS
        assert policy.needs_human == (policy.reason != "none")


def test_an_unknown_intent_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="no_such_intent"):
        policy_for("no_such_intent")


# --- policy files ------------------------------------------------------------------------

SMALL = """\
name: acme
categories:
  billing: {priority: normal, needs_human: false}
  outage: {priority: urgent, needs_human: true, reason: security}
  out_of_scope: {priority: low, needs_human: false}
"""


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_policy_file_gives_its_own_labels_and_rules(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, SMALL))
    assert policy.labels == ("billing", "out_of_scope", "outage")
    assert policy.policy_for("outage").needs_human
    assert policy.system_prompt == GENERIC_SYSTEM_PROMPT


def test_a_duplicate_category_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL + "  billing: {priority: low, needs_human: false}\n")
    with pytest.raises(PolicyError, match=r"policy.yaml:6: duplicate key 'billing' .*line 3"):
        load_policy(path)


@pytest.mark.parametrize(
    ("line", "bad", "message"),
    [
        (4, "  outage: {priority: critical, needs_human: true, reason: security}", "priority"),
        (4, "  outage: {priority: urgent, needs_human: true}", "reason"),
        (4, "  outage: {priority: urgent, needs_human: false, reason: security}", "reason"),
        (4, "  outage: {priority: urgent, needs_human: true, reason: fire}", "reason"),
        (4, "  outage: {priority: urgent, needs_human: true, colour: red}", "colour"),
    ],
)
def test_a_bad_category_is_named_with_its_line(
    tmp_path: Path, line: int, bad: str, message: str
) -> None:
    lines = SMALL.splitlines()
    lines[line - 1] = bad
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(PolicyError, match=rf"policy.yaml:{line}: categories\.outage.*{message}"):
        load_policy(path)


def test_a_label_that_cannot_sit_in_the_json_reply_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="quotes"):
        load_policy(write(tmp_path, SMALL.replace("billing:", "'bill\"ing':")))


def test_broken_yaml_and_a_missing_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"policy.yaml:\d+: not valid YAML"):
        load_policy(write(tmp_path, SMALL + "  oops: {priority: low\n"))
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "missing.yaml")
    with pytest.raises(PolicyError, match="categories"):
        load_policy(write(tmp_path, "name: acme\n"))


def test_the_shipped_policy_file_is_the_default() -> None:
    assert load_policy(None) is shipped_policy()
    assert shipped_policy().name == "banking77"
    assert OUT_OF_SCOPE not in shipped_policy().categories


# --- labelled tickets checked against a policy ----------------------------------------------

TICKETS = """\
id,body,category
1,My invoice is wrong,billing
2,"The site is down,
everywhere",outage
3,What is the weather,oos
"""


def test_labelled_tickets_are_read_with_their_own_columns_and_label_map(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, SMALL))
    fields = LabelFields(text="body", label="category", label_map={"oos": "out_of_scope"})
    rows = read_labelled(write(tmp_path, TICKETS, "tickets.csv"), fields, policy)
    assert [row.label for row in rows] == ["billing", "outage", "out_of_scope"]
    assert [row.source for row in rows] == ["tickets.csv:2", "tickets.csv:3", "tickets.csv:5"]


def test_a_label_the_policy_lacks_names_the_line(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, SMALL))
    fields = LabelFields(text="body", label="category")
    with pytest.raises(PolicyError, match=r"tickets.csv:5: label 'oos' is not a category"):
        read_labelled(write(tmp_path, TICKETS, "tickets.csv"), fields, policy)


def test_a_category_without_examples_names_its_policy_line(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, SMALL))
    fields = LabelFields(text="body", label="category", label_map={"oos": "billing"})
    with pytest.raises(PolicyError, match=r"policy.yaml:5: category 'out_of_scope' has no"):
        read_labelled(write(tmp_path, TICKETS, "tickets.csv"), fields, policy)


def test_a_missing_column_or_empty_text_is_refused(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, SMALL))
    tickets = write(tmp_path, TICKETS, "tickets.csv")
    with pytest.raises(PolicyError, match=r"tickets.csv:1: no column 'text'"):
        read_labelled(tickets, LabelFields(label="category"), policy)
    jsonl = write(
        tmp_path,
        '{"text": "hi", "label": "billing"}\n{"text": " ", "label": "x"}\n',
        "tickets.jsonl",
    )
    with pytest.raises(PolicyError, match=r"tickets.jsonl:2: no text"):
        read_labelled(jsonl, LabelFields(), policy)


def test_triage_results_validate_against_the_policy_given() -> None:
    policy = parse_policy(SMALL, "acme.yaml")
    assert triage_result("outage", policy).priority == "urgent"
    with pytest.raises(ValueError, match="not in the policy 'banking77'"):
        parse_reply(
            '{"category": "outage", "priority": "urgent", "needs_human": true}', TriageResult
        )
    assert "outage" in triage_regex(policy)
    assert "lost_or_stolen_card" not in triage_regex(policy)


def test_the_shipped_out_of_scope_policy_is_banking77_plus_out_of_scope() -> None:
    policy = load_policy(SHIPPED_POLICY_FILE.with_name("banking77-oos.yaml"))
    assert set(policy.labels) == {*shipped_policy().labels, OUT_OF_SCOPE}
    assert policy.system_prompt == shipped_policy().system_prompt
    assert policy.policy_for("lost_or_stolen_card") == policy_for("lost_or_stolen_card")


def test_extending_a_policy_with_a_category_it_has_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, SMALL, "base.yaml")
    child = write(
        tmp_path,
        "name: child\nextends: base.yaml\ncategories:\n"
        "  billing: {priority: low, needs_human: false}\n",
    )
    with pytest.raises(PolicyError, match=r"policy.yaml:4: category 'billing' is already"):
        load_policy(child)


def test_out_of_scope_rows_come_only_from_the_rows_so_labelled(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, SMALL))
    clinc = write(
        tmp_path,
        '{"body": "what is the weather", "category": "oos"}\n'
        '{"body": "book a flight", "category": "book_flight"}\n',
        "clinc.jsonl",
    )
    tickets = write(tmp_path, TICKETS.replace(",oos\n", ",billing\n"), "tickets.csv")
    fields = LabelFields(text="body", label="category")
    rows = read_labelled(tickets, fields, policy, out_of_scope=[clinc])
    assert [(row.label, row.source) for row in rows[3:]] == [("out_of_scope", "clinc.jsonl:1")]
