from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.schemas import RetrievedChunk
from assistant.turn.answer_candidates import answer_candidates, chunk_sentences
from assistant.turn.citations import strip_markers
from assistant.turn.tables import MAX_ROW_PIECES


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


def test_code_and_short_or_long_fragments_are_not_candidates():
    text = "```\ncode here is long enough\n```\n\nOk.\n\n" + ("word " * 100)
    assert answer_candidates([_chunk(text)], max_chars=300) == []


def test_each_table_row_is_a_candidate_read_with_its_header():
    text = (
        "Compare the plans before you upgrade:\n"
        "| Plan | Price | Devices |\n| --- | ---: | :-: |\n"
        "| Free | $0 | 1 |\n| Pro | $9.99/month | 5 |\n\n"
        "Prices include VAT in the EU."
    )
    assert answer_candidates([_chunk("Intro."), _chunk(text)]) == [
        "Compare the plans before you upgrade: [2]",
        "Plan: Free; Price: $0; Devices: 1. [2]",
        "Plan: Pro; Price: $9.99/month; Devices: 5. [2]",
        "Prices include VAT in the EU. [2]",
    ]


def test_a_row_leaves_out_its_empty_cells_and_reads_escaped_pipes_and_no_markers():
    text = (
        "| Region | Period | Covers |\n|---|---|---|\n"
        "| EU | 2 years | |\n| US | | Parts \\| labour [3] |\n| | | |\n| Only | | |"
    )
    assert chunk_sentences(_chunk(text)) == [
        "Region: EU; Period: 2 years.",
        "Region: US; Covers: Parts | labour.",
        "Region: Only.",
    ]


def test_a_cell_under_an_empty_header_is_said_alone_and_a_repeated_merged_cell_once():
    text = "| | Price | Price |\n|---|---|---|\n| Pro | $9.99 | $9.99 |"
    assert chunk_sentences(_chunk(text)) == ["Pro; Price: $9.99."]


def test_a_header_only_table_gives_no_candidate_and_a_table_without_delimiter_row_is_none():
    assert chunk_sentences(_chunk("| Plan | Price | Devices |\n| --- | --- | --- |")) == []
    assert chunk_sentences(_chunk("| Plan | Price |\n| Pro | $9.99 |")) == []


def test_a_very_wide_row_is_cut_into_bounded_pieces_that_each_start_with_its_first_cell():
    header = "| Plan | " + " | ".join(f"Feature {n}" for n in range(80)) + " |"
    delimiter = "|" + " --- |" * 81
    row = "| Pro | " + " | ".join(f"included in the price {n}" for n in range(80)) + " |"
    units = chunk_sentences(_chunk(f"{header}\n{delimiter}\n{row}"), max_chars=300)

    assert len(units) == MAX_ROW_PIECES
    assert all(len(u) <= 300 and u.startswith("Plan: Pro; Feature ") for u in units)
    assert "Feature 0: included in the price 0" in units[0]
    assert "Feature 1: included in the price 1" in units[0]


def test_a_cell_longer_than_a_unit_is_clipped():
    text = f"| Plan | Notes |\n|---|---|\n| Pro | {'word ' * 200} |"
    [unit] = chunk_sentences(_chunk(text), max_chars=300)
    assert len(unit) <= 300 and unit.startswith("Plan: Pro; Notes: word word")


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


_TABLE_PIECES = ["| ", " |", "|", "---", ":-:", "\n", "\n\n", "\\|", "[2]", "Pro", " ", "a. B", "é"]


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    pieces=st.lists(st.sampled_from(_TABLE_PIECES) | st.text(max_size=40), max_size=60),
    max_chars=st.integers(min_value=40, max_value=400),
)
def test_any_pipe_text_gives_units_within_the_bound_and_without_markers(
    pieces: list[str], max_chars: int
) -> None:
    for unit in chunk_sentences(_chunk("".join(pieces)), max_chars=max_chars):
        assert 0 < len(unit) <= max_chars
        assert strip_markers(unit) == unit


def test_a_candidate_reads_bold_and_links_as_text_and_keeps_code():
    text = "Open **Settings > Backup** and see [the guide](https://example.com/g), then run `sync`."
    assert answer_candidates([_chunk(text)]) == [
        "Open Settings > Backup and see the guide, then run `sync`. [1]"
    ]
