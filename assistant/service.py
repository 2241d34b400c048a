"""The assistant as one object: the store, the model, the graph and the threads it owns."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Self

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver

from assistant.embedder import load_embedder
from assistant.errors import InputError
from assistant.graphs.builder import build_graph
from assistant.graphs.nodes import GraphDeps
from assistant.graphs.state import new_turn
from assistant.llm.gateway import build_chat_model
from assistant.schemas import Answer
from assistant.settings import Settings
from assistant.sparse import SparseEncoder
from assistant.store import KnowledgeStore
from assistant.threads import open_checkpointer


def open_store(settings: Settings) -> KnowledgeStore:
    """Open the knowledge base the settings name, creating its collection if needed."""
    store = KnowledgeStore.open(
        settings, embedder=load_embedder(settings.embedder), sparse=SparseEncoder()
    )
    store.ensure_collection()
    return store


def check_question(question: str, max_chars: int) -> str:
    """Return the question stripped, or raise `InputError` saying what is wrong with it."""
    text = question.strip()
    if not text:
        raise InputError("the question is empty: type what you want to know")
    if len(text) > max_chars:
        raise InputError(
            f"the question is {len(text):,} characters; the limit is {max_chars:,} "
            "(ASSISTANT_MAX_QUESTION_CHARS)"
        )
    return text


class Assistant:
    """Answers questions over one knowledge base; keeps threads on disk."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: KnowledgeStore,
        model: BaseChatModel,
        checkpointer: SqliteSaver,
    ) -> None:
        self.settings = settings
        self.store = store
        self.checkpointer = checkpointer
        self.graph = build_graph(GraphDeps.over(store, model, settings), checkpointer)

    @classmethod
    def open(cls, settings: Settings) -> Self:
        store = open_store(settings)
        try:
            model = build_chat_model(settings)
            checkpointer = open_checkpointer(settings.checkpoint_path)
        except BaseException:
            store.close()
            raise
        return cls(settings, store=store, model=model, checkpointer=checkpointer)

    def ask(
        self, question: str, *, thread_id: str | None = None, tenant: str | None = None
    ) -> Answer:
        """Run one turn. A new thread is started when `thread_id` is None."""
        text = check_question(question, self.settings.max_question_chars)
        thread = thread_id or uuid.uuid4().hex
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        state = self.graph.invoke(new_turn(text, tenant or self.settings.tenant), config)
        answer: Answer = state["answer"]
        return answer.model_copy(update={"thread_id": thread, "timings": state["timings"]})

    def close(self) -> None:
        self.checkpointer.conn.close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
