"""The nodes of the support graph, one job each. `assistant/graph/builder.py` wires them.

Each takes the state, the graph's `deps` and the run's `turn` choices (`TurnConfig`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolCall
from langgraph.config import get_stream_writer
from langgraph.types import Command, interrupt

from assistant.graph import prompts
from assistant.graph.configuration import TurnConfig
from assistant.graph.deps import GraphDeps, prompt
from assistant.graph.state import SupportState
from assistant.knowledge.search_tool import TOOL_NAME
from assistant.llm.errors import ModelOutputError
from assistant.llm.gateway import choose, complete, stream
from assistant.policy import OUT_OF_SCOPE, EscalationReason
from assistant.schemas import Action, Answer, EscalationDecision, Outcome, RetrievedChunk
from assistant.triage.prompts import NO_CONTEXT
from assistant.triage.support_qa import Turn, follow_up_query, previous_user_turn
from assistant.turn.answer_candidates import answer_candidates
from assistant.turn.citations import marker_regex, resolve_citations
from assistant.turn.clarification import clarifying_question, vague_opening
from assistant.turn.extraction import extractive_answer
from assistant.turn.instructions import without_instructions
from assistant.turn.release import Released, release
from assistant.turn.small_talk import is_small_talk
from assistant.wording import only_thanks_or_goodbye

Update = dict[str, Any]

MAX_QUERY_CHARS = 300
SUMMARY_CHARS = 400
HISTORY_TURNS = 4


def triage(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Read the message with the triage adapter; a reply that fails validation (after the
    adapter's own repair) leaves the turn untriaged rather than failing it."""
    if deps.triage is None:
        return {"triage": None}
    try:
        return {"triage": deps.triage(state["question"])}
    except ModelOutputError:
        return {"triage": None}


def decide(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Pick the next step among a fixed set: the fitted router, or the model's constrained
    choice; a reply only to a message that is small talk as a whole (`is_small_talk`), and
    always to one that only thanks or says goodbye (`only_thanks_or_goodbye`), a hand-over
    only to one that triage (where it ran) says needs a person; the rest is searched. A
    search (and a clarifying question, which names what a search finds) starts with the
    question after the previous user turn: follow-up questions lean on it."""
    router = deps.router_for(turn)
    if router is not None:
        label = router.route(state["question"], _previous_question(state))
    else:
        decider = deps.decider(turn)
        label = decider.choose(prompt(prompts.DECIDE.format(question=state["question"])))
    if (
        label == "reply"
        and turn.small_talk_whole
        and not is_small_talk(state["question"], deps.small_talk)
    ):
        # A question that only reads like small talk ("... leaves home in Eco mode?").
        label = "search"
    elif label == "search" and only_thanks_or_goodbye(state["question"]):
        # The router, fitted on questions, searched "ok thanks!" and asked which page was meant.
        label = "reply"
    reading = state.get("triage")
    if label == "human" and reading is not None and not reading.needs_human:
        # The router learnt "a person" from BANKING77's policy table; on another team's
        # questions it sent product questions to one ("Who do I call about ...?"). Triage
        # reads the message against this team's policy: it has the last word.
        label = "search"
    action = prompts.DECISION_LABELS[label]
    update: Update = {"action": action}
    if action in (Action.RETRIEVE, Action.CLARIFY):
        update["queries"] = [_search_query(state)]
    return update


def retrieve(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Run the search tool (the run's top-k and mode) on the latest query, for the turn's
    tenant only."""
    call = ToolCall(
        name=TOOL_NAME,
        args={"query": state["queries"][-1], "tenant": state["tenant"]},
        id=f"call_{uuid.uuid4().hex[:12]}",
        type="tool_call",
    )
    result = deps.search_tool(turn).invoke(call)
    chunks: list[RetrievedChunk] = list(result.artifact or [])
    return {"chunks": chunks}


def grade(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Judge whether the search answers the question in its conversation, and keep the
    chunks that do; none kept means the generator is never called for this search. A
    question the judge finds too vague turns the step into a clarifying question, and so does
    a conversation's opening message too vague to search as asked ("it doesn't work") when the
    search found something to name."""
    chunks = state["chunks"]
    previous = _previous_question(state)
    if turn.clarify and turn.clarify_vague and vague_opening(state["question"], previous, chunks):
        return {"relevant": [], "action": Action.CLARIFY}
    judgement = deps.judgement(turn).judge(state["question"], previous, chunks)
    if judgement.clarify:
        return {"relevant": [], "action": Action.CLARIFY}
    if not judgement.answerable:
        return {"relevant": [], "hedged": False}
    return {"relevant": [chunks[i] for i in judgement.kept], "hedged": judgement.hedged}


def rewrite(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Ask the model for a better query; fall back to the question in its conversation."""
    history = _history_text(state)
    text = complete(
        deps.model,
        prompt(
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


def generate(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Answer over the numbered relevant chunks; every sentence ends in its [n] marker.

    `extractive`: passage sentences of the kept chunks up to `answer_words` words
    (`assistant.turn.extraction`); with 1, the model chooses the sentence, marker included (a
    constrained choice). `generative`: the model writes, under a regex that demands a marker
    per sentence. The draft is released as it comes (`assistant.turn.release`): each sentence
    checked against what it cites, unless the run's choices turn that off, and each final
    piece written to the graph's custom stream, so a streaming caller shows it before the turn
    ends.
    """
    released = release(
        _draft(state, deps, turn),
        state["relevant"],
        deps.verifier_for(turn),
        remove=turn.verify_citations == "remove",
        show=get_stream_writer(),
    )
    return {"released": released}


def cite(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
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
    reading = state.get("triage")
    if reading is not None and reading.category == OUT_OF_SCOPE and deps.triage_in_scope:
        # The team's documents answered it: it is their business, whatever triage guessed.
        state = {**state, "triage": deps.triage_in_scope(state["question"])}
    hedged = bool(state.get("hedged"))
    offer = hedged or (turn.triage_hand_over == "offer" and needs_human(state))
    update = _finish(
        state,
        cited.text,
        Outcome.HEDGED if hedged else Outcome.ANSWERED,
        citations=cited.citations,
        offer_human=offer,
        notice=prompts.HEDGE if hedged else "",
        **checked,
    )
    return {**update, "triage": state.get("triage")}


def answer_directly(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Small talk: the reply written for what the message is, or the model's."""
    small_talk = deps.small_talk_for(turn)
    if small_talk is not None:
        return _finish(state, small_talk.reply(state["question"]), Outcome.ANSWERED_DIRECTLY)
    text = complete(deps.model, prompt(prompts.ANSWER_DIRECTLY.format(question=state["question"])))
    return _finish(state, text.strip(), Outcome.ANSWERED_DIRECTLY)


def clarify(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Ask about what the search found (the documents it could be about); with nothing found,
    the model writes the question."""
    text = (
        clarifying_question(state.get("chunks", []))
        or complete(deps.model, prompt(prompts.CLARIFY.format(question=state["question"]))).strip()
    )
    return _finish(state, text, Outcome.CLARIFY)


def decline(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Nothing relevant was found: say so, without calling the generator."""
    return _finish(state, prompts.DECLINE, Outcome.DECLINED)


def escalate(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Command[str]:
    """The escalation adapter decides, with the reason and the hand-off note a human reads;
    where triage read an urgent category that needs a person, the hand-over is triage's
    (`refer`), with the policy's reason: the shipped adapter, trained on a bank's reasons,
    named a customer hurt in a scooter crash `account_action`. (A customer who asks for a
    person about something less urgent keeps `human_requested`.)"""
    reading = state.get("triage")
    urgent = reading is not None and reading.needs_human and reading.priority == "urgent"
    if turn.triage_hand_over != "off" and urgent:
        return Command(goto="refer")
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


def refer(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Triage says a person must take this: the hand-over's reason is the policy's for the
    category, its note the reading and the customer's words."""
    reading = state.get("triage")
    reason: EscalationReason = "unresolved"
    if reading is not None and deps.triage_policy is not None:
        category = deps.triage_policy.categories.get(reading.category)
        if category is not None and category.reason != "none":
            reason = category.reason
    lead = f"Triage: {reading.category}, {reading.priority} priority. " if reading else ""
    summary = f"{lead}The customer wrote: {state['question']}"
    decision = EscalationDecision(escalate=True, reason=reason, summary=summary[:SUMMARY_CHARS])
    update: Update = {"escalation": decision}
    if not state.get("queries"):
        update["action"] = Action.ESCALATE  # straight from triage: the turn's first decision
    return update


def needs_human(state: SupportState) -> bool:
    """Whether this turn's triage reading says a person must act."""
    reading = state.get("triage")
    return reading is not None and reading.needs_human


def hand_over(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
    """Tell the customer a human takes over; the turn's answer until the human replies."""
    return _finish(state, prompts.ESCALATE, Outcome.ESCALATED)


def await_human(state: SupportState, *, deps: GraphDeps, turn: TurnConfig) -> Update:
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


# --- helpers ---------------------------------------------------------------------------


def _draft(state: SupportState, deps: GraphDeps, turn: TurnConfig) -> Iterator[str]:
    """The answer's draft in pieces: whole when chosen, as the model writes it otherwise."""
    chunks = state["relevant"]
    extractive = turn.answer_mode == "extractive"
    if extractive and deps.reader is not None and turn.answer_sentences > 1:
        evidence = deps.reader.read(state["question"], _previous_question(state), chunks)
        if draft := extractive_answer(evidence, turn.answer_sentences, turn.answer_words):
            yield draft
            return
    # The model never reads a passage's instructions to it: they are left out, not quoted.
    passages = prompts.format_passages(
        [(c.title or c.section, without_instructions(c.text, c.injections)) for c in chunks]
    )
    messages = prompt(prompts.GENERATE.format(passages=passages, question=state["question"]))
    candidates = answer_candidates(chunks)
    if extractive and candidates:
        yield choose(deps.model, messages, candidates)
        return
    yield from stream(deps.model, messages, regex=marker_regex(len(chunks)))


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
    return previous_user_turn(
        Turn(role="user" if m.type == "human" else "assistant", text=m.text)
        for m in _earlier_messages(state)
    )


def _search_query(state: SupportState) -> str:
    return follow_up_query(_previous_question(state), state["question"])


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
