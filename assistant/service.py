"""The assistant as one object: the store, the model, the graph and the threads it owns."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from assistant.closing import Closing
from assistant.errors import AlreadyWithHumanError, InputError, ThreadNotFoundError
from assistant.graph.builder import build_graph, hand_over_on_request, waits_for_human
from assistant.graph.configuration import TurnConfig
from assistant.graph.deps import build_deps, graph_adapters
from assistant.graph.experiment import Experiment, Variant, load_experiment
from assistant.graph.state import new_turn
from assistant.interaction_log import (
    EscalatedBy,
    Feedback,
    InteractionLogger,
    InteractionRecord,
    open_interaction_log,
    rating_record,
    turn_record,
)
from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.gateway import build_chat_model
from assistant.schemas import Answer, Outcome
from assistant.settings import Settings
from assistant.thread_erasure import Erasure, ThreadEraser
from assistant.thread_store import (
    THREAD_SOURCES,
    ThreadLocks,
    ThreadOwner,
    ThreadSource,
    open_thread_locks,
    open_thread_store,
)
from assistant.tracing import (
    INSTRUMENTATION,
    TENANT,
    ModelCallSpans,
    open_tracer_provider,
    turn_span,
)
from assistant.triage.engines import build_triage
from assistant.turn.release import AnswerPiece

if TYPE_CHECKING:  # the store imports qdrant-client: loaded when a store is opened
    from assistant.knowledge.store import KnowledgeStore

logger = logging.getLogger(__name__)


def open_store(settings: Settings) -> KnowledgeStore:
    """Open the knowledge base the settings name (`assistant.knowledge.store.open_store`)."""
    from assistant.knowledge.store import open_store as open_knowledge_store

    return open_knowledge_store(settings)


@dataclass(frozen=True)
class TurnListener:
    """Hears a turn while it runs (the API streams both)."""

    on_step: Callable[[str], None]
    """Called with a node's name each time that node of the graph finishes."""
    on_text: Callable[[str], None]
    """Called with each piece of the answer as soon as it is final. The pieces sent join to
    the start of the answer's text; none are sent when the turn ends otherwise than with an
    answer the generate node drafted (a decline, a hand-over, a direct answer)."""


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
    try:
        # A JSON escape such as \ud800 decodes to a lone surrogate, which is not text: the
        # tokenizers and the search tool's validation would fail on it deep inside the turn.
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"the question is not valid Unicode text (an unpaired surrogate at character "
            f"{exc.start + 1})"
        ) from None
    return text


def check_thread_id(thread_id: str) -> str:
    """Return `thread_id`, or raise `InputError`: a `/` would let one owner's id reach into
    another's stored ids (`ThreadOwner.key`)."""
    if not thread_id or "/" in thread_id:
        raise InputError(f"invalid thread id {thread_id!r} (no '/'; letters, digits, . _ : -)")
    return thread_id


class Assistant(Closing):
    """Answers questions over one knowledge base; keeps threads on disk.

    Every thread has one owner (`ThreadOwner`: a tenant, through the API or through Slack),
    part of the id the store keys it by. A turn, a resume, a hand-over and a rating each hold
    the thread's lock (`ThreadLocks`) from the owner check to the write, so replicas sharing a
    thread store change a thread one at a time and nobody else's request slips in between.
    With a `tracer_provider`, each is a `turn` span over its nodes, model calls and searches.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: KnowledgeStore,
        model: BaseChatModel,
        checkpointer: BaseCheckpointSaver[Any],
        interaction_log: InteractionLogger | None = None,
        thread_locks: ThreadLocks | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.model = model
        self.checkpointer = checkpointer
        self.thread_locks = thread_locks or open_thread_locks(settings)
        # Every turn is logged here (see `_answer`), and the API's and the Slack bot's
        # ratings too, so that one log holds both; by default the one the settings name.
        self.interaction_log = interaction_log or open_interaction_log(settings)
        self.adapters = graph_adapters(settings, model)
        self.tracer_provider = tracer_provider
        self.tracer = tracer_provider.get_tracer(INSTRUMENTATION) if tracer_provider else None
        # Only when tracing: a callback in every run costs LangChain a callback manager per call.
        self._callbacks: list[BaseCallbackHandler] = (
            [ModelCallSpans(self.tracer)] if self.tracer else []
        )
        deps = build_deps(settings, store, model, adapters=self.adapters, tracer=self.tracer)
        # triage-batch --answer and /v1/triage read tickets with the turn's own engine.
        self.triage = deps.triage or build_triage(settings, model)
        self.graph = build_graph(deps, checkpointer)
        days = settings.thread_retention_days
        self.eraser = ThreadEraser(
            checkpointer,  # type: ignore[arg-type]
            self.thread_locks,
            self.interaction_log,
            retention=timedelta(days=days) if days else None,
        )
        # Per-turn choices (`TurnConfig` keys) every run of this one makes; see `choosing`.
        self._choices: dict[str, object] = {}
        # The A/B experiment: each thread's variant is a set of choices on this same graph.
        self.experiment: Experiment | None = None
        if settings.experiment is not None:
            self.experiment = load_experiment(settings.experiment)
            self.experiment.check(TurnConfig.from_settings(settings))
        self._owns_tracing = False

    @classmethod
    def open(cls, settings: Settings, *, tracer_provider: TracerProvider | None = None) -> Self:
        """The assistant the settings describe. Without a `tracer_provider`, the settings'
        (`ASSISTANT_OTLP_ENDPOINT`) is made, and shut down (flushed) when this one closes."""
        store = open_store(settings)
        checkpointer = None
        owned = tracer_provider is None
        provider = open_tracer_provider(settings) if owned else tracer_provider
        try:
            model = build_chat_model(settings)
            checkpointer = open_thread_store(settings)
            opened = cls(
                settings,
                store=store,
                model=model,
                checkpointer=checkpointer,
                tracer_provider=provider,
            )
            opened._owns_tracing = owned
            opened.eraser.prune_expired()
            return opened
        except BaseException:
            # A bad setting found late (e.g. the interaction log's redactor) leaves nothing open.
            if checkpointer is not None:
                checkpointer.conn.close()
            store.close()
            raise

    def owner(self, tenant: str | None = None, via: ThreadSource = "api") -> ThreadOwner:
        """The owner of a caller's threads: its tenant (the settings' by default), through the
        API or through Slack."""
        return ThreadOwner(tenant=tenant or self.settings.tenant, via=via)

    def ask(
        self,
        question: str,
        *,
        thread_id: str | None = None,
        tenant: str | None = None,
        via: ThreadSource = "api",
        user: str | None = None,
        listener: TurnListener | None = None,
    ) -> Answer:
        """Run one turn. A new thread is started when `thread_id` is None, or names no thread
        of this owner (`tenant` through `via`): another owner's thread of the same name is
        another thread, never seen nor waited for.

        A thread handed to a human waits for `resume`; asking on it first is refused.
        `user` names the end user the thread is about (kept with the thread and its log rows,
        for erasure); a turn without one keeps the thread's. `listener` hears each node as it
        finishes and the answer's pieces as they are final.
        """
        started = time.perf_counter()
        text = check_question(question, self.settings.max_question_chars)
        thread = check_thread_id(thread_id or uuid.uuid4().hex)
        owner = self.owner(tenant, via)
        config = self._config(owner.key(thread), thread, user=user)
        with turn_span(self.tracer, thread, owner.tenant, self.variant_name(thread)):
            with self.thread_locks.hold(owner.key(thread)):
                self._owned_state(owner, thread)
                if waits_for_human(self.graph, config):
                    raise AlreadyWithHumanError(
                        f"thread {thread} waits for a human's reply (resume it first)"
                    )
                state = self._run(new_turn(text, owner.tenant, user), config, listener)
            return self._answer(state, thread, owner, started=started)

    def resume(
        self,
        thread_id: str,
        reply: str,
        *,
        tenant: str | None = None,
        via: ThreadSource = "api",
        listener: TurnListener | None = None,
    ) -> Answer:
        """Continue a thread handed to a human with that human's reply. Raises
        `ThreadNotFoundError` when the owner has no such thread."""
        started = time.perf_counter()
        text = check_question(reply, self.settings.max_question_chars)
        owner = self.owner(tenant, via)
        config = self._config(owner.key(check_thread_id(thread_id)), thread_id)
        with turn_span(self.tracer, thread_id, owner.tenant, self.variant_name(thread_id)):
            with self.thread_locks.hold(owner.key(thread_id)):
                if not self._owned_state(owner, thread_id):
                    raise ThreadNotFoundError(f"no thread {thread_id!r}")
                if not waits_for_human(self.graph, config):
                    raise InputError(f"thread {thread_id} is not waiting for a human's reply")
                state = self._run(Command(resume=text), config, listener)
            return self._answer(state, thread_id, owner, started=started)

    def hand_over(
        self, thread_id: str, *, tenant: str | None = None, via: ThreadSource = "api"
    ) -> Answer:
        """Hand a thread whose turn has ended to a human, at the customer's request.

        The thread then waits for `resume`, exactly as after a hand-over the model chose.
        Raises `ThreadNotFoundError` for a thread the owner does not have and
        `AlreadyWithHumanError` when it is with a human already (another replica's click of
        the same button included).
        """
        started = time.perf_counter()
        owner = self.owner(tenant, via)
        key = owner.key(check_thread_id(thread_id))
        config = self._config(key, thread_id)
        with turn_span(self.tracer, thread_id, owner.tenant, self.variant_name(thread_id)):
            with self.thread_locks.hold(key):
                values = self._owned_state(owner, thread_id)
                if not values:
                    raise ThreadNotFoundError(f"no thread {thread_id!r}")
                if waits_for_human(self.graph, config):
                    raise AlreadyWithHumanError(f"thread {thread_id} is already with a human")
                hand_over_on_request(self.graph, config, str(values.get("question")))
                state = self._state(key)
            return self._answer(state, thread_id, owner, escalated_by="customer", started=started)

    def rate(
        self,
        thread_id: str,
        rating: Feedback,
        *,
        tenant: str | None = None,
        via: ThreadSource = "api",
        turn: int | None = None,
        comment: str | None = None,
        outcome: Outcome | None = None,
    ) -> InteractionRecord:
        """Log a rating of the `turn`-th answer of a thread (its latest when None), beside the
        turn it rates. Raises `ThreadNotFoundError` when the owner's thread has no such answer
        (or the owner no such thread)."""
        owner = self.owner(tenant, via)
        with self.thread_locks.hold(owner.key(check_thread_id(thread_id))):
            record = rating_record(
                self._owned_state(owner, thread_id),
                thread_id=thread_id,
                rating=rating,
                turn=turn,
                comment=comment,
                outcome=outcome,
                at=datetime.now(UTC),
                via=owner.via,
                variant=self.variant_name(thread_id),
            )
            if record is None:
                which = "no answered turn" if turn is None else f"no answer {turn}"
                raise ThreadNotFoundError(f"{which} in thread {thread_id!r}")
            self.interaction_log.append(record)
        return record

    def forget_thread(
        self, thread_id: str, *, tenant: str | None = None, via: ThreadSource = "api"
    ) -> Erasure:
        """Delete the owner's thread and its interaction-log rows (`ThreadNotFoundError` when
        the owner has no such thread)."""
        return self.eraser.forget_thread(self.owner(tenant, via), check_thread_id(thread_id))

    def forget_user(
        self, user: str, *, tenant: str | None = None, via: ThreadSource | None = "api"
    ) -> Erasure:
        """Delete every thread of end user `user` of the tenant, through `via` (both the API's
        and Slack's when None), and every interaction-log row of theirs."""
        vias = THREAD_SOURCES if via is None else (via,)
        return self.eraser.forget_user(user, [self.owner(tenant, v) for v in vias])

    @property
    def needs_exclusive_use(self) -> bool:
        """Whether calls into this assistant must run one at a time.

        The embedded store runs one call at a time anyway (Qdrant Edge holds the GIL through a
        call; local mode is not thread-safe), and the embedded model keeps the active LoRA
        adapter as model state. A model server (vLLM) with a Qdrant server takes concurrent
        requests; both checkpointers (SQLite, PostgreSQL) serialise themselves with a lock.
        """
        local_store = self.settings.qdrant_url is None
        return local_store or isinstance(self.model, EmbeddedChatModel)

    def waiting_for_human(
        self, thread_id: str, *, tenant: str | None = None, via: ThreadSource = "api"
    ) -> bool:
        """Whether the owner's thread is handed over and waits for `resume`."""
        key = self.owner(tenant, via).key(check_thread_id(thread_id))
        return waits_for_human(self.graph, {"configurable": {"thread_id": key}})

    def sharing(self, settings: Settings) -> Assistant:
        """Another assistant over this one's store, model, threads and log, with `settings`
        (what they load: a policy, adapters, heads; a choice of the turn needs no other graph,
        see `choosing`). Closing it is closing this one."""
        return Assistant(
            settings,
            store=self.store,
            model=self.model,
            checkpointer=self.checkpointer,
            interaction_log=self.interaction_log,
            thread_locks=self.thread_locks,
            tracer_provider=self.tracer_provider,
        )

    def choosing(self, choices: Mapping[str, object]) -> Assistant:
        """This assistant with other choices of the turn (`TurnConfig`'s keys: the
        evaluation's A/B variants), made per run on the same graph, store, model, threads and
        log. Closing it is closing this one. A key that is no such choice, or a bad value,
        raises here rather than in a turn."""
        unknown = sorted(set(choices) - set(TurnConfig.model_fields))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a choice of the turn (TurnConfig)")
        merged = {**self._choices, **choices}
        TurnConfig.from_runnable_config(
            {"configurable": merged}, TurnConfig.from_settings(self.settings)
        )
        chosen = copy.copy(self)
        chosen._choices = merged
        # Chosen choices hold for every thread: no experiment splits them (nor labels them).
        chosen.experiment = None
        chosen._owns_tracing = False
        return chosen

    def judged_by(self, judge_dir: Path) -> Assistant:
        """This assistant with the judge heads of `judge_dir` (a candidate judge, e.g. refitted
        from the log), on the same store, model, threads and log: a second graph, not a
        per-run choice, since the judge is loaded with the graph. Close only this one."""
        return Assistant(
            self.settings.model_copy(update={"judge_dir": judge_dir}),
            store=self.store,
            model=self.model,
            checkpointer=self.checkpointer,
            interaction_log=self.interaction_log,
            thread_locks=self.thread_locks,
        )

    def thread_values(
        self, thread_id: str, *, tenant: str | None = None, via: ThreadSource = "api"
    ) -> dict[str, Any]:
        """The saved state of the owner's thread (`SupportState` keys); empty when the owner
        has no such thread. Read without the lock: for showing, not for deciding."""
        if "/" in thread_id:
            return {}  # no client's id (`check_thread_id`)
        try:
            return self._owned_state(self.owner(tenant, via), thread_id)
        except ThreadNotFoundError:
            return {}

    def _state(self, key: str) -> dict[str, Any]:
        config: RunnableConfig = {"configurable": {"thread_id": key}}
        return dict(self.graph.get_state(config).values)

    def variant(self, thread_id: str) -> Variant | None:
        """The experiment's variant of the thread (the same in every replica and interface:
        the public thread id decides it); None without an experiment."""
        return self.experiment.assign(thread_id) if self.experiment is not None else None

    def variant_name(self, thread_id: str) -> str | None:
        variant = self.variant(thread_id)
        return variant.name if variant is not None else None

    def _owned_state(self, owner: ThreadOwner, thread_id: str) -> dict[str, Any]:
        """The state stored under the owner's key (empty for a new thread). Its tenant is the
        owner's but in a tampered or mis-migrated store: then `ThreadNotFoundError`, exactly
        as for another owner's thread."""
        values = self._state(owner.key(thread_id))
        if values and values.get("tenant") not in (None, owner.tenant):
            logger.error("thread %s is stored under another tenant's key", owner.key(thread_id))
            raise ThreadNotFoundError(f"no thread {thread_id!r}")
        return values

    def _config(self, key: str, thread_id: str, *, user: str | None = None) -> RunnableConfig:
        """The run's config: the thread's stored `key`, and the choices of its experiment
        variant (from the public `thread_id`) under this assistant's own."""
        variant = self.variant(thread_id)
        arm = variant.choices if variant is not None else {}
        config: RunnableConfig = {"configurable": {**arm, **self._choices, "thread_id": key}}
        if user is not None:
            # Checkpoint metadata: erasure finds a user's threads by it (`threads_of_user`).
            config["metadata"] = {"user": user}
        if self._callbacks:
            config["callbacks"] = self._callbacks
        return config

    def _run(
        self, graph_input: Any, config: RunnableConfig, listener: TurnListener | None
    ) -> dict[str, Any]:
        if listener is None:
            return dict(self.graph.invoke(graph_input, config))
        # "updates" yields {node: update} as each node ends, "custom" what a node writes while
        # it runs (the answer's pieces); the state is read back after, since an interrupt
        # (hand-over) ends the stream without a final value.
        for mode, chunk in self.graph.stream(
            graph_input, config, stream_mode=["updates", "custom"]
        ):
            if mode == "custom" and isinstance(chunk, AnswerPiece):
                listener.on_text(chunk.text)
            elif mode == "updates":
                for node in chunk:
                    if not node.startswith("__"):  # "__interrupt__" is not a node
                        listener.on_step(node)
        return self._state(str(config["configurable"]["thread_id"]))

    def _answer(
        self,
        state: dict[str, Any],
        thread: str,
        owner: ThreadOwner,
        *,
        started: float,
        escalated_by: EscalatedBy = "assistant",
    ) -> Answer:
        """The turn's answer, logged: every turn (ask, resume, hand-over) ends here."""
        answer: Answer = state["answer"]
        variant = self.variant_name(thread)
        answer = answer.model_copy(
            update={"thread_id": thread, "timings": state["timings"], "variant": variant}
        )
        if self.tracer is not None:
            span = trace.get_current_span()
            span.set_attribute(TENANT, str(state.get("tenant", "")))
            span.set_attribute("assistant.outcome", answer.outcome.value)
        try:
            self.interaction_log.append(
                turn_record(
                    state,
                    answer,
                    thread_id=thread,
                    escalated_by=escalated_by,
                    at=datetime.now(UTC),
                    via=owner.via,
                    variant=variant,
                    latency_ms=round((time.perf_counter() - started) * 1000, 1),
                )
            )
        except Exception:
            # The log feeds the next training set; failing to write it must not fail the
            # customer's turn.
            logger.exception("could not log the turn of thread %s", thread)
        self.eraser.sweep_if_due()
        return answer

    def close(self) -> None:
        # Both SqliteSaver and PostgresSaver hold their connection as `conn`.
        self.checkpointer.conn.close()  # type: ignore[attr-defined]
        self.store.close()
        self.interaction_log.close()
        if self._owns_tracing and self.tracer_provider is not None:
            # The SDK's provider flushes its batch of spans on shutdown (the API has none).
            getattr(self.tracer_provider, "shutdown", lambda: None)()
