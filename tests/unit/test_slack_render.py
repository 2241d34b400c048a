"""How answers look in Slack: mrkdwn, numbered source links, the buttons and the hand-off."""

from __future__ import annotations

import re

from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, SectionBlock

from assistant.interfaces.api.http_models import THREAD_ID_PATTERN
from assistant.interfaces.slack import render
from assistant.interfaces.slack.handoff import HandOff
from assistant.interfaces.slack.payloads import without_mention
from assistant.interfaces.slack.thread_keys import ButtonValue, SlackThread
from assistant.schemas import Action, Answer, ChatTurn, Citation, Outcome

THREAD = SlackThread(team="T1", channel="C1", thread_ts="1712345678.000100")
BUTTONS = ButtonValue(thread=THREAD, turn=0, outcome=Outcome.ANSWERED)


def citation(n: int, *, title: str = "Refunds", url: str = "") -> Citation:
    return Citation(n=n, doc_id=f"doc-{n}", chunk_id=f"c{n}", title=title, url=url)


def answer(text: str = "Refunds take five days [1].", **fields: object) -> Answer:
    values: dict[str, object] = {"outcome": Outcome.ANSWERED, "action": Action.RETRIEVE}
    return Answer.model_validate({"text": text, **values, **fields})


def texts(blocks: list[Block]) -> list[str]:
    found = []
    for block in blocks:
        if isinstance(block, SectionBlock) and block.text is not None:
            found.append(block.text.text)
        if isinstance(block, ContextBlock):
            found.extend(e.text for e in block.elements)
    return found


def action_ids(blocks: list[Block]) -> list[str]:
    return [e.action_id for b in blocks if isinstance(b, ActionsBlock) for e in b.elements]


def test_a_source_with_a_web_url_is_a_slack_link_with_its_marker_number() -> None:
    line = render.citation_line(citation(2, url="https://help.example.com/refunds"))
    assert line == "[2] <https://help.example.com/refunds|Refunds>"


def test_a_source_without_a_web_url_shows_its_path() -> None:
    assert (
        render.citation_line(citation(1, url="docs/refunds.md"))
        == "[1] Refunds (`docs/refunds.md`)"
    )
    assert render.citation_line(citation(1, title="", url="")) == "[1] doc-1"


def test_link_syntax_cannot_be_broken_by_a_title_or_url() -> None:
    line = render.citation_line(
        citation(1, title="Fees <& charges>", url="https://x.example/a?b=1&c=2|3")
    )
    assert line == "[1] <https://x.example/a?b=1&amp;c=2%7C3|Fees &lt;&amp; charges&gt;>"


def test_sources_are_listed_in_marker_order_under_the_answer() -> None:
    cited = answer(
        "A [2]. B [1].",
        citations=[citation(2, title="Second"), citation(1, title="First")],
    )
    shown = texts(render.answer_blocks(cited, BUTTONS, can_escalate=True))
    assert shown[0] == "A [2]. B [1]."
    assert shown[1] == "*Sources*\n[1] First\n[2] Second"


def test_answer_text_is_escaped_so_it_cannot_ping_or_link() -> None:
    shown = texts(
        render.answer_blocks(answer("Use <!channel> & <x> [1]."), BUTTONS, can_escalate=True)
    )
    assert shown[0] == "Use &lt;!channel&gt; &amp; &lt;x&gt; [1]."


def test_a_humans_reply_keeps_its_slack_markup() -> None:
    reply = answer("Hi <@U123>, see <https://x.example|this>.", outcome=Outcome.HUMAN_REPLY)
    shown = texts(render.answer_blocks(reply, BUTTONS, can_escalate=True))
    assert shown[0] == "Hi <@U123>, see <https://x.example|this>."
    assert "support team" in shown[-1]


def test_answers_carry_escalate_and_thumbs_buttons_naming_their_turn() -> None:
    blocks = render.answer_blocks(answer(), BUTTONS, can_escalate=True)
    assert action_ids(blocks) == ["escalate", "rate_up", "rate_down"]
    actions = next(b for b in blocks if isinstance(b, ActionsBlock))
    assert {ButtonValue.model_validate_json(e.value) for e in actions.elements} == {BUTTONS}


def test_without_an_escalation_channel_there_is_no_escalate_button() -> None:
    blocks = render.answer_blocks(answer(), BUTTONS, can_escalate=False)
    assert action_ids(blocks) == ["rate_up", "rate_down"]


def test_a_hand_over_message_has_no_buttons_and_says_a_person_replies_here() -> None:
    handed = answer("I am handing this over.", outcome=Outcome.ESCALATED)
    blocks = render.answer_blocks(handed, BUTTONS, can_escalate=True)
    assert action_ids(blocks) == []
    assert "reply in this thread" in texts(blocks)[-1]


def test_removing_the_escalate_button_keeps_the_answer_and_the_thumbs() -> None:
    posted = render.answer_blocks(answer(citations=[citation(1)]), BUTTONS, can_escalate=True)
    # As Slack echoes them back in a click: JSON, parsed again.
    echoed = Block.parse_all([b.to_dict() for b in posted])
    kept = render.without_escalate(echoed, BUTTONS)
    assert texts(kept) == texts(posted)
    assert action_ids(kept) == ["rate_up", "rate_down"]


def test_a_long_answer_is_clipped_to_what_block_kit_accepts() -> None:
    blocks = render.answer_blocks(answer("x" * 5000), BUTTONS, can_escalate=True)
    assert len(texts(blocks)[0]) == render.SECTION_CHARS
    for block in blocks:
        block.validate_json()  # slack_sdk's own Block Kit limits


def test_the_hand_off_note_names_the_channel_reason_summary_and_conversation() -> None:
    note = HandOff(
        customer=THREAD,
        reason="human_requested",
        summary="Wants a refund <now>",
        transcript=[
            ChatTurn(role="user", content="Where is my refund?"),
            ChatTurn(role="assistant", content="Refunds take five days [1]."),
        ],
    )
    shown = "\n".join(texts(render.handoff_blocks(note)))
    assert "<#C1>" in shown and "the customer asked for a person" in shown
    assert "Wants a refund &lt;now&gt;" in shown
    assert "> *Customer:* Where is my refund?" in shown
    assert "> *Assistant:* Refunds take five days [1]." in shown
    assert THREAD.graph_thread_id in shown


def test_a_slack_thread_maps_to_a_graph_thread_id_the_api_accepts() -> None:
    assert THREAD.graph_thread_id == "slack:T1:C1:1712345678.000100"
    assert re.match(THREAD_ID_PATTERN, THREAD.graph_thread_id)


def test_the_bots_mention_is_taken_out_of_the_question() -> None:
    assert without_mention("<@UBOT> how do I  reset?", "UBOT") == "how do I reset?"
    assert without_mention("hey <@UBOT|bot>, help <@UOTHER>", "UBOT") == "hey , help <@UOTHER>"
    assert without_mention("<@UBOT>   ", "UBOT") == ""
    assert without_mention("<@UBOT> hi", None) == "hi"
