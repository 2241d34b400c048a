"""Sentence-level citation verification with the real packaged embedder."""

from __future__ import annotations

import pytest
from doubles import ListRetriever, ScriptedChatModel, graph_deps

from assistant.graph.builder import build_graph
from assistant.graph.state import new_turn
from assistant.knowledge.embedder import load_embedder
from assistant.schemas import Answer, Outcome, RetrievedChunk
from assistant.settings import Settings
from assistant.turn.sentences import split_sentences
from assistant.turn.verification import CitationVerifier

CARD = (
    "Lost or stolen cards. If your card is lost or stolen, freeze it in the app at once. "
    "A replacement card arrives within five working days."
)
PASSWORD = "Passwords. To reset your password, open the sign-in page and choose Forgot password."
SUPPORTED = "Freeze a lost or stolen card in the app at once [1]."
WRONG_SOURCE = "Reset your password from the sign-in page with Forgot password [1]."
INVENTED = "Our branches open at nine on Saturdays and serve free coffee [2]."


def passage(n: int, text: str) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=f"00000000-0000-0000-0000-{n:012d}",
        doc_id=f"doc-{n}",
        tenant="default",
        text=text,
        title=text.split(".")[0],
        source=f"docs/doc-{n}.md",
        score=1.0 / n,
        dense_score=0.8,
    )


CHUNKS = [passage(1, CARD), passage(2, PASSWORD)]


@pytest.fixture(scope="module")
def verifier() -> CitationVerifier:
    embedder = load_embedder(Settings(_env_file=None).embedder)
    return CitationVerifier(embedder, threshold=Settings(_env_file=None).citation_support_min)


def test_sentences_keep_their_markers() -> None:
    assert split_sentences("One thing [1]. Another [2] And a third! [3]") == [
        "One thing [1].",
        "Another [2]",
        "And a third! [3]",
    ]
    assert split_sentences("  ") == []


def test_a_table_row_read_with_its_header_is_supported_by_the_chunk_holding_the_table(
    verifier: CitationVerifier,
) -> None:
    table = (
        "Compare the plans:\n| Plan | Price | Devices |\n| --- | --- | --- |\n"
        "| Free | $0 | 1 |\n| Pro | $9.99/month | 5 |\n| Business | $19.99/month | 25 |"
    )
    chunks = [passage(1, table), passage(2, PASSWORD)]
    row = verifier.check_sentence("Plan: Pro; Price: $9.99/month; Devices: 5. [1]", chunks)
    assert row.supported and row.lexical == 1.0 and row.semantic > 0.95
    assert not verifier.check_sentence("Plan: Pro; Price: $9.99/month. [2]", chunks).supported


def test_a_sentence_the_cited_chunk_says_is_supported(verifier: CitationVerifier) -> None:
    check = verifier.check_sentence(SUPPORTED, CHUNKS)
    assert check.supported and check.cites == [1]
    assert check.lexical > 0.8


def test_a_sentence_citing_the_wrong_chunk_is_not(verifier: CitationVerifier) -> None:
    check = verifier.check_sentence(WRONG_SOURCE, CHUNKS)
    assert not check.supported
    # The same sentence is supported by the chunk that says it.
    right = verifier.check_sentence(WRONG_SOURCE.replace("[1]", "[2]"), CHUNKS)
    assert right.supported


def test_an_invented_claim_is_not_supported(verifier: CitationVerifier) -> None:
    check = verifier.check_sentence(INVENTED, CHUNKS)
    assert not check.supported and check.support < verifier.threshold


def test_a_sentence_without_a_marker_cites_nothing(verifier: CitationVerifier) -> None:
    check = verifier.check_sentence("Freeze a lost or stolen card in the app at once.", CHUNKS)
    assert not check.supported and check.cites == []


def test_a_copied_passage_sentence_is_always_supported(verifier: CitationVerifier) -> None:
    # What extractive answers are: the check never withholds them.
    for n, chunk in enumerate(CHUNKS, 1):
        for sentence in split_sentences(chunk.text):
            assert verifier.check_sentence(f"{sentence} [{n}]", CHUNKS).supported


def run_turn(settings: Settings, verifier: CitationVerifier, draft: str) -> Answer:
    settings.answer_mode = "generative"

    def respond(prompt: str) -> str:
        return "search" if "What should the support assistant do" in prompt else draft

    deps = graph_deps(
        settings, ScriptedChatModel(respond=respond), ListRetriever(CHUNKS), verifier=verifier
    )
    state = build_graph(deps).invoke(new_turn("My card was stolen, what do I do?", "default"))
    answer: Answer = state["answer"]
    return answer


def test_remove_drops_the_unsupported_sentence_and_its_citation(settings, verifier) -> None:
    settings.verify_citations = "remove"
    answer = run_turn(settings, verifier, f"{SUPPORTED} {INVENTED}")
    assert answer.outcome is Outcome.ANSWERED
    assert answer.text == SUPPORTED
    assert [c.n for c in answer.citations] == [1]
    assert answer.unsupported_sentences == [INVENTED]


def test_flag_keeps_the_text_and_lists_the_sentence(settings, verifier) -> None:
    settings.verify_citations = "flag"
    answer = run_turn(settings, verifier, f"{SUPPORTED} {INVENTED}")
    assert answer.text == f"{SUPPORTED} {INVENTED}"
    assert [c.n for c in answer.citations] == [1, 2]
    assert answer.unsupported_sentences == [INVENTED]


def test_an_answer_with_no_supported_sentence_is_declined(settings, verifier) -> None:
    settings.verify_citations = "remove"
    answer = run_turn(settings, verifier, INVENTED)
    assert answer.outcome is Outcome.DECLINED
    assert answer.citations == []
    assert answer.unsupported_sentences == [INVENTED]


def test_off_skips_the_check(settings, verifier) -> None:
    settings.verify_citations = "off"
    answer = run_turn(settings, verifier, f"{SUPPORTED} {INVENTED}")
    assert answer.unsupported_sentences == []
    assert len(answer.citations) == 2
