"""How a turn's events become the streamed bodies of `/v1/chat` and `/v1/chat/completions`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from assistant.interfaces.api.http_models import StepEvent, TokenEvent
from assistant.interfaces.api.openai_schemas import ChatCompletionChunk
from assistant.interfaces.api.streaming import (
    TurnEvent,
    chat_stream,
    completion_stream,
    word_pieces,
)
from assistant.schemas import Action, Answer, Outcome


@pytest.mark.parametrize(
    "text",
    ["Refunds take five days [1].", "  leading and  double  spaces\n", "one", "", "   "],
)
def test_the_pieces_join_back_to_exactly_the_answer(text: str) -> None:
    assert "".join(word_pieces(text)) == text


def test_each_piece_is_one_word_and_the_space_after_it() -> None:
    assert word_pieces("Refunds take [1].") == ["Refunds ", "take ", "[1]."]


def answer(text: str, outcome: Outcome = Outcome.ANSWERED) -> Answer:
    return Answer(text=text, outcome=outcome, action=Action.RETRIEVE, thread_id="t-1")


async def turn(*items: TurnEvent) -> AsyncIterator[TurnEvent]:
    for item in items:
        yield item


def sent(stream: AsyncIterator[bytes]) -> list[tuple[str, str]]:
    """The (event, data) pairs `stream` sends."""

    async def collect() -> list[bytes]:
        return [part async for part in stream]

    pairs = []
    for part in asyncio.run(collect()):
        fields = dict(line.split(": ", 1) for line in part.decode().splitlines() if ": " in line)
        pairs.append((fields.get("event", ""), fields.get("data", "")))
    return pairs


def test_live_pieces_go_out_in_order_and_the_rest_follows_in_words() -> None:
    got = sent(
        chat_stream(
            turn(
                StepEvent(node="retrieve"),
                TokenEvent(text="Refunds take five days [1]."),
                StepEvent(node="generate"),
                answer("Refunds take five days [1]. Ask on the Orders page [1]."),
            )
        )
    )
    names = [name for name, _ in got]
    assert names == ["step", "token", "step", *["token"] * 7, "citations", "final"]
    tokens = [TokenEvent.model_validate_json(data).text for name, data in got if name == "token"]
    assert tokens[0] == "Refunds take five days [1]."
    assert "".join(tokens) == "Refunds take five days [1]. Ask on the Orders page [1]."


def test_a_turn_that_streamed_nothing_sends_its_answer_in_words_at_the_end() -> None:
    got = sent(chat_stream(turn(StepEvent(node="decline"), answer("No.", Outcome.DECLINED))))
    assert [name for name, _ in got] == ["step", "token", "citations", "final"]


def test_completion_chunks_carry_the_live_pieces_then_the_rest() -> None:
    got = sent(
        completion_stream(
            turn(TokenEvent(text="Refunds [1]."), answer("Refunds [1]. Then more [1].")),
            completion_id="c-1",
            model="m",
            created=0,
        )
    )
    chunks = [ChatCompletionChunk.model_validate_json(d) for _, d in got if d.startswith("{")]
    contents = [c.choices[0].delta.content for c in chunks]
    assert contents == ["", "Refunds [1].", " ", "Then ", "more ", "[1].", None]
    assert got[-1] == ("", "[DONE]")
