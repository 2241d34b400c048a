"""The served model's own judgement of a search, beside the fitted judge.

On a model server (vLLM) a bigger model than the fitted heads' embedder can read the passages
and say whether they answer, the way LangGraph's agentic-RAG tutorial grades documents: under
structured outputs, so the reply is always JSON of one schema (answers or not, and the numbers
of the passages that do, numbered as the answer will cite them). It only ever makes the turn
more careful (`combine`): a search the fitted judge passes and the model says does not answer
is hedged or declined, never the other way round, because the fitted judge is measured and the
served model is whatever a team points at. A call that fails or times out leaves the fitted
judgement as it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, Field, ValidationError

from assistant.llm.errors import ModelOutputError
from assistant.llm.gateway import complete
from assistant.schemas import RetrievedChunk
from assistant.turn.instructions import without_instructions
from assistant.turn.judgement import Judge, Judgement

logger = logging.getLogger(__name__)


class PassageVerdict(BaseModel):
    """What the served model says of a search."""

    answers: bool = Field(description="Whether the passages answer the question.")
    passages: list[int] = Field(
        default_factory=list, description="1-based numbers of the passages that answer it."
    )


def verdict_schema(passages: int) -> dict[str, Any]:
    """The JSON schema of a `PassageVerdict` over `passages` numbered passages: a number that
    is not one of them cannot be generated."""
    return {
        "type": "object",
        "properties": {
            "answers": {"type": "boolean"},
            "passages": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, passages + 1))},
                "maxItems": passages,
            },
        },
        "required": ["answers", "passages"],
        "additionalProperties": False,
    }


class ModelJudge:
    """Asks `model` whether the numbered passages answer the question.

    `messages` turns (passages, question) into the prompt; the caller owns the wording (the
    graph's prompts) and the model (built with the short timeout and no retries a judgement
    that has a fallback wants).
    """

    def __init__(self, model: BaseChatModel, messages: Any) -> None:
        self.model = model
        self.messages = messages

    def verdict(self, question: str, chunks: Sequence[RetrievedChunk]) -> PassageVerdict:
        """The model's verdict; `ModelOutputError` when it is not one, the gateway's errors
        when the server gives none."""
        passages = "\n\n".join(
            f"[{n}] {c.title or c.section}: {without_instructions(c.text)}"
            for n, c in enumerate(chunks, 1)
        )
        prompt: list[BaseMessage] = self.messages(passages, question)
        reply = complete(self.model, prompt, json_schema=verdict_schema(len(chunks)))
        try:
            verdict = PassageVerdict.model_validate(json.loads(reply))
        except (ValueError, ValidationError) as exc:
            raise ModelOutputError(f"the model's verdict {reply[:200]!r} is not valid") from exc
        if any(not 1 <= n <= len(chunks) for n in verdict.passages):
            raise ModelOutputError(f"the model's verdict names passages outside 1..{len(chunks)}")
        return verdict


class CombinedJudge:
    """The fitted judge, made more careful by the served model where it says no."""

    def __init__(self, fitted: Judge, model: ModelJudge) -> None:
        self.fitted = fitted
        self.model = model

    def judge(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Judgement:
        judgement = self.fitted.judge(question, context, chunks)
        if not judgement.answerable:
            return judgement
        try:
            verdict = self.model.verdict(question, [chunks[i] for i in judgement.kept])
        except Exception as exc:
            logger.warning("the model judge gave no verdict; the fitted judge decides: %s", exc)
            return judgement
        return combine(judgement, verdict)


def combine(judgement: Judgement, verdict: PassageVerdict) -> Judgement:
    """The model saying no takes an answerable judgement down one band: a confident answer is
    hedged, a hedged one declined. Saying yes changes nothing."""
    if verdict.answers and verdict.passages:
        return judgement
    if judgement.hedged:
        return Judgement(answerable=False, confidence=judgement.confidence)
    return judgement.model_copy(update={"hedged": True})
