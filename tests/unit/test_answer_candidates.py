from assistant.schemas import RetrievedChunk
from assistant.turn.answer_candidates import answer_candidates


def _chunk(text: str) -> RetrievedChunk:
    return RetrievedChunk(chunk_id="c", doc_id="d", tenant="t", text=text, score=1.0)


def test_candidates_are_sentences_ending_in_their_chunks_marker():
    chunks = [
        _chunk("Run the setup first. Then open\nthe settings page to continue."),
        _chunk("Qdrant keeps the index on disk in local mode."),
    ]
    assert answer_candidates(chunks) == [
        "Run the setup first. [1]",
        "Then open the settings page to continue. [1]",
        "Qdrant keeps the index on disk in local mode. [2]",
    ]


def test_tables_code_and_short_or_long_fragments_are_not_candidates():
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode here is long enough\n```\n\nOk.\n\n" + (
        "word " * 100
    )
    assert answer_candidates([_chunk(text)], max_chars=300) == []


def test_candidates_are_capped():
    text = " ".join(f"Sentence number {i} is here." for i in range(100))
    assert len(answer_candidates([_chunk(text)], limit=7)) == 7


def test_list_items_are_candidates_of_their_own_without_the_bullet():
    text = (
        "Settings:\n- `TOP_K`: chunks per search, 5 by default.\n"
        "- `MODE`: hybrid, dense or sparse.\n"
    )
    assert answer_candidates([_chunk(text)]) == [
        "`TOP_K`: chunks per search, 5 by default. [1]",
        "`MODE`: hybrid, dense or sparse. [1]",
    ]


def test_a_short_step_or_a_split_after_an_abbreviation_joins_the_sentence_after_it():
    text = "Run `make test`. It runs the whole suite.\n\nAsk Timothy P. Smith about refunds.\n\nOk."
    assert answer_candidates([_chunk(text)]) == [
        "Run `make test`. It runs the whole suite. [1]",
        "Ask Timothy P. Smith about refunds. [1]",
    ]
