"""What a turn depends on, and the one function that builds it from the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from opentelemetry.trace import Tracer

from assistant.graph import prompts
from assistant.graph.configuration import TurnConfig
from assistant.kinds import SearchMode
from assistant.knowledge.search_tool import Retriever, make_search_tool
from assistant.llm.calibration import CalibratedChooser
from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.gateway import build_chat_model
from assistant.llm.registry import AdapterRegistry
from assistant.policy import TriagePolicy
from assistant.schemas import EscalationDecision
from assistant.settings import Settings
from assistant.tracing import TracedRetriever
from assistant.triage.engines import Triage, build_triage, engine_for, policy_in_use
from assistant.triage.inference import ESCALATION_ADAPTER, decide_escalation
from assistant.triage.zero_shot import ZeroShotTriage
from assistant.turn.evidence import EvidenceReader
from assistant.turn.judgement import CosineGate, FittedJudge, Judge, open_judge
from assistant.turn.model_judge import CombinedJudge, ModelJudge
from assistant.turn.routing import FittedRouter, open_router
from assistant.turn.small_talk import SmallTalk, open_small_talk
from assistant.turn.verification import CitationVerifier

if TYPE_CHECKING:
    from assistant.knowledge.embedder import Embedder
    from assistant.knowledge.sparse import SparseEncoder

logger = logging.getLogger(__name__)

Escalation = Callable[[str, str], EscalationDecision]


class SearchIndex(Retriever, Protocol):
    """A retriever with the encoders of its knowledge base (a `KnowledgeStore`): the judge,
    the router and the citation check read text with the same ones."""

    @property
    def embedder(self) -> Embedder | None: ...

    @property
    def sparse(self) -> SparseEncoder | None: ...


@dataclass(frozen=True)
class GraphDeps:
    """What the nodes need, fixed when the graph is built; what a run chooses among them is
    its `TurnConfig` (`choices`), `defaults` unless the run's configuration says otherwise.

    `triage` and `escalation` read a message with their adapters; None where the adapter is
    not available (the graph then skips triage, and hands over with the message as summary).
    `router` decides the step (None: the base model's calibrated choice); `small_talk` replies
    to small talk (None: the model writes the reply); `judge` grades the
    search (None: the cosine gate); `reader` reads chunks for extractive
    answers of several sentences (None: the model chooses one sentence); `verifier` checks
    answer sentences against their citations (None: no check).
    """

    model: BaseChatModel
    retriever: Retriever
    defaults: TurnConfig
    triage: Triage | None = None
    # The policy `triage` reads under: what a reading that needs a human hands over for.
    triage_policy: TriagePolicy | None = None
    # Zero-shot's reading of a message the documents answered (never out of scope); None for
    # engines whose reading does not hang on a threshold.
    triage_in_scope: Triage | None = None
    escalation: Escalation | None = None
    verifier: CitationVerifier | None = None
    router: FittedRouter | None = None
    small_talk: SmallTalk | None = None
    judge: Judge | None = None
    # The served model's judgement (a server only); a run asks for it with `model_judge`.
    model_judge: ModelJudge | None = None
    reader: EvidenceReader | None = None
    # Spans of nodes and searches; None = tracing off (nothing wrapped).
    tracer: Tracer | None = None
    # Built on first use per choice: a chooser computes its content-free prior once.
    _tools: dict[tuple[int, SearchMode], BaseTool] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _deciders: dict[float, CalibratedChooser] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def choices(self, config: RunnableConfig | None) -> TurnConfig:
        """This run's choices: `defaults`, with the run's `configurable` keys that name one."""
        return TurnConfig.from_runnable_config(config, self.defaults)

    def search_tool(self, turn: TurnConfig) -> BaseTool:
        key = (turn.top_k, turn.search_mode)
        if key not in self._tools:
            self._tools[key] = make_search_tool(self.retriever, k=turn.top_k, mode=turn.search_mode)
        return self._tools[key]

    def router_for(self, turn: TurnConfig) -> FittedRouter | None:
        return self.router if turn.router == "fitted" else None

    def small_talk_for(self, turn: TurnConfig) -> SmallTalk | None:
        return self.small_talk if turn.small_talk == "fitted" else None

    def verifier_for(self, turn: TurnConfig) -> CitationVerifier | None:
        return self.verifier if turn.verify_citations != "off" else None

    def judgement(self, turn: TurnConfig) -> Judge:
        """The judge the run's choices make: the fitted judge or the cosine gate as chosen,
        made more careful by the served model's judgement when the run asks for it."""
        judge = self._fitted_judgement(turn)
        if turn.model_judge and self.model_judge is not None:
            return CombinedJudge(judge, self.model_judge)
        return judge

    def _fitted_judgement(self, turn: TurnConfig) -> Judge:
        """The judge as built, or the one the run's choices make of it: the cosine gate, the
        fitted judge without its clarify head, with another floor or other thresholds."""
        judge = self.judge or CosineGate(self.defaults.min_relevance)
        if turn.judge == "cosine" and not isinstance(judge, CosineGate):
            return CosineGate(turn.min_relevance)
        defaults = self.defaults
        chosen = ("min_relevance", "clarify", "judge_answer_at", "judge_confident_at")
        if all(getattr(turn, f) == getattr(defaults, f) for f in chosen):
            return judge
        if isinstance(judge, CosineGate):
            return CosineGate(turn.min_relevance)
        if isinstance(judge, FittedJudge):
            return judge.with_choices(
                clarify=turn.clarify,
                floor=turn.min_relevance,
                answer_at=turn.judge_answer_at,
                confident_at=turn.judge_confident_at,
            )
        return judge

    def decider(self, turn: TurnConfig) -> CalibratedChooser:
        margin = turn.decision_margin
        if margin not in self._deciders:
            self._deciders[margin] = CalibratedChooser(
                self.model,
                list(prompts.DECISION_LABELS),
                prompt(prompts.DECIDE.format(question=prompts.DECIDE_CONTENT_FREE)),
                default=prompts.DEFAULT_DECISION,
                margin=margin,
            )
        return self._deciders[margin]


def prompt(text: str) -> list[BaseMessage]:
    """A prompt of the support graph: its system message, then `text`."""
    return [SystemMessage(prompts.SYSTEM), HumanMessage(text)]


def build_deps(
    settings: Settings,
    store: SearchIndex,
    model: BaseChatModel,
    *,
    adapters: Collection[str] | None = None,
    tracer: Tracer | None = None,
) -> GraphDeps:
    """What the support graph needs, as the settings ask, over this knowledge base and model.

    The named `adapters` (`triage`, `escalation`; default: `graph_adapters`) that are
    available; the router, small-talk head and judge of the heads folder (default: the
    adapters folder) as the settings ask; the citation verifier unless the settings turn the
    check off; with the store's embedder, extractive answers of several sentences. A `tracer`
    spans the nodes and searches.
    """
    if adapters is None:
        adapters = graph_adapters(settings, model)
    embedder = store.embedder
    retriever: Retriever = TracedRetriever(store, tracer) if tracer is not None else store
    verifier = (
        CitationVerifier(embedder, store.sparse, threshold=settings.citation_support_min)
        if settings.verify_citations != "off" and embedder is not None
        else None
    )
    reader = EvidenceReader(embedder) if embedder is not None else None
    heads = settings.heads_folder
    triages = _triages(settings, adapters)
    triage = build_triage(settings, model, embedder) if triages else None
    return GraphDeps(
        model=model,
        retriever=retriever,
        defaults=TurnConfig.from_settings(settings),
        triage=triage,
        triage_in_scope=triage.in_scope if isinstance(triage, ZeroShotTriage) else None,
        triage_policy=policy_in_use(settings) if triages else None,
        escalation=partial(decide_escalation, model) if ESCALATION_ADAPTER in adapters else None,
        verifier=verifier,
        router=open_router(settings.router, heads / "router", embedder),
        small_talk=open_small_talk(
            settings.small_talk, heads / "small_talk", embedder, settings.small_talk_replies
        ),
        judge=open_judge(
            settings.judge,
            settings.judge_folder,
            reader,
            settings.min_relevance,
            clarify=settings.clarify,
            answer_at=settings.judge_answer_at,
            confident_at=settings.judge_confident_at,
        ),
        model_judge=open_model_judge(settings),
        reader=reader,
        tracer=tracer,
    )


def open_model_judge(settings: Settings) -> ModelJudge | None:
    """The served model as a judge, on a server only (the packaged 135M model reads passages no
    better than the fitted heads, and a call per search would double an embedded turn)."""
    if settings.backend != "openai":
        if settings.model_judge:
            logger.warning("ASSISTANT_MODEL_JUDGE needs ASSISTANT_BACKEND=openai; not used")
        return None
    # Its own client: a judgement with a fallback should not wait out the answer's timeout
    # and retries.
    quick = settings.model_copy(
        update={"request_timeout_s": settings.model_judge_timeout_s, "max_retries": 0}
    )
    return ModelJudge(
        build_chat_model(quick),
        lambda passages, question: prompt(
            prompts.JUDGE.format(passages=passages, question=question)
        ),
    )


def graph_adapters(settings: Settings, model: BaseChatModel) -> list[str]:
    """The adapters the turn will ask `model` for: those of the adapters folder that the
    embedded model's base was trained for, or, with a model server, those the folder names
    (the server must serve them; `/readyz` checks that it does)."""
    if isinstance(model, EmbeddedChatModel):
        return sorted(model.usable_adapters())
    return sorted(AdapterRegistry(settings.adapters_dir).folders())


def _triages(settings: Settings, adapters: Collection[str]) -> bool:
    """Whether the turn can triage: zero-shot and the classifier always can, the adapter
    engine when its adapter is available."""
    return engine_for(settings) != "adapter" or settings.triage_adapter in adapters
