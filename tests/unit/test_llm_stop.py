"""Stop strings end a reply before them, also when a stop string straddles two pieces."""

from __future__ import annotations

from assistant.llm.stop import cut_at_stop, cut_stream_at_stop


def test_cut_at_stop_ends_before_the_earliest_stop_string() -> None:
    assert cut_at_stop("answer\nUser: more", ["User:", "\n"]) == "answer"
    assert cut_at_stop("no stop here", ["###"]) == "no stop here"


def test_cut_stream_at_stop_catches_a_stop_string_split_across_pieces() -> None:
    pieces = ["Hello wor", "ld ##", "# ignored", " more"]
    assert "".join(cut_stream_at_stop(pieces, ["###"])) == "Hello world "


def test_cut_stream_without_stop_strings_passes_everything_through() -> None:
    assert list(cut_stream_at_stop(["a", "", "b"], [])) == ["a", "b"]
    assert "".join(cut_stream_at_stop(["ab", "cd"], ["zz"])) == "abcd"
