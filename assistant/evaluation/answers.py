"""The `answers` suite: the assistant's answers scored for citations, overlap and behaviour.

Variants: `rag` is the assistant's whole turn (`Assistant.ask`, the support graph);
`no-rag` is the same model answering with no knowledge base at all (closed book), which shows
what retrieval adds; the `TURN_VARIANTS` are `rag` with one design choice of the turn undone
(the cosine gate for the judge, one sentence, the base model's choice for the router), and
`before` with all three.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field
from rich.progress import Progress

from assistant.errors import InputError
from assistant.evaluation.datasets import SupportQuestion
from assistant.evaluation.diagnosis import (
    ANSWER_EXPECTED,
    ANSWERED,
    EXPECTED_LABEL,
    behaviour_ok,
    diagnose,
)
from assistant.evaluation.metrics import (
    citation_precision,
    citation_recall,
    citations_valid,
    mean,
    rank_documents,
    rouge_l,
    token_f1,
)
from assistant.evaluation.results import (
    FAILURE_KINDS,
    AnswerExample,
    AnswersRow,
    BehaviourRow,
)
from assistant.llm.gateway import complete
from assistant.schemas import Citation, Outcome, RetrievedChunk
from assistant.service import Assistant
from assistant.turn.citations import MARKER

AnswerVariant = Literal[
    "rag",
    "no-rag",
    "cosine-gate",
    "no-clarify",
    "one-sentence",
    "four-sentences",
    "no-router",
    "before",
    "model-judge",
    "no-hedge",
    "candidate-judge",
]

# The turn's design choices as A/B variants: each is `rag` with these settings changed.
TURN_VARIANTS: dict[str, dict[str, object]] = {
    "cosine-gate": {"judge": "cosine"},
    "no-clarify": {"clarify": False},
    "one-sentence": {"answer_sentences": 1},
    # The count of sentences before the word budget.
    "four-sentences": {"answer_sentences": 4, "answer_words": 1000},
    "no-router": {"router": "model"},
    # The turn as it was before the router, the judge and several sentences.
    "before": {"judge": "cosine", "answer_sentences": 1, "router": "model"},
    # The served model's judgement beside the fitted one (a server only).
    "model-judge": {"model_judge": True},
    # One threshold, as before the hedged band: answer plainly whatever the judge passes.
    "no-hedge": {"judge_confident_at": 0.0},
}

# The closed-book baseline's prompt. It lives here, not in graphs/prompts.py, because no turn
# of the assistant ever sends it: it only measures the model without the knowledge base.
CLOSED_BOOK = "Answer the customer's question briefly.\n\nQuestion: {question}\nAnswer:"


class RawAnswer(BaseModel):
    """What one variant did with one question, before scoring."""

    text: str
    outcome: Outcome
    searched: bool
    retrieved: list[RetrievedChunk] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    removed_citations: int = 0


Answerer = Callable[[SupportQuestion], RawAnswer]


def rag_answerer(assistant: Assistant) -> Answerer:
    """Each question as a turn of the assistant, on a fresh thread that holds its history."""

    def answer(question: SupportQuestion) -> RawAnswer:
        thread = uuid.uuid4().hex
        seed_history(assistant, thread, question)
        try:
            reply = assistant.ask(question.question, thread_id=thread)
        except InputError as exc:
            raise InputError(f"{question.source}: {exc}") from exc
        state = assistant.thread_values(thread)
        # `relevant` is what the answer's [n] markers number; `chunks` the whole latest search.
        retrieved = [*state.get("relevant", []), *state.get("chunks", [])]
        return RawAnswer(
            text=reply.text,
            outcome=reply.outcome,
            searched=bool(reply.queries),
            retrieved=retrieved,
            citations=reply.citations,
            removed_citations=reply.removed_citations,
        )

    return answer


def seed_history(assistant: Assistant, thread: str, question: SupportQuestion) -> None:
    """Write the earlier turns into the thread, as if the conversation had happened there."""
    messages: list[BaseMessage] = [
        HumanMessage(turn.text) if turn.role == "user" else AIMessage(turn.text)
        for turn in question.history
    ]
    if messages:
        # Under the key `ask` reads the thread by (the settings' tenant, through the API).
        config: RunnableConfig = {"configurable": {"thread_id": assistant.owner().key(thread)}}
        # As if a turn had just ended (`cite` leads to END), so the next `ask` starts a turn.
        assistant.graph.update_state(config, {"messages": messages}, as_node="cite")


def closed_book_answerer(model: BaseChatModel) -> Answerer:
    """The model alone: no search, no passages, so no citations."""

    def answer(question: SupportQuestion) -> RawAnswer:
        prompt = CLOSED_BOOK.format(question=question.question)
        text = complete(model, [HumanMessage(prompt)]).strip()
        return RawAnswer(text=text, outcome=Outcome.ANSWERED_DIRECTLY, searched=False)

    return answer


def score_answer(
    question: SupportQuestion, variant: str, raw: RawAnswer, seconds: float
) -> AnswerExample:
    """One answer's metrics and failure kind."""
    reference = question.answer or ""
    gold = question.doc_ids
    cited_docs = [c.doc_id for c in raw.citations]
    retrieved_docs = rank_documents(c.doc_id for c in raw.retrieved)
    valid = citations_valid(
        [int(n) for n in MARKER.findall(raw.text)],
        {c.n: c.chunk_id for c in raw.citations},
        {c.chunk_id for c in raw.retrieved},
        raw.removed_citations,
    )
    overlap = token_f1(raw.text, reference)
    expects_answer = question.answerability in ANSWER_EXPECTED
    return AnswerExample(
        id=question.id,
        variant=variant,
        answerability=question.answerability,
        question=question.question,
        text=raw.text,
        outcome=raw.outcome.value,
        searched=raw.searched,
        gold_docs=gold,
        retrieved_docs=retrieved_docs,
        cited_docs=cited_docs,
        removed_citations=raw.removed_citations,
        citation_valid=valid,
        citation_precision=citation_precision(cited_docs, gold),
        citation_recall=citation_recall(cited_docs, gold) if expects_answer else None,
        token_f1=overlap,
        rouge_l=rouge_l(raw.text, reference),
        behaviour_ok=behaviour_ok(question.answerability, raw.outcome),
        diagnosis=diagnose(
            answerability=question.answerability,
            outcome=raw.outcome,
            searched=raw.searched,
            gold=gold,
            retrieved=retrieved_docs,
            cited=cited_docs,
            citation_valid=valid,
            overlap=overlap,
        ),
        seconds=round(seconds, 3),
    )


def evaluate_answers(
    questions: Sequence[SupportQuestion],
    answerers: dict[str, Answerer],
    *,
    progress: Progress,
    fresh_start: Callable[[], None] | None = None,
) -> tuple[list[AnswersRow], list[BehaviourRow], list[AnswerExample]]:
    """Every question through every variant: one row per variant, the behaviour per
    answerability class, and each scored answer. `fresh_start` runs before each variant
    (the embedder forgets the passages the last one read, so seconds compare)."""
    rows: list[AnswersRow] = []
    behaviour: list[BehaviourRow] = []
    examples: list[AnswerExample] = []
    for variant, answerer in answerers.items():
        if fresh_start is not None:
            fresh_start()
        task = progress.add_task(f"answers {variant}", total=len(questions))
        scored = []
        for question in questions:
            started = time.perf_counter()
            raw = answerer(question)
            scored.append(score_answer(question, variant, raw, time.perf_counter() - started))
            progress.advance(task)
        rows.append(summarise(variant, scored))
        behaviour.extend(behaviour_rows(variant, scored))
        examples.extend(scored)
    return rows, behaviour, examples


def summarise(variant: str, scored: Sequence[AnswerExample]) -> AnswersRow:
    """The variant's row: means over the questions each metric applies to."""
    answered = [e for e in scored if Outcome(e.outcome) in ANSWERED]
    with_markers = [e.citation_valid for e in scored if e.citation_valid is not None]
    failures = Counter(e.diagnosis for e in scored)
    n = len(scored)
    return AnswersRow(
        variant=variant,
        questions=n,
        behaviour_accuracy=sum(e.behaviour_ok for e in scored) / n if n else 0.0,
        citation_validity=sum(with_markers) / len(with_markers) if with_markers else None,
        citation_precision=mean(e.citation_precision for e in scored),
        citation_precision_confident=mean(
            e.citation_precision for e in scored if e.outcome == Outcome.ANSWERED
        ),
        citation_recall=mean(e.citation_recall for e in scored),
        token_f1=mean(e.token_f1 for e in scored) or 0.0,
        rouge_l=mean(e.rouge_l for e in scored) or 0.0,
        answered_without_retrieval=(
            sum(not e.searched for e in answered) / len(answered) if answered else None
        ),
        failures={kind: failures.get(kind, 0) for kind in FAILURE_KINDS},
        seconds_per_question=round(sum(e.seconds for e in scored) / n, 2) if n else 0.0,
    )


def behaviour_rows(variant: str, scored: Sequence[AnswerExample]) -> list[BehaviourRow]:
    """For each answerability class present: what was expected and what the turns ended in."""
    rows = []
    for answerability, expected in EXPECTED_LABEL.items():
        group = [e for e in scored if e.answerability == answerability]
        if group:
            rows.append(
                BehaviourRow(
                    variant=variant,
                    answerability=answerability,
                    questions=len(group),
                    expected=expected,
                    correct=sum(e.behaviour_ok for e in group),
                    outcomes=dict(Counter(e.outcome for e in group).most_common()),
                )
            )
    return rows
