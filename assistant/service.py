"""The assistant as one object: the store, the model, the graph and the threads it owns."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any, Self

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from assistant.embedder import load_embedder
from assistant.errors import InputError
from assistant.graphs.builder import build_graph
from assistant.graphs.nodes import GraphDeps
from assistant.graphs.state import new_turn
from assistant.llm.gateway import build_chat_model
from assistant.llm.lora import SHIPPED_ADAPTERS_DIR, available_adapters
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
        adapters = available_adapters(settings.adapters_dir or SHIPPED_ADAPTERS_DIR)
        deps = GraphDeps.over(store, model, settings, adapters=adapters)
        self.graph = build_graph(deps, checkpointer)

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
        """Run one turn. A new thread is started when `thread_id` is None.

        A thread handed to a human waits for `resume`; asking on it first is refused.
        """
        text = check_question(question, self.settings.max_question_chars)
        thread = thread_id or uuid.uuid4().hex
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        if self._waiting_for_human(config):
            raise InputError(f"thread {thread} waits for a human's reply (resume it first)")
        state = self.graph.invoke(new_turn(text, tenant or self.settings.tenant), config)
        return self._answer(state, thread)

    def resume(self, thread_id: str, reply: str) -> Answer:
        """Continue a thread handed to a human with that human's reply."""
        text = check_question(reply, self.settings.max_question_chars)
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        if not self._waiting_for_human(config):
            raise InputError(f"thread {thread_id} is not waiting for a human's reply")
        return self._answer(self.graph.invoke(Command(resume=text), config), thread_id)

    def _waiting_for_human(self, config: RunnableConfig) -> bool:
        return "await_human" in self.graph.get_state(config).next

    @staticmethod
    def _answer(state: dict[str, Any], thread: str) -> Answer:
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
