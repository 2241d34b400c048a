"""The triage engine the settings choose, as one callable: message text -> ``TriageResult``.

Every caller of triage (``assistant triage``, ``triage-batch``, ``POST /v1/triage``, the
graph's triage step) builds it here, so one setting (``triage_engine``) switches all of them
(``auto``, the default: zero-shot in process, where a generated reading costs seconds; the
adapter on a model server when it was trained on the policy in use):

- ``adapter``: the LoRA adapter ``triage_adapter``, constrained to the policy's labels;
- ``classifier``: the embeddings + logistic regression of ``triage_classifier_dir``. A reading
  below ``triage_min_confidence`` goes to a human (``triage_unsure=human``: the category is
  kept, ``needs_human`` set) or to the adapter (``triage_unsure=adapter``);
- ``zero-shot``: the nearest of the policy's category descriptions (``assistant.triage.zero_shot``),
  no labels needed; without ``triage_policy`` it reads the shipped general support policy.

``build_block_triage`` is the same engine for a worker that holds many texts at once (the Ray
workers of ``triage-batch --ray``): the classifier reads them in one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Literal

from langchain_core.language_models import BaseChatModel

from assistant.errors import InputError
from assistant.knowledge.embedder import Embedder
from assistant.llm.manifest import MANIFEST_FILE, read_manifest
from assistant.policy import TriagePolicy, load_policy, support_policy
from assistant.schemas import TriageResult
from assistant.settings import Settings
from assistant.triage.classifier import Reading, TriageClassifier
from assistant.triage.inference import triage
from assistant.triage.zero_shot import ZeroShotTriage

Triage = Callable[[str], TriageResult]
"""Reads one message; raises ``ModelOutputError`` when no valid reading comes back."""

Engine = Literal["adapter", "classifier", "zero-shot"]


def engine_for(settings: Settings) -> Engine:
    """The engine ``triage_engine`` names; ``auto`` resolved by where the model runs."""
    if settings.triage_engine != "auto":
        return settings.triage_engine
    # Checked against the policy auto reads (the support policy when unset), not the one the
    # shipped adapter was trained on: otherwise the BANKING77 worked example would label every
    # team's messages as soon as they point at a server.
    if settings.backend == "openai" and _adapter_fits(settings, policy_in_use(settings)):
        return "adapter"
    return "zero-shot"


def policy_in_use(settings: Settings) -> TriagePolicy:
    """``triage_policy``; unset, the general support policy, except where an engine is named
    whose shipped artifact was made under BANKING77 (``adapter``, ``classifier``)."""
    if settings.triage_policy is not None:
        return load_policy(settings.triage_policy)
    if settings.triage_engine in ("adapter", "classifier"):
        return load_policy(None)
    return support_policy()


def _adapter_fits(settings: Settings, policy: TriagePolicy) -> bool:
    """Whether the adapters folder's ``triage_adapter`` was trained under ``policy``."""
    folder = settings.adapters_dir / settings.triage_adapter
    if not (folder / MANIFEST_FILE).is_file():
        return False
    trained = read_manifest(folder).policy
    return trained is not None and trained.digest == policy.digest


def adapter_triage(settings: Settings, model: BaseChatModel) -> Triage:
    """The LoRA adapter ``triage_adapter`` on ``model``, constrained to the policy's labels."""
    policy = policy_in_use(settings)
    folder = settings.adapters_dir / settings.triage_adapter
    if (folder / MANIFEST_FILE).is_file():
        # A server may serve the adapter from elsewhere; a local folder of that name is what
        # the adapter was trained as, and constraining it to other labels gives wrong ones.
        trained = read_manifest(folder).policy
        if trained is not None:
            check_same_policy(trained, policy, folder)
    return partial(triage, model, adapter=settings.triage_adapter, policy=policy)


def load_zero_shot(settings: Settings, embedder: Embedder | None = None) -> ZeroShotTriage:
    """Zero-shot triage over ``triage_policy``'s descriptions (the general support policy when
    unset), with ``embedder`` or the one the settings name."""
    from assistant.knowledge.embedder import open_embedder

    policy = policy_in_use(settings)
    return ZeroShotTriage(
        policy,
        embedder or open_embedder(settings),
        min_similarity=settings.triage_zero_shot_min_similarity,
        human_min_similarity=settings.triage_zero_shot_human_min_similarity,
        urgent_question_min_similarity=settings.triage_zero_shot_urgent_question_min_similarity,
        asking_min_similarity=settings.triage_zero_shot_asking_min_similarity,
    )


def load_classifier(settings: Settings) -> TriageClassifier:
    """The classifier of ``triage_classifier_dir``, checked against the policy in use."""
    from assistant.knowledge.embedder import open_embedder

    folder = settings.triage_classifier_dir
    if folder is None:
        raise InputError(
            "the classifier triage engine needs ASSISTANT_TRIAGE_CLASSIFIER_DIR (the --out "
            "folder of `assistant adapters fit-classifier`)"
        )
    classifier = TriageClassifier.load(folder, open_embedder(settings))
    check_same_policy(classifier.manifest.policy, policy_in_use(settings), folder)
    return classifier


def check_same_policy(fitted: TriagePolicy, in_use: TriagePolicy, folder: object) -> None:
    """``InputError`` unless what is in ``folder`` was fitted under the policy in use."""
    if fitted.digest != in_use.digest:
        raise InputError(
            f"{folder}: fitted under the policy {fitted.name!r}, but the settings use "
            f"{in_use.name!r} ({in_use.where()}); set ASSISTANT_TRIAGE_POLICY to the file it "
            "was fitted with, or refit"
        )


def classifier_triage(
    classifier: TriageClassifier, settings: Settings, fallback: Triage | None = None
) -> Triage:
    """``classifier``'s triage, with an unsure reading routed as the settings say."""
    threshold = settings.triage_min_confidence

    def read(text: str) -> TriageResult:
        return _routed(classifier.read([text])[0], text, threshold, fallback)

    return read


def _routed(reading: Reading, text: str, threshold: float, fallback: Triage | None) -> TriageResult:
    """``reading`` when sure enough; else the fallback's reading, or a hand-over."""
    if reading.confidence >= threshold:
        return reading.result
    if fallback is not None:
        return fallback(text)
    return reading.result.model_copy(update={"needs_human": True})


BlockTriage = Callable[[Sequence[str]], Triage]
"""Given the texts of a block, the triage to call on each of them."""


def build_block_triage(settings: Settings, model: BaseChatModel) -> BlockTriage:
    """The engine ``settings`` choose, for a worker that holds a block of texts at once.

    The classifier embeds a block's texts in one batch, which is what makes a batch worker
    faster than reading one text at a time; the adapter reads each text as it is asked. The
    returned triage raises per text as ``build_triage``'s does, so each ticket keeps its own
    error; a batch that fails as a whole falls back to reading its texts one by one.
    """
    engine = engine_for(settings)
    if engine == "adapter":
        single = adapter_triage(settings, model)
        return lambda texts: single
    if engine == "zero-shot":
        reader = load_zero_shot(settings)

        def prepare(texts: Sequence[str]) -> Triage:
            unique = list(dict.fromkeys(texts))
            results = {t: r.result for t, r in zip(unique, reader.read(unique), strict=True)}
            return lambda text: results[text] if text in results else reader(text)

        return prepare
    fallback = adapter_triage(settings, model) if settings.triage_unsure == "adapter" else None
    return classifier_block_triage(load_classifier(settings), settings, fallback)


def classifier_block_triage(
    classifier: TriageClassifier, settings: Settings, fallback: Triage | None = None
) -> BlockTriage:
    """``classifier_triage`` for a block: the block's texts read in one batch, each reading
    then routed as ``classifier_triage`` routes it."""
    one_by_one = classifier_triage(classifier, settings, fallback)
    threshold = settings.triage_min_confidence

    def prepare(texts: Sequence[str]) -> Triage:
        unique = list(dict.fromkeys(texts))
        try:
            readings = dict(zip(unique, classifier.read(unique), strict=True))
        except Exception:  # one bad text must not fail its block: each is read alone then
            return one_by_one

        def read(text: str) -> TriageResult:
            if text not in readings:
                return one_by_one(text)
            return _routed(readings[text], text, threshold, fallback)

        return read

    return prepare


def build_triage(
    settings: Settings, model: BaseChatModel, embedder: Embedder | None = None
) -> Triage:
    """The triage engine ``settings`` choose, over ``model`` (and ``embedder``, for zero-shot:
    the store's, so the model is loaded once)."""
    engine = engine_for(settings)
    if engine == "adapter":
        return adapter_triage(settings, model)
    if engine == "zero-shot":
        return load_zero_shot(settings, embedder)
    fallback = adapter_triage(settings, model) if settings.triage_unsure == "adapter" else None
    return classifier_triage(load_classifier(settings), settings, fallback)
