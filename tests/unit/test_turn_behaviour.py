"""The turn's trained decisions in the graph: the judge, the router's fallback, several
extractive sentences and grounded clarifying questions, with deterministic doubles."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from doubles import (
    DECIDE_MARK,
    GENERATE_MARK,
    HashEmbedder,
    ListRetriever,
    ScriptedChatModel,
    chunk,
    constant_head,
    graph_deps,
    script,
)

from assistant.errors import InputError
from assistant.graph.builder import build_graph
from assistant.graph.deps import GraphDeps, build_deps
from assistant.graph.state import new_turn
from assistant.schemas import Answer, EscalationDecision, Outcome, RetrievedChunk
from assistant.training.behaviour_fit import save_judge
from assistant.turn.citations import MARKER
from assistant.turn.clarification import clarifying_question, option_name, page_name
from assistant.turn.evidence import FEATURES, TURN_FEATURES, Evidence, EvidenceReader
from assistant.turn.extraction import extractive_answer
from assistant.turn.heads import LinearHead, load_head
from assistant.turn.judgement import CosineGate, FittedJudge, Judgement, clarify_inputs, open_judge
from assistant.turn.routing import open_router
from assistant.turn.sentences import split_sentences
from assistant.turn.small_talk import DEFAULT_REPLIES, SmallTalk, load_replies, open_small_talk


class FixedJudge:
    """Says what it was told, and records what it was asked."""

    def __init__(self, judgement: Judgement) -> None:
        self.judgement = judgement
        self.asked: list[tuple[str, str, int]] = []

    def judge(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Judgement:
        self.asked.append((question, context, len(chunks)))
        return self.judgement


def ask(deps: GraphDeps, question: str = "How do I reset my password?") -> Answer:
    return build_graph(deps).invoke(new_turn(question, "default"))["answer"]


def test_a_search_judged_unanswerable_never_reaches_the_generator(settings):
    settings.answer_mode = "generative"
    settings.max_rewrites = 0
    model = ScriptedChatModel(respond=script("search"))
    judge = FixedJudge(Judgement(answerable=False, confidence=0.1))
    # Chunks the old cosine gate would all have passed.
    answer = ask(
        graph_deps(
            settings, model, ListRetriever([chunk(1, score=0.9), chunk(2, score=0.8)]), judge=judge
        )
    )
    assert answer.outcome is Outcome.DECLINED
    assert model.saw(GENERATE_MARK) == 0
    assert judge.asked == [("How do I reset my password?", "", 2)]


def test_a_search_judged_too_vague_gets_a_clarifying_question_naming_what_it_found(settings):
    settings.answer_mode = "generative"
    model = ScriptedChatModel(respond=script("search"))
    judge = FixedJudge(Judgement(answerable=False, clarify=True, confidence=0.6))
    answer = ask(
        graph_deps(settings, model, ListRetriever([chunk(1), chunk(2)]), judge=judge),
        "What are the limits?",
    )
    assert answer.outcome is Outcome.CLARIFY
    assert '"Doc 1" or "Doc 2"' in answer.text
    assert model.saw(GENERATE_MARK) == 0


def test_unanswerable_after_search_goes_to_the_escalation_step_when_asked(settings):
    settings.no_answer_action = "escalate"
    settings.max_rewrites = 0
    contexts: list[str] = []

    def escalation(text: str, context: str) -> EscalationDecision:
        contexts.append(context)
        return EscalationDecision(escalate=True, reason="unanswerable", summary=text)

    judge = FixedJudge(Judgement(answerable=False, confidence=0.1))
    model = ScriptedChatModel(respond=script("search"))
    answer = ask(
        graph_deps(settings, model, ListRetriever([chunk(1)]), judge=judge, escalation=escalation)
    )
    assert answer.outcome is Outcome.ESCALATED
    assert answer.escalation is not None and answer.escalation.reason == "unanswerable"
    assert contexts == ["The knowledge base has no answer."]


def test_only_the_chunks_the_judge_kept_are_numbered_and_cited(settings):
    settings.answer_mode = "generative"
    judge = FixedJudge(Judgement(answerable=True, kept=[1], confidence=0.9))
    model = ScriptedChatModel(respond=script("search", "The answer is 2 [1]."))
    answer = ask(
        graph_deps(settings, model, ListRetriever([chunk(1), chunk(2), chunk(3)]), judge=judge)
    )
    assert answer.outcome is Outcome.ANSWERED
    assert [(c.n, c.doc_id) for c in answer.citations] == [(1, "doc-2")]


def passage(n: int, sentences: list[str]) -> RetrievedChunk:
    return chunk(n).model_copy(update={"text": " ".join(sentences)})


def test_several_extractive_sentences_each_carry_a_valid_marker(settings):
    settings.answer_mode = "extractive"
    settings.answer_sentences = 3
    settings.verify_citations = "off"
    chunks = [
        passage(
            1,
            [
                "To reset your password open the account page.",
                "Then choose Reset password and follow the email.",
                "Accounts are free for everyone.",
            ],
        ),
        passage(
            2,
            ["A password reset link expires after one hour.", "Support cannot see your password."],
        ),
    ]
    reader = EvidenceReader(HashEmbedder(64))
    model = ScriptedChatModel(respond=script("search"))
    answer = ask(
        graph_deps(settings, model, ListRetriever(chunks), reader=reader, judge=CosineGate(0.0))
    )
    assert answer.outcome is Outcome.ANSWERED
    markers = [int(n) for n in MARKER.findall(answer.text)]
    assert len(markers) == 3
    cited = {c.n: c.chunk_id for c in answer.citations}
    assert set(markers) <= set(cited)
    assert set(cited.values()) <= {c.chunk_id for c in chunks}
    assert "Then choose Reset password and follow the email. [1]" in answer.text
    assert model.saw("Answer the customer's question") == 0


def test_extractive_answer_takes_the_best_sentence_and_the_one_after_it_in_passage_order():
    evidence = Evidence(
        chunks=[chunk(1), chunk(2)],
        sentences=[["a first.", "b best.", "c next."], ["d second best."]],
        similarity=[np.array([0.1, 0.9, 0.0]), np.array([0.85])],
        features=np.zeros((2, 1)),
    )
    assert extractive_answer(evidence, 1) == "b best. [1]"
    assert extractive_answer(evidence, 2) == "b best. [1] c next. [1]"
    assert extractive_answer(evidence, 3) == "b best. [1] c next. [1] d second best. [2]"


def test_a_best_sentence_that_opens_on_the_one_before_it_is_read_with_it():
    evidence = Evidence(
        chunks=[chunk(1)],
        sentences=[
            [
                "Refunds for opened bags are refused.",
                "We retry up to 8 times over 24 hours.",
                "After that the delivery is marked failed.",
            ]
        ],
        similarity=[np.array([0.1, 0.4, 0.7])],
        features=np.zeros((1, 1)),
    )
    assert extractive_answer(evidence, 3) == (
        "We retry up to 8 times over 24 hours. [1] After that the delivery is marked failed. [1]"
    )
    evidence.sentences[0][2] = "Failed deliveries are marked in the log."
    assert extractive_answer(evidence, 3) == "Failed deliveries are marked in the log. [1]"


@pytest.mark.parametrize(("heading", "answer"), [(0.95, "first"), (0.5, "best"), (None, "best")])
def test_a_section_whose_heading_is_the_question_is_answered_from_its_start(heading, answer):
    # "I lost my key fob" over "## I lost my key fob": the first step shares no word with it.
    evidence = Evidence(
        chunks=[chunk(1)],
        sentences=[
            [
                "Report it at the front desk.",
                "A replacement fob costs 10 euros and the old one is blocked.",
                "Fobs work at every club.",
            ]
        ],
        similarity=[np.array([0.2, 0.6, 0.3])],
        features=np.zeros((1, 1)),
        headings=[heading],
    )
    best = (
        "A replacement fob costs 10 euros and the old one is blocked. [1] "
        "Fobs work at every club. [1]"
    )
    expected = {"first": f"Report it at the front desk. [1] {best}", "best": best}[answer]
    assert extractive_answer(evidence, 8) == expected


def test_of_rows_about_as_close_to_a_follow_up_the_one_its_conversation_asks_about_answers():
    rows = [
        "Service: GP consultation; Covered: yes.",
        "Service: Sports certificate; Covered: no.",
        "Service: Travel vaccination; Covered: no.",
    ]
    evidence = Evidence(
        chunks=[chunk(1)],
        sentences=[rows],
        # "Is it covered by insurance?": every row is about as close ...
        similarity=[np.array([0.52, 0.50, 0.30])],
        features=np.zeros((1, 1)),
        rows=[frozenset({0, 1, 2})],
        # ... after "What does a sports certificate cost?", the second is the one.
        in_context=[np.array([0.40, 0.70, 0.35])],
    )
    assert extractive_answer(evidence, 8) == f"{rows[1]} [1]"
    # A row far from the question is not chosen by the conversation alone.
    evidence.in_context[0][2] = 0.9
    assert extractive_answer(evidence, 8) == f"{rows[1]} [1]"
    # Without the conversation's cosines (or with equal ones) the closest row answers.
    evidence.in_context.clear()
    assert extractive_answer(evidence, 8) == f"{rows[0]} [1]"


def test_a_sentence_under_the_heading_that_matches_beats_a_closer_one_of_another_section():
    # "How do I rotate my API key?": the chunk of "Rotate a key" is the closer passage (its
    # heading), the sentence of "A key was leaked" the closer sentence (it says "API keys").
    rotate = chunk(1, score=0.73)
    leaked = chunk(2, score=0.53)
    evidence = Evidence(
        chunks=[rotate, leaked],
        sentences=[['Click "Roll key" next to the key.'], ["Delete the API key at once."]],
        similarity=[np.array([0.48]), np.array([0.64])],
        features=np.zeros((2, 1)),
    )
    assert extractive_answer(evidence, 8).startswith('Click "Roll key" next to the key. [1]')


def test_the_best_sentences_passage_is_written_first_and_far_passages_do_not_pad_it():
    evidence = Evidence(
        chunks=[chunk(1), chunk(2), chunk(3)],
        sentences=[
            ["You must be 18 to ride.", "Ride at off-peak hours."],
            [
                "Scooters are limited to 20 km/h.",
                "Slow zones drop it to 10 km/h.",
                "Wear a helmet.",
            ],
            ["Scooters may go 20 km/h on cycle paths."],
        ],
        similarity=[np.array([0.55, 0.6]), np.array([0.72, 0.42, 0.3]), np.array([0.65])],
        features=np.zeros((3, 1)),
    )
    # Chunk 1's sentences share the subject, not the answer (0.6 against 0.72): left out even
    # with words to spare; every sentence of the best passage may join, and a sentence of
    # another passage nearly as close (0.65) follows the best passage.
    assert extractive_answer(evidence, 8, words=80) == (
        "Scooters are limited to 20 km/h. [2] Slow zones drop it to 10 km/h. [2] "
        "Wear a helmet. [2] Scooters may go 20 km/h on cycle paths. [3]"
    )


def test_a_table_row_closest_to_the_question_is_the_answer_alone():
    evidence = Evidence(
        chunks=[chunk(1), chunk(2)],
        sentences=[
            ["Compare the plans:", "Plan: Free; Price: $0.", "Plan: Pro; Price: $9.99."],
            ["Prices include VAT."],
        ],
        similarity=[np.array([0.3, 0.7, 0.9]), np.array([0.8])],
        features=np.zeros((2, 1)),
        rows=[frozenset({1, 2}), frozenset()],
    )
    assert extractive_answer(evidence, 8) == "Plan: Pro; Price: $9.99. [1]"


def test_extractive_answer_stops_at_the_word_budget_before_the_sentence_cap():
    evidence = Evidence(
        chunks=[chunk(1), chunk(2)],
        sentences=[["Short one.", "Open Settings and choose Reset password."], ["A third one."]],
        similarity=[np.array([0.9, 0.1]), np.array([0.85])],
        features=np.zeros((2, 1)),
    )
    # 2 + 6 words reach a budget of 8: the third sentence is left out although the cap allows it.
    assert extractive_answer(evidence, 8, words=8) == (
        "Short one. [1] Open Settings and choose Reset password. [1]"
    )
    assert extractive_answer(evidence, 8, words=9).endswith("A third one. [2]")
    assert extractive_answer(evidence, 1, words=100) == "Short one. [1]"


def test_a_clarifying_question_names_passages_without_titles_by_their_opening_words():
    untitled = chunk(3).model_copy(
        update={
            "title": "",
            "section": "",
            "text": "Getting started with virtualization\nYou can use it.",
        }
    )
    assert option_name(untitled) == "Getting started with virtualization"
    question = clarifying_question([chunk(1), chunk(1), untitled])
    assert question is not None
    assert '"Doc 1" or "Getting started with virtualization"' in question
    assert clarifying_question([]) is None


def test_a_missing_router_or_judge_falls_back_with_a_warning(tmp_path: Path, caplog):
    embedder = HashEmbedder()
    with caplog.at_level(logging.WARNING):
        assert open_router("fitted", tmp_path / "router", embedder) is None
        judge = open_judge("fitted", tmp_path / "judge", EvidenceReader(embedder), 0.3)
        assert open_small_talk("fitted", tmp_path / "small_talk", embedder, None) is None
    assert isinstance(judge, CosineGate) and judge.floor == 0.3
    assert "router not used" in caplog.text
    assert "cosine gate" in caplog.text
    assert "the model writes the replies" in caplog.text


def small_talk_head(embedder: HashEmbedder) -> LinearHead:
    """Two intents, told apart by the embedding's direction (hash embeddings of two words)."""
    greeting, thanks = embedder.embed_documents(["hello", "thanks"])
    direction = greeting - thanks
    return LinearHead(
        kind="small_talk",
        labels=["greeting", "thank_you"],
        inputs=[f"embedding_{i}" for i in range(embedder.dim)],
        mean=[0.0] * embedder.dim,
        scale=[1.0] * embedder.dim,
        weights=[(-direction).tolist()],
        intercept=[0.0],
        embedder=embedder.name,
        trained_on=["t.jsonl"],
        data_hash="0",
    )


def test_small_talk_gets_the_reply_written_for_it_and_never_calls_the_model(settings):
    embedder = HashEmbedder()
    small_talk = SmallTalk(
        small_talk_head(embedder), embedder, load_replies(None, ["greeting", "thank_you"])
    )
    model = ScriptedChatModel(respond=script("reply"))
    deps = graph_deps(settings, model, ListRetriever([chunk(1)]), small_talk=small_talk)
    hello, thanks = ask(deps, "hello"), ask(deps, "thanks")
    assert hello.outcome is thanks.outcome is Outcome.ANSWERED_DIRECTLY
    assert (hello.text, thanks.text) == (DEFAULT_REPLIES["greeting"], DEFAULT_REPLIES["thank_you"])
    # The decide step's choice is the only model call: no reply is generated.
    assert len(model.prompts) == 2
    assert all(DECIDE_MARK in prompt for prompt in model.prompts)


def test_the_teams_replies_replace_the_defaults_and_a_wrong_file_is_refused(tmp_path: Path):
    intents = ["greeting", "tell_joke", "thank_you"]
    own = tmp_path / "replies.yaml"
    own.write_text("greeting: Hi, this is Acme support.\n", encoding="utf-8")
    replies = load_replies(own, intents)
    assert replies["greeting"] == "Hi, this is Acme support."
    assert replies["thank_you"] == DEFAULT_REPLIES["thank_you"]
    # An intent without a written reply says what the assistant is for.
    assert "help center" in replies["tell_joke"]
    own.write_text("greting: Hi\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown small-talk intent.*greting"):
        load_replies(own, intents)
    own.write_text("greeting: ''\n", encoding="utf-8")
    with pytest.raises(InputError, match="empty reply for greeting"):
        load_replies(own, intents)
    own.write_text("- greeting\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a YAML mapping"):
        load_replies(own, intents)


def test_without_a_router_the_base_models_choice_decides(settings, tmp_path: Path):
    settings.router = "fitted"
    settings.heads_dir = tmp_path / "empty"
    # Zero-shot triage over the hash embedder's random word directions reads any category
    # (an urgent one is handed over before the step decides): the step's choice is tested.
    settings.triage_hand_over = "off"
    index = ListRetriever([chunk(1)], embedder=HashEmbedder())
    deps = build_deps(settings, index, ScriptedChatModel(respond=script("reply")), adapters=())
    assert deps.router is None
    assert ask(deps, "Hello there!").outcome is Outcome.ANSWERED_DIRECTLY


def head(embedder: str) -> LinearHead:
    return LinearHead(
        kind="router",
        labels=["search", "reply"],
        inputs=["x"],
        mean=[0.0],
        scale=[1.0],
        weights=[[1.0]],
        intercept=[0.0],
        embedder=embedder,
        trained_on=["t.jsonl"],
        data_hash="0",
    )


def test_a_head_fitted_on_another_embedder_or_of_another_kind_is_refused(tmp_path: Path):
    head("other-embedder").save(tmp_path)
    with pytest.raises(InputError, match="other-embedder"):
        load_head(tmp_path, "router", embedder="hash")
    with pytest.raises(InputError, match="not a judge head"):
        load_head(tmp_path, "judge", embedder="other-embedder")
    (tmp_path / "head.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(InputError, match="not a valid head file"):
        load_head(tmp_path, "router", embedder="hash")


def test_a_binary_head_gives_the_logistic_probability():
    p = head("hash").probabilities(np.array([[0.0], [2.0]]))
    assert p[0].tolist() == [0.5, 0.5]
    assert p[1, 1] == pytest.approx(1 / (1 + np.exp(-2.0)))


def test_a_sentence_two_passages_share_is_said_once():
    evidence = Evidence(
        chunks=[chunk(1), chunk(2)],
        sentences=[["Reset it in Settings.", "Then sign in."], ["Reset  it in settings.", "More."]],
        similarity=[np.array([0.9, 0.2]), np.array([0.85, 0.86])],
        features=np.zeros((2, 1)),
    )
    said = "Reset it in Settings. [1] Then sign in. [1] More. [2]"
    assert extractive_answer(evidence, 3) == said


def test_a_clarifying_question_names_web_pages_without_their_site_unless_that_is_the_difference():
    def titled(title: str) -> RetrievedChunk:
        return chunk(1).model_copy(update={"title": title, "doc_id": title})

    assert page_name("MLPD & MCSO Explorer Post 7880 | Mammoth Lakes, CA - Official Website") == (
        "MLPD & MCSO Explorer Post 7880"
    )
    assert page_name("Missions - NASA") == "Missions"
    assert page_name("Step 1 - Install the package and start the server") == (
        "Step 1 - Install the package and start the server"
    )
    question = clarifying_question(
        [
            titled("Police Explorers | Auburn, CA"),
            titled("Missions - NASA"),
            titled("Police Explorers | Morgan Hill, CA"),
        ]
    )
    assert question is not None
    assert '"Police Explorers", "Missions" or "Police Explorers | Morgan Hill, CA"' in question


def test_the_fitted_judge_asks_when_its_clarify_head_says_so_and_loads_without_one(
    tmp_path: Path, caplog
):
    reader = EvidenceReader(HashEmbedder(64))
    turn, chunk_head = constant_head(TURN_FEATURES, 0.9), constant_head(FEATURES, 0.9)
    save_judge(turn, chunk_head, tmp_path / "old")
    with caplog.at_level(logging.WARNING):
        old = FittedJudge.load(tmp_path / "old", reader)
    assert "no clarify head" in caplog.text
    assert old.judge("Which one?", "", [chunk(1), chunk(2)]).answerable

    inputs = clarify_inputs(reader.embedder.dim)
    save_judge(turn, chunk_head, tmp_path / "new", constant_head(inputs, 0.8))
    judgement = FittedJudge.load(tmp_path / "new", reader).judge("Which one?", "", [chunk(1)])
    assert judgement.clarify and not judgement.answerable
    save_judge(turn, chunk_head, tmp_path / "stale", constant_head(inputs[:-1], 0.8))
    with pytest.raises(ValueError, match="clarify head"):
        FittedJudge.load(tmp_path / "stale", reader)


def test_a_chunks_heading_is_read_with_its_sentences_but_never_answered_with():
    reader = EvidenceReader(HashEmbedder(64))
    steps = "Type make check in a terminal. It installs what is missing."
    headed = chunk(1).model_copy(update={"text": steps, "section": "Setup > Run the tests"})
    bare = headed.model_copy(update={"section": ""})
    question = "How do I run the tests?"
    with_heading, without = reader.read(question, "", [headed]), reader.read(question, "", [bare])

    best, cover = FEATURES.index("best_sentence"), FEATURES.index("coverage")
    assert with_heading.features[0, best] > without.features[0, best]
    assert with_heading.features[0, cover] > without.features[0, cover]
    # The answer is made of the passage's sentences only.
    assert with_heading.sentences == without.sentences
    assert [len(s) for s in with_heading.similarity] == [2]
    assert "Run the tests" not in extractive_answer(with_heading, 8, words=80)


def test_every_piece_the_citation_check_splits_an_extracted_sentence_into_carries_its_marker():
    evidence = Evidence(
        chunks=[chunk(1)],
        sentences=[["Run `make test`. It runs the whole suite, e.g. the slow tests."]],
        similarity=[np.array([0.9])],
        features=np.zeros((1, 1)),
    )
    answer = extractive_answer(evidence, 8, words=80)
    assert answer == "Run `make test`. [1] It runs the whole suite, e.g. the slow tests. [1]"
    assert all(MARKER.search(piece) for piece in split_sentences(answer))


def test_a_search_with_nothing_near_the_question_is_declined_not_asked_about(tmp_path: Path):
    reader = EvidenceReader(HashEmbedder(64))
    turn, chunk_head = constant_head(TURN_FEATURES, 0.9), constant_head(FEATURES, 0.9)
    save_judge(turn, chunk_head, tmp_path, constant_head(clarify_inputs(reader.embedder.dim), 0.8))
    judge = open_judge("fitted", tmp_path, reader, 0.25)
    far = [chunk(1, score=0.1), chunk(2, score=0.2)]
    assert judge.judge("What is the capital of France?", "", far) == Judgement(
        answerable=False, confidence=0.0
    )
    near = [chunk(1, score=0.3), chunk(2, score=0.2)]
    assert judge.judge("Which one?", "", near).clarify


@pytest.mark.parametrize(("p", "answered"), [(0.99, True), (0.6, False)])
def test_a_name_the_question_asks_about_that_the_search_never_says_is_at_most_hedged(
    tmp_path: Path, p: float, answered: bool
):
    reader = EvidenceReader(HashEmbedder(64))
    turn = constant_head(TURN_FEATURES, p, threshold=0.3, confident_at=0.8)
    save_judge(turn, constant_head(FEATURES, 0.9), tmp_path)
    judge = open_judge("fitted", tmp_path, reader, 0.0)
    sso = chunk(1).model_copy(update={"text": "SSO providers: Okta and Azure AD."})
    confirmed = judge.judge("Do you support SSO with Okta?", "", [sso])
    assert confirmed.answerable and confirmed.hedged is (p < 0.8)
    # Said only by what the page leaves out: hedged when the search is otherwise a confident
    # one, declined when it would have been hedged anyway.
    unsaid = judge.judge("Do you support SSO with OneLogin?", "", [sso])
    assert unsaid.answerable is answered and unsaid.hedged is answered


def test_a_chunk_naming_the_code_the_question_names_is_read_however_far_its_cosine(
    tmp_path: Path,
):
    reader = EvidenceReader(HashEmbedder(64))
    turn, chunk_head = constant_head(TURN_FEATURES, 0.9), constant_head(FEATURES, 0.9)
    save_judge(turn, chunk_head, tmp_path)
    judge = open_judge("fitted", tmp_path, reader, 0.25)
    codes = chunk(1, score=0.1).model_copy(
        update={
            "text": "| Code | Meaning |\n| --- | --- |\n"
            "| V12 | Battery low |\n| V31 | Card declined |"
        }
    )
    far = [codes, chunk(2, score=0.2)]
    assert judge.judge("What does V31 mean?", "", far).answerable
    assert not judge.judge("What does V99 mean?", "", far).answerable  # declined unread
    evidence = reader.read("What does V31 mean?", "", far)
    assert evidence.sentences[0][1] == "Code: V31; Meaning: Card declined."
    assert evidence.similarity[0][1] == 1.0
    assert evidence.similarity[0][0] < 1.0
    plans = chunk(3, score=0.1).model_copy(
        update={"text": "| Plan | Price |\n| --- | --- |\n| Starter | $9 |\n| Growth | $29 |"}
    )
    assert judge.judge("What about Growth?", "", [plans, chunk(2, score=0.2)]).answerable
    assert not judge.judge("What about Enterprise?", "", [plans, chunk(2, score=0.2)]).answerable


def test_a_table_row_whose_first_cell_the_question_names_is_read_as_a_perfect_match():
    reader = EvidenceReader(HashEmbedder(64))
    plans = chunk(1).model_copy(
        update={
            "text": "Tallyho has three plans.\n\n| Plan | Price |\n| --- | --- |\n"
            "| Starter | $9 |\n| Growth | $29 |"
        }
    )
    evidence = reader.read("How much is the Growth plan?", "", [plans])
    assert evidence.sentences[0][2] == "Plan: Growth; Price: $29."
    assert list(evidence.similarity[0] == 1.0) == [False, False, True]
    prose = reader.read("How much is the Growth plan?", "", [chunk(2)])
    assert (prose.similarity[0] < 1.0).all()  # a prose sentence is never a row
    # Named, but asked about something the row does not say.
    sso = reader.read("Is SSO available on the Growth plan?", "", [plans])
    assert (sso.similarity[0] < 1.0).all()


def test_a_follow_up_that_names_no_row_asks_of_the_row_its_earlier_turn_named():
    reader = EvidenceReader(HashEmbedder(64))
    sizes = chunk(1).model_copy(
        update={
            "title": "Parcel sizes",
            "text": "| Size | Max weight |\n| --- | --- |\n| Small | 5 kg |\n| Large | 25 kg |",
        }
    )

    weight = reader.read("What's the max weight for that?", "And a large one?", [sizes])
    assert list(weight.similarity[0] == 1.0) == [False, True]
    # Its own row name wins; and a question the row does not speak of is no row's.
    small = reader.read("And a small one?", "What's the max weight of a large parcel?", [sizes])
    assert list(small.similarity[0] == 1.0) == [True, False]
    cancel = reader.read("How do I cancel it?", "And a large one?", [sizes])
    assert (cancel.similarity[0] < 1.0).all()


def test_a_run_can_leave_the_fitted_judges_clarify_head_out(settings, tmp_path: Path):
    settings.answer_mode = "generative"
    reader = EvidenceReader(HashEmbedder(64))
    turn, chunk_head = constant_head(TURN_FEATURES, 0.9), constant_head(FEATURES, 0.9)
    save_judge(turn, chunk_head, tmp_path, constant_head(clarify_inputs(reader.embedder.dim), 0.8))
    judge = open_judge("fitted", tmp_path, reader, 0.25)
    model = ScriptedChatModel(respond=script("search"))
    graph = build_graph(graph_deps(settings, model, ListRetriever([chunk(1)]), judge=judge))
    assert graph.invoke(new_turn("Which one?", "default"))["answer"].outcome is Outcome.CLARIFY
    # The evaluation's `no-clarify` variant: the same graph, another choice for the run.
    config = {"configurable": {"clarify": False}}
    answer = graph.invoke(new_turn("Which one?", "default"), config)["answer"]
    assert answer.outcome is Outcome.ANSWERED
