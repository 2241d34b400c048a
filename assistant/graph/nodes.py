"""The nodes of the support graph, one job each. `graphs/builder.py` wires them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
)
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.types import Command, interrupt
from opentelemetry.trace import Tracer

from assistant.graph import prompts
from assistant.graph.state import SupportState
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.search_tool import TOOL_NAME, Retriever, make_search_tool
from assistant.llm.calibration import CalibratedChooser
from assistant.llm.errors import ModelOutputError
from assistant.llm.gateway import choose, complete, stream
from assistant.policy import EscalationReason
from assistant.schemas import (
    Action,
    Answer,
    EscalationDecision,
    Outcome,
    RetrievedChunk,
    TriageResult,
)
from assistant.settings import Settings
from assistant.tracing import TracedRetriever
from assistant.triage.engines import build_triage
from assistant.triage.inference import ESCALATION_ADAPTER, decide_escalation
from assistant.triage.prompts import NO_CONTEXT
from assistant.turn.answer_candidates import answer_candidates
from assistant.turn.citations import marker_regex, resolve_citations
from assistant.turn.clarification import clarifying_question
from assistant.turn.evidence import EvidenceReader
from assistant.turn.extraction import extractive_answer
from assistant.turn.judgement import CosineGate, Judge, open_judge
from assistant.turn.release import Released, release
from assistant.turn.routing import FittedRouter, open_router
from assistant.turn.small_talk import SmallTalk, open_small_talk
from assistant.turn.verification import CitationVerifier

Update = dict[str, Any]

MAX_QUERY_CHARS = 300
SUMMARY_CHARS = 400
HISTORY_TURNS = 4


Triage = Callable[[str], TriageResult]
Escalation = Callable[[str, str], EscalationDecision]


@dataclass(frozen=True)
class GraphDeps:
    """What the nodes need, fixed when the graph is built.

    `triage` and `escalation` read a message with their adapters; None where the adapter is
    not available (the graph then skips triage, and hands over with the message as summary).
    `router` decides the step (None: the base model's calibrated choice); `small_talk` replies
    to small talk (None: the model writes the reply); `judge` grades the
    search (None: the cosine gate of the settings); `reader` reads chunks for extractive
    answers of several sentences (None: the model chooses one sentence).
    """

    model: BaseChatModel
    search_tool: BaseTool
    settings: Settings
    triage: Triage | None = None
    escalation: Escalation | None = None
    verifier: CitationVerifier | None = None
    router: FittedRouter | None = None
    small_talk: SmallTalk | None = None
    judge: Judge | None = None
    reader: EvidenceReader | None = None
    # Spans of nodes and searches; None = tracing off (nothing wrapped).
    tracer: Tracer | None = None

    @classmethod
    def over(
        cls,
        retriever: Retriever,
        model: BaseChatModel,
        settings: Settings,
        *,
        adapters: Collection[str] = (),
        verifier: CitationVerifier | None = None,
        embedder: Embedder | None = None,
        heads_dir: Path | None = None,
        tracer: Tracer | None = None,
    ) -> GraphDeps:
        """Deps that search `retriever` with the settings' top-k and mode, and use the named
        `adapters` (`triage`, `escalation`) that are available; `verifier` checks answer
        sentences against their citations unless the settings turn that off. With the
        knowledge base's `embedder`, the router and judge fitted in `heads_dir` (as the
        settings ask) and extractive answers of several sentences. A `tracer` spans the
        nodes and searches."""
        if tracer is not None:
            retriever = TracedRetriever(retriever, tracer)
        tool = make_search_tool(retriever, k=settings.top_k, mode=settings.search_mode)
        reader = EvidenceReader(embedder) if embedder is not None else None
        heads = heads_dir or Path()
        return cls(
            model=model,
            search_tool=tool,
            settings=settings,
            triage=build_triage(settings, model) if _triages(settings, adapters) else None,
            escalation=(
                partial(decide_escalation, model) if ESCALATION_ADAPTER in adapters else None
            ),
            verifier=verifier if settings.verify_citations != "off" else None,
            router=open_router(settings.router, heads / "router", embedder),
            small_talk=open_small_talk(
                settings.small_talk, heads / "small_talk", embedder, settings.small_talk_replies
            ),
            judge=open_judge(
                settings.judge,
                heads / "judge",
                reader,
                settings.min_relevance,
                clarify=settings.clarify,
            ),
            reader=reader,
            tracer=tracer,
        )

    @cached_property
    def judgement(self) -> Judge:
        return self.judge or CosineGate(self.settings.min_relevance)

    @cached_property
    def decider(self) -> CalibratedChooser:
        return CalibratedChooser(
            self.model,
            list(prompts.DECISION_LABELS),
            _prompt(prompts.DECIDE.format(question=prompts.DECIDE_CONTENT_FREE)),
            default=prompts.DEFAULT_DECISION,
            margin=self.settings.decision_margin,
        )


def _triages(settings: Settings, adapters: Collection[str]) -> bool:
    """Whether the turn can triage: the classifier always can, the adapter engine when its
    adapter is available."""
    return settings.triage_engine == "classifier" or settings.triage_adapter in adapters


def triage(state: SupportState, *, deps: GraphDeps) -> Update:
    """Read the message with the triage adapter; a reply that fails validation (after the
    adapter's own repair) leaves the turn untriaged rather than failing it."""
    if deps.triage is None:
        return {"triage": None}
    try:
        return {"triage": deps.triage(state["question"])}
    except ModelOutputError:
        return {"triage": None}


def decide(state: SupportState, *, deps: GraphDeps) -> Update:
    """Pick the next step among a fixed set: the fitted router, or the model's constrained
    choice. A search (and a clarifying question, which names what a search finds) starts
    with the question after the previous user turn: follow-up questions lean on it."""
    if deps.router is not None:
        label = deps.router.route(state["question"], _previous_question(state))
    else:
        label = deps.decider.choose(_prompt(prompts.DECIDE.format(question=state["question"])))
    action = prompts.DECISION_LABELS[label]
    update: Update = {"action": action}
    if action in (Action.RETRIEVE, Action.CLARIFY):
        update["queries"] = [_search_query(state)]
    return update


def retrieve(state: SupportState, *, deps: GraphDeps) -> Update:
    """Run the search tool on the latest query, for the turn's tenant only."""
    call = ToolCall(
        name=TOOL_NAME,
        args={"query": state["queries"][-1], "tenant": state["tenant"]},
        id=f"call_{uuid.uuid4().hex[:12]}",
        type="tool_call",
    )
    result = deps.search_tool.invoke(call)
    chunks: list[RetrievedChunk] = list(result.artifact or [])
    return {"chunks": chunks}


def grade(state: SupportState, *, deps: GraphDeps) -> Update:
    """Judge whether the search answers the question in its conversation, and keep the
    chunks that do; none kept means the generator is never called for this search. A
    question the judge finds too vague turns the step into a clarifying question."""
    chunks = state["chunks"]
    judgement = deps.judgement.judge(state["question"], _previous_question(state), chunks)
    if judgement.clarify:
        return {"relevant": [], "action": Action.CLARIFY}
    return {"relevant": [chunks[i] for i in judgement.kept] if judgement.answerable else []}


def rewrite(state: SupportState, *, deps: GraphDeps) -> Update:
    """Ask the model for a better query; fall back to the question in its conversation."""
    history = _history_text(state)
    text = complete(
        deps.model,
        _prompt(
            prompts.REWRITE.format(
                history=history or "(none)",
                question=state["question"],
                query=state["queries"][-1],
            )
        ),
    )
    query = text.strip().splitlines()[0].strip(" \"'") if text.strip() else ""
    if not query or query in state["queries"]:
        query = f"{_last_user_turns(state)} {state['question']}".strip()
    return {"queries": [query[:MAX_QUERY_CHARS]]}


def generate(state: SupportState, *, deps: GraphDeps) -> Update:
    """Answer over the numbered relevant chunks; every sentence ends in its [n] marker.

    `extractive`: passage sentences of the kept chunks up to `answer_words` words
    (`assistant.turn.extraction`); with 1, the model chooses the sentence, marker included (a
    constrained choice). `generative`: the model writes, under a regex that demands a marker
    per sentence. The draft is released as it comes (`assistant.turn.release`): each sentence
    checked against what it cites, unless the settings turn that off, and each final piece written
    to the graph's custom stream, so a streaming caller shows it before the turn ends.
    """
    released = release(
        _draft(state, deps),
        state["relevant"],
        deps.verifier,
        remove=deps.settings.verify_citations == "remove",
        show=get_stream_writer(),
    )
    return {"released": released}


def cite(state: SupportState, *, deps: GraphDeps) -> Update:
    """Turn the released answer's markers into citations; an answer citing nothing (none
    drafted, or every sentence that cited removed as unsupported) is withheld."""
    released: Released = state["released"]
    cited = resolve_citations(released.text, state["relevant"])
    checked: dict[str, Any] = {
        "removed_citations": released.removed_citations,
        "unsupported_sentences": released.unsupported,
    }
    if not cited.citations:
        return _finish(state, prompts.DECLINE, Outcome.DECLINED, **checked)
    return _finish(state, cited.text, Outcome.ANSWERED, citations=cited.citations, **checked)


def answer_directly(state: SupportState, *, deps: GraphDeps) -> Update:
    """Small talk: the reply written for what the message is, or the model's."""
    if deps.small_talk is not None:
        return _finish(state, deps.small_talk.reply(state["question"]), Outcome.ANSWERED_DIRECTLY)
    text = complete(deps.model, _prompt(prompts.ANSWER_DIRECTLY.format(question=state["question"])))
    return _finish(state, text.strip(), Outcome.ANSWERED_DIRECTLY)


def clarify(state: SupportState, *, deps: GraphDeps) -> Update:
    """Ask about what the search found (the documents it could be about); with nothing found,
    the model writes the question."""
    text = (
        clarifying_question(state.get("chunks", []))
        or complete(deps.model, _prompt(prompts.CLARIFY.format(question=state["question"]))).strip()
    )
    return _finish(state, text, Outcome.CLARIFY)


def decline(state: SupportState, *, deps: GraphDeps) -> Update:
    """Nothing relevant was found: say so, without calling the generator."""
    return _finish(state, prompts.DECLINE, Outcome.DECLINED)


def escalate(state: SupportState, *, deps: GraphDeps) -> Command[str]:
    """The escalation adapter decides, with the reason and the hand-off note a human reads."""
    searched = bool(state.get("queries"))
    if deps.escalation is None:
        reason: EscalationReason = "unanswerable" if searched else "human_requested"
        decision = EscalationDecision(
            escalate=True, reason=reason, summary=state["question"][:SUMMARY_CHARS]
        )
    else:
        context = prompts.NO_ANSWER_CONTEXT if searched else NO_CONTEXT
        try:
            decision = deps.escalation(state["question"], context)
        except ModelOutputError:
            decision = EscalationDecision(
                escalate=True, reason="unresolved", summary=state["question"][:SUMMARY_CHARS]
            )
    if decision.escalate:
        return Command(update={"escalation": decision}, goto="hand_over")
    if searched:
        return Command(update={"escalation": decision}, goto="decline")
    # The adapter overrules the decide step: look the question up instead.
    return Command(
        update={"escalation": decision, "queries": [_search_query(state)]}, goto="retrieve"
    )


def hand_over(state: SupportState, *, deps: GraphDeps) -> Update:
    """Tell the customer a human takes over; the turn's answer until the human replies."""
    return _finish(state, prompts.ESCALATE, Outcome.ESCALATED)


def await_human(state: SupportState, *, deps: GraphDeps) -> Update:
    """Pause the thread until a human replies (LangGraph interrupt); their reply is the answer.

    The interrupt's value is what the human sees: the question and the hand-off note.
    """
    decision = state.get("escalation")
    reply = interrupt(
        {
            "question": state["question"],
            "reason": decision.reason if decision else "unresolved",
            "summary": decision.summary if decision else "",
        }
    )
    return _finish(state, str(reply), Outcome.HUMAN_REPLY)


# --- routing -------------------------------------------------------------------------


def route_decision(state: SupportState) -> str:
    return {
        Action.RETRIEVE: "retrieve",
        Action.ANSWER: "answer_directly",
        # A clarifying question names what a search finds, so it searches first.
        Action.CLARIFY: "retrieve",
        Action.ESCALATE: "escalate",
    }[state["action"]]


def route_after_retrieve(state: SupportState) -> str:
    return "clarify" if state["action"] is Action.CLARIFY else "grade"


def route_after_grade(state: SupportState, *, deps: GraphDeps) -> str:
    if state["action"] is Action.CLARIFY:
        return "clarify"
    if state["relevant"]:
        return "generate"
    if len(state["queries"]) <= deps.settings.max_rewrites:
        return "rewrite"
    return deps.settings.no_answer_action


# --- helpers ---------------------------------------------------------------------------


def _draft(state: SupportState, deps: GraphDeps) -> Iterator[str]:
    """The answer's draft in pieces: whole when chosen, as the model writes it otherwise."""
    chunks = state["relevant"]
    extractive = deps.settings.answer_mode == "extractive"
    if extractive and deps.reader is not None and deps.settings.answer_sentences > 1:
        evidence = deps.reader.read(state["question"], _previous_question(state), chunks)
        settings = deps.settings
        if draft := extractive_answer(evidence, settings.answer_sentences, settings.answer_words):
            yield draft
            return
    passages = prompts.format_passages([(c.title or c.section, c.text) for c in chunks])
    messages = _prompt(prompts.GENERATE.format(passages=passages, question=state["question"]))
    candidates = answer_candidates(chunks)
    if extractive and candidates:
        yield choose(deps.model, messages, candidates)
        return
    yield from stream(deps.model, messages, regex=marker_regex(len(chunks)))


def _prompt(text: str) -> list[BaseMessage]:
    return [SystemMessage(prompts.SYSTEM), HumanMessage(text)]


def _earlier_messages(state: SupportState) -> list[AnyMessage]:
    # The last message is this turn's question.
    return list(state.get("messages", []))[:-1][-2 * HISTORY_TURNS :]


def _history_text(state: SupportState) -> str:
    return "\n".join(
        f"{'Customer' if m.type == 'human' else 'Agent'}: {m.text}"
        for m in _earlier_messages(state)
    )


def _previous_question(state: SupportState) -> str:
    """The customer's turn before this one ('' when this one opens the conversation)."""
    users = [m.text for m in _earlier_messages(state) if m.type == "human"]
    return users[-1] if users else ""


def _search_query(state: SupportState) -> str:
    return f"{_previous_question(state)} {state['question']}".strip()


def _last_user_turns(state: SupportState) -> str:
    return " ".join(m.text for m in _earlier_messages(state) if m.type == "human")


def _finish(state: SupportState, text: str, outcome: Outcome, **fields: Any) -> Update:
    answer = Answer(
        text=text,
        outcome=outcome,
        action=state["action"],
        queries=state.get("queries", []),
        triage=state.get("triage"),
        escalation=state.get("escalation"),
        **fields,
    )
    return {"answer": answer, "messages": [AIMessage(text)]}
