"""How a finished answer is cut into streamed pieces."""

from __future__ import annotations

import pytest

from assistant.api.streaming import word_pieces


@pytest.mark.parametrize(
    "text",
    ["Refunds take five days [1].", "  leading and  double  spaces\n", "one", "", "   "],
)
def test_the_pieces_join_back_to_exactly_the_answer(text: str) -> None:
    assert "".join(word_pieces(text)) == text


def test_each_piece_is_one_word_and_the_space_after_it() -> None:
    assert word_pieces("Refunds take [1].") == ["Refunds ", "take ", "[1]."]
