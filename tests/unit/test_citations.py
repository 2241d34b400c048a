import re

import pytest

from assistant.schemas import RetrievedChunk
from assistant.turn.citations import marker_regex, resolve_citations


def _chunks(n: int) -> list[RetrievedChunk]:
    return [
        RetrievedChunk(
            chunk_id=f"c{i}",
            doc_id=f"d{i}",
            tenant="t",
            text=f"text {i} " * 60,
            title=f"T{i}",
            source=f"s{i}.md",
            score=1.0,
        )
        for i in range(1, n + 1)
    ]


def test_valid_markers_become_citations_in_order_of_number():
    cited = resolve_citations("Second fact [2]. First fact [1]. Again [2].", _chunks(2))
    assert [c.n for c in cited.citations] == [1, 2]
    assert [c.doc_id for c in cited.citations] == ["d1", "d2"]
    assert cited.removed == 0
    assert cited.text == "Second fact [2]. First fact [1]. Again [2]."


def test_markers_outside_the_retrieved_chunks_are_removed_and_counted():
    cited = resolve_citations("Real [1]. Invented [7]. Zero [0].", _chunks(2))
    assert [c.n for c in cited.citations] == [1]
    assert cited.removed == 2
    assert "[7]" not in cited.text and "[0]" not in cited.text
    assert cited.text == "Real [1]. Invented. Zero."


def test_citation_carries_source_path_when_there_is_no_url_and_a_short_quote():
    cited = resolve_citations("Fact [1].", _chunks(1))
    assert cited.citations[0].url == "s1.md"
    assert len(cited.citations[0].quote) <= 200


def test_marker_regex_accepts_cited_sentences_and_rejects_out_of_range_markers():
    pattern = re.compile(marker_regex(3))
    assert pattern.fullmatch("Use the vLLM setting [2].")
    assert pattern.fullmatch("First [1]. Second [3].")
    assert not pattern.fullmatch("No marker at all.")
    assert not pattern.fullmatch("Wrong passage [4].")


def test_marker_regex_needs_a_chunk():
    with pytest.raises(ValueError):
        marker_regex(0)


def test_a_citation_names_the_source_file_never_the_servers_folder():
    chunk = _chunks(1)[0].model_copy(update={"source": "/srv/team/kb/guides/setup.md"})
    assert resolve_citations("Fact [1].", [chunk]).citations[0].url == "setup.md"
    web = chunk.model_copy(update={"url": "https://help.example.com/setup"})
    assert (
        resolve_citations("Fact [1].", [web]).citations[0].url == "https://help.example.com/setup"
    )
