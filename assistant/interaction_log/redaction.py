"""Personal data out of the log's free text: the built-in redactor and the user's hook."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from assistant.errors import InteractionLogError
from assistant.interaction_log.record import InteractionRecord

Redactor = Callable[[str], str]
"""A redaction hook: free text in, the text to write out."""

# EscalationDecision.summary's max_length: a redactor that lengthens a summary must not make
# the row unreadable.
_SUMMARY_MAX = 400


def load_redactor(spec: str) -> Redactor | None:
    """The callable `module:function` names; None for an empty spec (no redaction)."""
    if not spec.strip():
        return None
    module_name, _, attribute = spec.strip().partition(":")
    where = f"ASSISTANT_INTERACTION_LOG_REDACTOR={spec!r}"
    if not module_name or not attribute:
        raise InteractionLogError(f"{where}: name the hook as `module:function`.")
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise InteractionLogError(f"{where}: cannot import {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise InteractionLogError(f"{where}: {module_name!r} has no {attribute!r}.")
        target = getattr(target, part)
    if not callable(target):
        raise InteractionLogError(f"{where}: {attribute!r} is not callable.")
    return cast(Redactor, target)


def redact_record(record: InteractionRecord, redact: Redactor) -> InteractionRecord:
    """`record` with `redact` applied to every free-text field (question, its context, answer,
    comment, queries, unsupported sentences, the hand-off summary). Ids and labels are kept."""

    def clean(text: str) -> str:
        result = redact(text)
        if not isinstance(result, str):
            raise InteractionLogError(
                f"the redaction hook returned {type(result).__name__}, not str"
            )
        return result

    update: dict[str, Any] = {
        # An empty question would make the row unreadable (question is required).
        "question": clean(record.question) or "[redacted]",
        "answer": clean(record.answer),
        "context": clean(record.context),
        "queries": [clean(q) for q in record.queries],
        "unsupported_sentences": [clean(s) for s in record.unsupported_sentences],
    }
    if record.comment is not None:
        update["comment"] = clean(record.comment)
    if record.escalation is not None:
        summary = clean(record.escalation.summary)[:_SUMMARY_MAX]
        update["escalation"] = record.escalation.model_copy(update={"summary": summary})
    return record.model_copy(update=update)
