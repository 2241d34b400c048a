"""The turn's whole-message rules on a help center none of the heads were fitted on.

A made-up thermostat's help center (a few articles, nothing from the data sets), the real
embedder, the shipped router, small-talk head and judge, and the packaged model: a question
that reads like a goodbye is searched, small talk still gets its reply, and a vague opening
message gets a clarifying question naming articles of this help center.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant.ingestion.ingest import ingest_documents
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.schemas import Action, Document, Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer
from assistant.turn.small_talk import DEFAULT_REPLIES

pytestmark = pytest.mark.slow

TENANT = "hearth"
ARTICLES = {
    "Eco mode": (
        "Eco mode saves energy while nobody is home. When everyone leaves home, the Hearth "
        "thermostat notices that no phone is nearby and switches to the Eco temperatures: 16 °C "
        "for heating and 28 °C for cooling. When the first person comes back, it returns to "
        "the schedule. You can change the Eco temperatures in the app under Settings > Eco."
    ),
    "Set up the heating schedule": (
        "The schedule sets the temperature for each hour of the week. Open the app, tap "
        "Schedule, and drag a point to change the temperature at that time. Copy a day to other "
        "days with the Copy button. The thermostat learns from manual changes during the first "
        "week."
    ),
    "Connect the thermostat to Wi-Fi": (
        "The thermostat needs a 2.4 GHz Wi-Fi network. On the thermostat, open Settings > "
        "Network, choose your network and enter its password. If the connection fails, move the "
        "router closer or restart the thermostat by holding the ring for 10 seconds."
    ),
    "Change the temperature unit": (
        "The thermostat shows Celsius by default. To switch to Fahrenheit, open Settings > "
        "Display > Units on the thermostat, or Settings > Units in the app. The schedule is "
        "converted for you."
    ),
}


@pytest.fixture(scope="module")
def assistant(
    embedder: Embedder, chat_model: EmbeddedChatModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Assistant]:
    root = tmp_path_factory.mktemp("unseen-help-center")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=root / "data",
        qdrant_path=root / "qdrant",
        cache_dir=root / "cache",
        tenant=TENANT,
    )
    docs = [
        Document(
            doc_id=f"hearth-{n}", title=title, text=text, source=f"hearth/{n}.md", tenant=TENANT
        )
        for n, (title, text) in enumerate(ARTICLES.items(), 1)
    ]
    with KnowledgeStore.open(settings, embedder=embedder, sparse=SparseEncoder()) as store:
        store.ensure_collection()
        ingest_documents(docs, store, tenant=TENANT, max_chars=settings.chunk_max_chars)
        yield Assistant(
            settings,
            store=store,
            model=chat_model,
            checkpointer=open_checkpointer(settings.checkpoint_path),
        )


def test_a_question_that_reads_like_a_goodbye_is_searched(assistant: Assistant) -> None:
    answer = assistant.ask("What happens when everyone leaves home in Eco mode?")
    assert answer.action is Action.RETRIEVE, answer.text
    assert answer.outcome is not Outcome.ANSWERED_DIRECTLY
    assert answer.text != DEFAULT_REPLIES["goodbye"]


def test_a_request_that_reads_like_small_talk_is_searched(assistant: Assistant) -> None:
    # The shipped router replies to it, and its words but "claim" are small talk; the
    # small-talk head reads it as a fun fact at 0.51: an insurer's help center answered it with
    # "I stick to what the help center covers".
    answer = assistant.ask("I want to make a claim")
    assert answer.action is Action.RETRIEVE, answer.text
    assert answer.outcome is not Outcome.ANSWERED_DIRECTLY


def test_a_greeting_still_gets_the_greeting(assistant: Assistant) -> None:
    answer = assistant.ask("Hello!")
    assert answer.outcome is Outcome.ANSWERED_DIRECTLY
    assert answer.text == DEFAULT_REPLIES["greeting"]


@pytest.mark.parametrize("message", ["ok thanks!", "great, thank you so much"])
def test_thanks_gets_the_thanks_reply_not_a_question_about_the_articles(
    assistant: Assistant, message: str
) -> None:
    # The shipped router searched both; the search found pages and asked which one was meant.
    answer = assistant.ask(message)
    assert answer.outcome is Outcome.ANSWERED_DIRECTLY, answer.text
    assert answer.text == DEFAULT_REPLIES["thank_you"]


@pytest.mark.parametrize("message", ["it doesn't work", "How do I change it?"])
def test_a_vague_opening_message_is_asked_about_this_help_centers_articles(
    assistant: Assistant, message: str
) -> None:
    answer = assistant.ask(message)
    assert answer.outcome is Outcome.CLARIFY, answer.text
    assert any(title in answer.text for title in ARTICLES), answer.text
