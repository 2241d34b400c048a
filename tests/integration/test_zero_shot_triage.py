"""Zero-shot triage with the real embedder: the policy's words decide, nothing labelled."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.knowledge.embedder import Embedder
from assistant.llm.manifest import read_manifest, write_manifest
from assistant.policy import (
    OUT_OF_SCOPE,
    SHIPPED_POLICY_FILE,
    parse_policy,
    shipped_policy,
    support_policy,
)
from assistant.settings import SHIPPED_ADAPTERS_DIR, Settings
from assistant.triage.engines import (
    build_block_triage,
    build_triage,
    engine_for,
    load_zero_shot,
)
from assistant.triage.zero_shot import ZeroShotTriage, category_phrases

TEAM_POLICY = """
name: team
categories:
  billing:
    priority: normal
    needs_human: false
    description: Questions about invoices, prices, plans and payments.
  sign_in:
    priority: high
    needs_human: false
    description: I cannot sign in to my account or I forgot my password.
  out_of_scope: {priority: low, needs_human: false}
"""


def test_a_message_takes_the_category_whose_description_is_nearest(embedder: Embedder) -> None:
    reader = ZeroShotTriage(parse_policy(TEAM_POLICY), embedder, min_similarity=0.25)
    invoice, password = reader.read(["Where can I download my invoice?", "I forgot my password"])
    assert invoice.result.category == "billing"
    assert password.result.category == "sign_in"
    assert password.result.priority == "high"


def test_below_the_threshold_a_message_is_out_of_scope_and_never_at_minus_one(
    embedder: Embedder,
) -> None:
    policy = parse_policy(TEAM_POLICY)
    football = "Who won the football game last night?"
    [strict] = ZeroShotTriage(policy, embedder, min_similarity=0.25).read([football])
    assert strict.result.category == OUT_OF_SCOPE
    assert strict.confidence < 0.25
    [lenient] = ZeroShotTriage(policy, embedder, min_similarity=-1.0).read([football])
    assert lenient.result.category in {"billing", "sign_in"}
    assert lenient.confidence == pytest.approx(strict.confidence)


def test_a_category_that_hands_over_must_be_clearly_meant(embedder: Embedder) -> None:
    policy = support_policy()
    question = "How do I point the assistant at a vLLM server?"  # "assistant" is near "agent"
    [loose] = ZeroShotTriage(policy, embedder, min_similarity=0.0).read([question])
    assert loose.result.category == "human_request"
    strict = ZeroShotTriage(policy, embedder, min_similarity=0.0, human_min_similarity=0.4)
    [reading] = strict.read([question])
    assert not reading.result.needs_human
    assert strict("Can I speak to a real person, please?").category == "human_request"


def test_in_scope_never_reads_out_of_scope(embedder: Embedder) -> None:
    reader = ZeroShotTriage(parse_policy(TEAM_POLICY), embedder, min_similarity=0.25)
    football = "Who won the football game last night?"
    assert reader(football).category == OUT_OF_SCOPE
    assert reader.in_scope(football).category in {"billing", "sign_in"}


def test_a_category_without_words_is_read_by_its_name() -> None:
    phrases = dict(category_phrases(shipped_policy()))
    assert phrases["lost_or_stolen_card"] == "lost or stolen card"
    assert OUT_OF_SCOPE not in dict(category_phrases(support_policy()))


def test_descriptions_do_not_change_what_a_policy_is_fitted_under() -> None:
    described = parse_policy(TEAM_POLICY)
    bare = parse_policy(
        TEAM_POLICY.replace(
            "    description: Questions about invoices, prices, plans and payments.\n", ""
        )
    )
    assert described.digest == bare.digest
    assert described.categories["billing"].description != bare.categories["billing"].description


def test_the_engine_setting_gives_every_caller_the_general_support_policy(
    settings: Settings, embedder: Embedder
) -> None:
    chosen = settings.model_copy(update={"triage_engine": "zero-shot"})
    model = FakeListChatModel(responses=["never asked"])
    single = build_triage(chosen, model, embedder)
    person = single("Can I speak to a human please?")
    assert person.category == "human_request"
    assert person.needs_human
    assert single("I was charged twice for one order, I want a refund").category == "refund"
    texts = ["Can I speak to a human please?", "What's the weather like in Paris tomorrow?"]
    block = build_block_triage(chosen, model)(texts)
    assert [block(t).category for t in texts] == ["human_request", OUT_OF_SCOPE]
    assert load_zero_shot(chosen, embedder).policy.name == "support"


def test_on_a_server_auto_takes_the_adapter_only_when_it_was_trained_on_the_policy_in_use(
    settings: Settings, tmp_path: Path
) -> None:
    served = settings.model_copy(
        update={"backend": "openai", "triage_engine": "auto", "triage_policy": None}
    )
    # The shipped adapter is the BANKING77 worked example: a team that has set no policy
    # reads its messages against the general support policy, so zero-shot it is.
    assert read_manifest(SHIPPED_ADAPTERS_DIR / "triage").policy is not None
    assert engine_for(served.model_copy(update={"adapters_dir": SHIPPED_ADAPTERS_DIR})) == (
        "zero-shot"
    )
    trained = tmp_path / "adapters"
    shutil.copytree(SHIPPED_ADAPTERS_DIR / "triage", trained / "triage")
    manifest = read_manifest(trained / "triage")
    write_manifest(trained / "triage", manifest.model_copy(update={"policy": support_policy()}))
    on_support = served.model_copy(update={"adapters_dir": trained})
    assert engine_for(on_support) == "adapter"
    assert engine_for(on_support.model_copy(update={"backend": "embedded"})) == "zero-shot"
    banking = served.model_copy(
        update={"adapters_dir": SHIPPED_ADAPTERS_DIR, "triage_policy": SHIPPED_POLICY_FILE}
    )
    assert engine_for(banking) == "adapter"


HURT_OR_IN_DANGER = [
    "The e-bike's brakes failed and I hit a car, my knee is cut open",  # a vehicle
    "My phone got so hot while backing up that it burned my hand",  # a phone and its app
    "My daughter got a shock from the charging cable",  # a charger
    "I had an allergic reaction to the meal you delivered",  # a delivery
    "The heater gives off a smell of gas",  # an appliance
]
SOFTWARE_SENSE = {
    # "crash", "broken", "fire", "burn", "shock", "battery" in the sense of software and money.
    "The app crashes every time I open it": "bug_or_outage",
    "The website crashed during checkout": "bug_or_outage",
    "Fire up the app and it freezes": "bug_or_outage",
    "The upload is broken since yesterday": "bug_or_outage",
    "How do I fire an event from the webhook?": None,
    "Burn the subtitles into the video": None,
    "I'm shocked by the price increase": None,
    "My battery drains really fast since the update": None,
}


def assert_read_as(
    reader: ZeroShotTriage, messages: Iterable[str], expected: tuple[str, str, bool]
) -> None:
    """Each message reads as (category, priority, needs_human) `expected`."""
    for message in messages:
        reading = reader(message)
        assert (reading.category, reading.priority, reading.needs_human) == expected, message


def labelled_messages(half: str) -> list[dict[str, str]]:
    """The rows of `benchmarks/data/support_triage_{half}.jsonl`."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "data"
    with (path / f"support_triage_{half}.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def test_someone_hurt_or_in_danger_is_urgent_and_goes_to_a_person_on_any_product(
    settings: Settings, embedder: Embedder
) -> None:
    reader = load_zero_shot(settings, embedder)  # the default policy and thresholds
    assert_read_as(reader, HURT_OR_IN_DANGER, ("safety", "urgent", True))
    assert support_policy().categories["safety"].reason == "safety"


def test_something_lost_stolen_or_damaged_goes_to_a_person_at_high_priority(
    settings: Settings, embedder: Embedder
) -> None:
    # Before the category, the first two were out of scope: the turn then declined them with
    # "I do not have that information" where the help center had no page for them.
    reader = load_zero_shot(settings, embedder)
    messages = (
        "Water is pouring through my ceiling right now!",
        "Someone stole my phone from the locker room",
        "The courier lost my package",
    )
    assert_read_as(reader, messages, ("loss_or_damage", "high", True))
    assert support_policy().categories["loss_or_damage"].reason == "loss_or_damage"
    rows = labelled_messages("loss")
    lost = [r["text"] for r in rows if r["category"] == "loss_or_damage"]
    read = [r.result.category for r in support_reader(embedder, settings).read(lost)]
    assert read.count("loss_or_damage") / len(lost) >= 0.6


def test_asking_what_a_plan_covers_is_not_a_report_of_damage(
    settings: Settings, embedder: Embedder
) -> None:
    # "Is accidental damage covered?" was read as safety, urgent, to a person: "accident" sat
    # 0.554 from "Someone was hurt in an accident". Reports with a question still hand over.
    reader = load_zero_shot(settings, embedder)
    rows = labelled_messages("coverage")
    asked = [r["text"] for r in rows if r["category"] == "billing"]
    readings = [reader(message) for message in asked]
    assert not any(r.needs_human or r.priority in ("high", "urgent") for r in readings), asked
    assert [r.category for r in readings].count("billing") / len(asked) >= 0.8
    reported = [r for r in rows if r["category"] != "billing"]
    assert sum(reader(r["text"]).needs_human for r in reported) / len(reported) >= 0.8


def test_a_message_near_any_category_is_in_scope_even_when_that_one_may_not_win(
    settings: Settings, embedder: Embedder
) -> None:
    # "How do I end my ride and lock the bike?" was out of scope: its nearest phrases were of
    # categories a question that only asks may not take, and the others were all below 0.25.
    reader = load_zero_shot(settings, embedder)
    message = "How do I end my ride and lock the bike?"
    [near] = reader.closeness([message])
    assert max(near.nearest_phrase.values()) >= reader.min_similarity
    assert reader(message).category == "how_to"
    assert reader("What's the weather like in Paris tomorrow?").category == OUT_OF_SCOPE


def test_crash_fire_and_broken_in_the_software_sense_are_not_safety(
    settings: Settings, embedder: Embedder
) -> None:
    reader = load_zero_shot(settings, embedder)
    for message, expected in SOFTWARE_SENSE.items():
        category = reader(message).category
        assert category != "safety", message
        if expected is not None:
            assert category == expected, message


def support_reader(embedder: Embedder, settings: Settings) -> ZeroShotTriage:
    return load_zero_shot(settings.model_copy(update={"triage_engine": "zero-shot"}), embedder)


def test_a_technical_how_to_about_keys_or_login_is_a_how_to_not_an_access_problem(
    embedder: Embedder, settings: Settings
) -> None:
    reader = support_reader(embedder, settings)
    questions = [
        "How do I generate a personal access token for the command line tool?",
        "How do I switch which account the app is signed in with?",
    ]
    for reading in reader.read(questions, in_scope=True):
        assert reading.result.category == "how_to"
        assert reading.result.priority == "low"


def test_one_example_no_longer_takes_a_question_that_shares_a_word_with_it(
    embedder: Embedder, settings: Settings
) -> None:
    # "attempts"/"times" is near "My account is locked after too many attempts", and nothing
    # else in the message is about signing in.
    question = "How many attempts does the importer make before it gives up on a file?"
    reading = support_reader(embedder, settings).in_scope(question)
    assert reading.category != "account_access"
    assert reading.priority == "low"


def test_an_access_problem_is_still_account_access_when_asked_as_a_question(
    embedder: Embedder, settings: Settings
) -> None:
    reader = support_reader(embedder, settings)
    for text in (
        "Why can't I log in? It says my password is wrong but I just reset it",
        "I forgot my password and the reset link has expired",
        "The app won't let me sign in since I changed my email address",
    ):
        reading = reader(text)
        assert reading.category == "account_access", text
        assert reading.priority == "high"


def test_a_problem_reported_is_still_read_as_one(embedder: Embedder, settings: Settings) -> None:
    reader = support_reader(embedder, settings)
    assert reader("The checkout page shows an error and the app crashes").category == (
        "bug_or_outage"
    )
    hacked = reader("Someone logged into my account and changed my email")
    assert (hacked.category, hacked.needs_human) == ("security", True)


ONLY_ASKING = [
    # Each is near a refund's words or a bug's ("charged", "money back", "error"), and asks.
    "How long does a refund take to reach my card?",
    "When is the money for a returned item paid back?",
    "What does the error code 502 mean?",
    "How long until a payout reaches my bank?",
    "The client already paid, how do I fix the amount?",
]


def test_a_question_that_only_asks_is_neither_handed_over_nor_put_first(
    embedder: Embedder, settings: Settings
) -> None:
    reader = support_reader(embedder, settings)
    loose = support_reader(
        embedder, settings.model_copy(update={"triage_zero_shot_asking_min_similarity": -1.0})
    )
    for text in ONLY_ASKING:
        before = loose(text)
        assert before.needs_human or before.priority == "high", text  # what the rule changes
        for reading in (reader(text), reader.in_scope(text)):
            assert not reading.needs_human, text
            assert reading.priority in ("low", "normal"), text


def test_a_question_that_reports_or_asks_for_a_person_still_hands_over(
    embedder: Embedder, settings: Settings
) -> None:
    reader = support_reader(embedder, settings)
    expected = {
        "I paid for the wrong plan by mistake, can I get my money back?": "refund",
        "I was charged €25 but I cancelled 3 days before, I want a refund": "refund",
        "Your app double charged my client and I'm furious": "refund",
        "Can I speak to a human please?": "human_request",
        "How do I cancel my membership?": "cancellation",
        "My chest hurts badly and I can't breathe": "safety",
        "Someone logged into my account from Russia, I didn't do this": "security",
    }
    for text, category in expected.items():
        reading = reader(text)
        assert (reading.category, reading.needs_human) == (category, True), text


def test_greetings_and_thanks_alone_are_out_of_scope_even_when_the_documents_answered(
    embedder: Embedder, settings: Settings
) -> None:
    reader = support_reader(embedder, settings)
    for text in ("good morning", "Hi there", "Good evening team", "thanks a lot!"):
        for reading in (reader(text), reader.in_scope(text)):
            assert (reading.category, reading.priority, reading.needs_human) == (
                OUT_OF_SCOPE,
                "low",
                False,
            ), text
    assert reader("Hi, how do I book a class?").category == "how_to"


def test_a_policy_with_categories_for_greetings_and_thanks_reads_them_by_those(
    embedder: Embedder,
) -> None:
    small_talk = TEAM_POLICY + (
        "  greeting: {priority: low, needs_human: false}\n"
        "  thank_you: {priority: low, needs_human: false}\n"
    )
    texts = ["good morning", "thanks a lot!", "Where can I download my invoice?"]
    with_them = ZeroShotTriage(parse_policy(small_talk), embedder, min_similarity=0.25)
    assert [r.result.category for r in with_them.read(texts)] == [
        "greeting",
        "thank_you",
        "billing",
    ]
    without = ZeroShotTriage(parse_policy(TEAM_POLICY), embedder, min_similarity=0.25)
    assert [r.result.category for r in without.read(texts, in_scope=True)] == [
        OUT_OF_SCOPE,
        OUT_OF_SCOPE,
        "billing",
    ]


@pytest.mark.parametrize("half", ["dev", "test", "unseen"])
def test_on_labelled_support_messages_questions_do_not_jump_the_queue(
    embedder: Embedder, settings: Settings, half: str
) -> None:
    # benchmarks/triage_support_policy.py prints the whole table; the rule before (nearest
    # phrase) read 0.686 / 0.677 right and gave 10 % / 7 % of the questions priority high.
    rows = labelled_messages(half)
    readings = support_reader(embedder, settings).read([r["text"] for r in rows])
    pairs = [(r["category"], reading.result) for r, reading in zip(rows, readings, strict=True)]
    assert sum(gold == result.category for gold, result in pairs) / len(pairs) >= 0.7
    asked = [result for gold, result in pairs if gold in ("how_to", "feature_request")]
    assert sum(result.priority in ("high", "urgent") for result in asked) / len(asked) <= 0.05
    no_person = [
        result for gold, result in pairs if not support_policy().categories[gold].needs_human
    ]
    assert sum(result.needs_human for result in no_person) / len(no_person) <= 0.02
