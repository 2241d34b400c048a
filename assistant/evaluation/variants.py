"""The variants a suite can compare (`--compare`), and each suite's default set."""

from __future__ import annotations

from typing import get_args

from assistant.errors import InputError
from assistant.evaluation.answers import AnswerVariant
from assistant.evaluation.classification import ClassificationVariantName
from assistant.evaluation.results import Suite
from assistant.settings import SearchMode

ALLOWED: dict[Suite, tuple[str, ...]] = {
    "retrieval": get_args(SearchMode),
    "answers": get_args(AnswerVariant),
    "triage": get_args(ClassificationVariantName),
    "escalation": get_args(ClassificationVariantName),
}
DEFAULTS: dict[Suite, tuple[str, ...]] = {
    # All three modes in one run: they share the query vectors, so the comparison is fair.
    "retrieval": ("dense", "sparse", "hybrid"),
    "answers": ("rag",),
    "triage": ("lora", "base"),
    "escalation": ("lora", "base"),
}
MEANING: dict[str, str] = {
    "dense": "sentence-embedding search",
    "sparse": "BM25 term-weight search",
    "hybrid": "dense + sparse fused by RRF",
    "rag": "the assistant's turn (search, grade, answer with citations)",
    "no-rag": "the same model, closed book (no knowledge base)",
    "cosine-gate": "rag with the old gate (chunk cosine >= ASSISTANT_MIN_RELEVANCE) for the judge",
    "no-clarify": "rag without the judge's clarify head (never asks which one is meant)",
    "one-sentence": "rag with one answer sentence, chosen by the model",
    "four-sentences": "rag with four answer sentences, however many words they have",
    "no-router": "rag with the base model's calibrated choice instead of the router",
    "model-judge": "rag with the served model's judgement beside the fitted judge (a server)",
    "no-hedge": "rag answering plainly whatever the judge passes (no hedged band)",
    "candidate-judge": "rag with the judge heads of --judge-dir (e.g. refitted from the log)",
    "before": "rag as before the router, the judge and several sentences (all three undone)",
    "lora": "the task's LoRA adapter on the configured backend",
    "base": "the prompted base model on the configured backend, no adapter",
    "baseline": "sentence embeddings + logistic regression, fit on the train split",
    "embedded": "the LoRA adapter on the in-process model",
    "server": "the LoRA adapter on the OpenAI-compatible server (ASSISTANT_BASE_URL)",
    "classifier": "the classifier engine of ASSISTANT_TRIAGE_CLASSIFIER_DIR (fit-classifier)",
    "routed": "the classifier, its readings below ASSISTANT_TRIAGE_MIN_CONFIDENCE asked of the "
    "LoRA adapter",
}


def parse_variants(suite: Suite, compare: str | None) -> list[str]:
    """The variants named in `compare` (comma-separated, in order), or the suite's default."""
    if compare is None or not compare.strip():
        return list(DEFAULTS[suite])
    names = list(dict.fromkeys(name.strip() for name in compare.split(",") if name.strip()))
    unknown = [name for name in names if name not in ALLOWED[suite]]
    if unknown:
        raise InputError(
            f"unknown variant {unknown[0]!r} for the {suite} suite; choose from "
            f"{', '.join(ALLOWED[suite])}"
        )
    return names
