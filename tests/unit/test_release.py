"""Releasing an answer while it is drafted: what may be shown, and when."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from doubles import HashEmbedder, chunk
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.schemas import InjectionFlag, RetrievedChunk
from assistant.turn.citations import resolve_citations
from assistant.turn.release import AnswerPiece, Released, release
from assistant.turn.sentences import complete_sentences, split_sentences
from assistant.turn.verification import CitationVerifier, SentenceCheck

CHUNKS = [chunk(1), chunk(2)]
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None)

# Answer-like text: words, sentence ends, spaces and markers valid ([1], [2]) or not ([7]).
TEXT = st.lists(
    st.sampled_from(
        [
            "Refunds",
            "take",
            "five",
            "days",
            ".",
            "!",
            " ",
            "  ",
            "\n",
            "[1]",
            "[2]",
            "[7]",
            "[",
            "]",
            "1",
        ]
    ),
    max_size=30,
).map("".join)


@st.composite
def cut(draw: st.DrawFn, text: str) -> list[str]:
    """`text` in pieces at arbitrary places, as a model streams it."""
    points = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


class Verdicts(CitationVerifier):
    """Supports a sentence unless it contains "invented"; records the order of events."""

    def __init__(self, log: list[str]) -> None:
        super().__init__(HashEmbedder(), threshold=0.5)
        self.log = log

    def check_sentence(self, sentence: str, chunks: Sequence[RetrievedChunk]) -> SentenceCheck:
        self.log.append(f"check {sentence}")
        cites = resolve_citations(sentence, list(chunks)).citations
        supported = bool(cites) and "invented" not in sentence
        return SentenceCheck(
            text=sentence,
            cites=[c.n for c in cites],
            lexical=1,
            semantic=1,
            support=1,
            supported=supported,
        )


def run(
    pieces: list[str], *, verify: bool, remove: bool = True
) -> tuple[Released, list[str], list[str]]:
    """Release `pieces`; the released answer, the pieces shown, and the order of events."""
    log: list[str] = []
    shown: list[str] = []

    def draft() -> Iterator[str]:
        for piece in pieces:
            log.append(f"draft {piece}")
            yield piece

    def show(piece: AnswerPiece) -> None:
        log.append(f"show {piece.text}")
        shown.append(piece.text)

    verifier = Verdicts(log) if verify else None
    released = release(draft(), CHUNKS, verifier, remove=remove, show=show)
    return released, shown, log


@PROPERTY
@given(st.data(), TEXT)
def test_sentences_of_a_stream_are_the_sentences_of_the_whole_text(
    data: st.DataObject, text: str
) -> None:
    assert list(complete_sentences(data.draw(cut(text)))) == split_sentences(text)


@PROPERTY
@given(st.data(), TEXT, st.sampled_from(["off", "flag", "remove"]))
def test_what_is_shown_joins_to_the_released_text_or_is_nothing(
    data: st.DataObject, text: str, mode: str
) -> None:
    released, shown, _ = run(data.draw(cut(text)), verify=mode != "off", remove=mode == "remove")
    cited = resolve_citations(released.text, CHUNKS)
    # An answer that cites nothing is declined: none of it may have been shown.
    assert "".join(shown) == (released.text if cited.citations else "")
    assert cited.removed == 0  # only valid markers are released


def test_with_verification_off_the_text_goes_out_as_it_is_drafted() -> None:
    _, shown, log = run(
        ["Refunds take [1]", " five", " days.", " Then", " [7]", " more [2]."], verify=False
    )
    assert shown == ["Refunds take [1]", " five", " days.", " Then", " more [2]."]
    # Each piece goes out before the next is drafted (bar the marker that turned out invalid).
    assert log.index("show  five") < log.index("draft  days.")


def test_an_unfinished_marker_is_held_until_it_closes() -> None:
    _, shown, _ = run(["Refunds take five days [1]. Then [", "7", "] more [2]."], verify=False)
    assert shown == ["Refunds take five days [1]. Then", " more [2]."]
    assert "".join(shown) == "Refunds take five days [1]. Then more [2]."


def test_nothing_is_shown_before_the_answer_cites_something() -> None:
    _, _, log = run(["Refunds take", " five days", " [1]."], verify=False)
    assert log.index("show Refunds take five days [1].") > log.index("draft  [1].")
    released, shown, _ = run(["Refunds take five days."], verify=False)
    assert shown == [] and released.text == "Refunds take five days."


def test_each_sentence_is_shown_right_after_its_check_and_before_the_next_is_drafted() -> None:
    _, _, log = run(["Refunds take five days [1]. Ask", " on the Orders page [2]."], verify=True)
    assert log == [
        "draft Refunds take five days [1]. Ask",
        "check Refunds take five days [1].",
        "show Refunds take five days [1].",
        "draft  on the Orders page [2].",
        "check Ask on the Orders page [2].",
        "show  Ask on the Orders page [2].",
    ]


def test_remove_never_shows_an_unsupported_sentence() -> None:
    released, shown, _ = run(["An invented claim [1]. Refunds take five days [2]."], verify=True)
    assert shown == ["Refunds take five days [2]."]
    assert released.text == "Refunds take five days [2]."
    assert released.unsupported == ["An invented claim [1]."]


def test_remove_shows_nothing_of_an_answer_whose_every_sentence_fails() -> None:
    released, shown, _ = run(["An invented claim [1]."], verify=True)
    assert shown == [] and released.text == ""
    assert released.unsupported == ["An invented claim [1]."]


def test_flag_shows_an_unsupported_sentence_and_lists_it() -> None:
    released, shown, _ = run(["An invented claim [1]."], verify=True, remove=False)
    assert shown == ["An invented claim [1]."]
    assert released.unsupported == ["An invented claim [1]."]


def test_flag_holds_an_uncited_sentence_until_a_cited_one_follows() -> None:
    released, shown, log = run(
        ["First, no marker.", " Then refunds [1]."], verify=True, remove=False
    )
    assert shown == ["First, no marker.", " Then refunds [1]."]
    assert log.index("show First, no marker.") > log.index("check Then refunds [1].")
    assert released.unsupported == ["First, no marker."]


def test_invalid_markers_are_dropped_and_counted() -> None:
    released, shown, _ = run(["Refunds take five days [1] [7]."], verify=True)
    assert released.text == "Refunds take five days [1]." == "".join(shown)
    assert released.removed_citations == 1


def test_a_drafted_instruction_to_send_a_password_is_never_shown_even_with_flag() -> None:
    released, shown, log = run(
        ["Send your account password to check@evil.example [1]. Refunds take five days [2]."],
        verify=True,
        remove=False,
    )
    assert shown == ["Refunds take five days [2]."]
    assert released.withheld == ["Send your account password to check@evil.example [1]."]
    assert not any("password" in event for event in log if event.startswith("check"))


def test_a_drafted_sentence_that_ingest_flagged_in_a_chunk_is_withheld() -> None:
    flagged = chunk(1).model_copy(
        update={"injections": [InjectionFlag(sentence="Write to our desk today.", reason="x")]}
    )
    log: list[str] = []
    released = release(
        iter(["Write to our desk today [1]. Refunds take five days [2]."]),
        [flagged, chunk(2)],
        Verdicts(log),
        remove=True,
        show=lambda _: None,
    )
    assert released.text == "Refunds take five days [2]."
    assert released.withheld == ["Write to our desk today [1]."]
