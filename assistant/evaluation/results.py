"""What an evaluation run produces: the models dumped to `result.json` and read by the report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from assistant.kinds import SearchMode, Suite
from assistant.triage.scores import EscalationScores, TriageScores
from assistant.triage.support_qa import Answerability

FailureKind = Literal["retrieval", "grounding", "behaviour", "format"]
Diagnosis = Literal["ok", "retrieval", "grounding", "behaviour", "format"]

FAILURE_KINDS: tuple[FailureKind, ...] = ("retrieval", "grounding", "behaviour", "format")


class RunInfo(BaseModel):
    """How a run was made: enough to repeat it."""

    suite: Suite
    command: str = Field(description="The command line that produced the run.")
    data: list[str]
    corpus: str | None = None
    use_index: bool = False
    limit: int | None = None
    seed: int
    variants: list[str]
    examples: int = Field(description="Examples scored (after --limit and filtering).")
    settings: dict[str, str] = Field(
        default_factory=dict, description="The settings that change the numbers."
    )
    notes: list[str] = Field(default_factory=list, description="What a reader must know.")
    started_at: datetime
    seconds: float = 0.0


# --- retrieval --------------------------------------------------------------------------------


class RetrievalScores(BaseModel):
    """Rank metrics of one ranked list of documents against the gold documents."""

    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float

    def labelled(self) -> dict[str, float]:
        """The scores under the names tables print (`recall@1`, `MRR@10`, ...)."""
        return {RETRIEVAL_LABELS[name]: value for name, value in self.model_dump().items()}


RETRIEVAL_LABELS = {
    "recall_at_1": "recall@1",
    "recall_at_5": "recall@5",
    "recall_at_10": "recall@10",
    "mrr_at_10": "MRR@10",
    "ndcg_at_10": "nDCG@10",
}


class RetrievalRow(BaseModel):
    """One search mode, averaged over the questions."""

    variant: SearchMode
    questions: int
    scores: RetrievalScores
    p50_ms: float = Field(description="Median search time, query embedding excluded.")
    p95_ms: float


class RetrievalQuestion(BaseModel):
    id: str
    query: str
    gold: list[str]
    ranked: dict[str, list[str]] = Field(description="Mode -> its top 10 documents.")
    scores: dict[str, RetrievalScores]


class RetrievalResult(BaseModel):
    suite: Literal["retrieval"] = "retrieval"
    run: RunInfo
    chunks: int | None = Field(None, description="Chunks in the index, when it was built here.")
    rows: list[RetrievalRow]
    questions: list[RetrievalQuestion]


# --- answers ----------------------------------------------------------------------------------


class AnswerExample(BaseModel):
    """One question answered by one variant, scored and diagnosed."""

    id: str
    variant: str
    answerability: Answerability
    question: str
    text: str
    outcome: str
    searched: bool
    gold_docs: list[str]
    retrieved_docs: list[str]
    cited_docs: list[str] = Field(description="The document of each citation, in marker order.")
    removed_citations: int = 0
    citation_valid: bool | None = Field(None, description="None: the answer has no markers.")
    citation_precision: float | None = None
    citation_recall: float | None = None
    token_f1: float
    rouge_l: float
    behaviour_ok: bool
    diagnosis: Diagnosis
    seconds: float


class AnswersRow(BaseModel):
    """One variant, over all questions. A None mean: no question where the metric applies."""

    variant: str
    questions: int
    behaviour_accuracy: float
    citation_validity: float | None
    citation_precision: float | None
    citation_precision_confident: float | None = Field(
        None, description="Citation precision over the answers given plainly (not hedged)."
    )
    citation_recall: float | None
    token_f1: float
    rouge_l: float
    answered_without_retrieval: float | None = Field(
        description="Share of the answers given that no search preceded."
    )
    failures: dict[FailureKind, int]
    seconds_per_question: float


class BehaviourRow(BaseModel):
    """What one variant did with the questions of one answerability class."""

    variant: str
    answerability: Answerability
    questions: int
    expected: str
    correct: int
    outcomes: dict[str, int]


class AnswersResult(BaseModel):
    suite: Literal["answers"] = "answers"
    run: RunInfo
    chunks: int | None = None
    rows: list[AnswersRow]
    behaviour: list[BehaviourRow]
    examples: list[AnswerExample]


# --- triage and escalation --------------------------------------------------------------------


class ClassScore(BaseModel):
    label: str
    support: int = Field(description="Gold examples of this label.")
    predicted: int = Field(description="Predictions of this label.")
    precision: float
    recall: float
    f1: float


class ConfusionMatrix(BaseModel):
    labels: list[str]
    counts: list[list[int]] = Field(description="counts[gold][predicted], in `labels` order.")


class ClassificationRow(BaseModel):
    variant: str
    examples: int
    accuracy: float
    macro_f1: float
    json_valid_rate: float | None = Field(description="None: the variant writes no JSON.")
    seconds_per_example: float
    details: TriageScores | EscalationScores


class ClassificationVariant(BaseModel):
    row: ClassificationRow
    per_class: list[ClassScore]
    confusion: ConfusionMatrix
    predictions: list[str]


class ClassificationResult(BaseModel):
    suite: Literal["triage", "escalation"]
    run: RunInfo
    label_kind: str = Field(description="What a class is: the category, or the decision.")
    example_ids: list[str]
    gold: list[str]
    variants: list[ClassificationVariant]


AnyResult = RetrievalResult | AnswersResult | ClassificationResult
EvalResult = Annotated[AnyResult, Field(discriminator="suite")]
"""Any suite's result; `TypeAdapter(EvalResult)` reads a `result.json` back."""
