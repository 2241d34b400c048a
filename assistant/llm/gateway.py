"""The one interface the graph uses to call a model, whatever the backend.

Each function takes any ``BaseChatModel``. Constraints go to the backend that can enforce
them: structured outputs on an OpenAI-compatible server (vLLM), option scoring or xgrammar in
the embedded model. Any other chat model (the fakes in unit tests) is called plainly and its
reply is checked instead.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, TypeGuard

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.errors import ModelOutputError
from assistant.settings import Settings

if TYPE_CHECKING:  # langchain-openai takes a second to import: the embedded backend never needs it
    from langchain_openai.chat_models.base import BaseChatOpenAI


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model for ``settings.backend``: embedded SmolLM2 or an OpenAI-compatible server.

    The embedded model converts the packaged GGUF on first use ever, but loads its weights only
    on the first call (or ``EmbeddedChatModel.load()``). Build one per process and share it.
    """
    if settings.backend == "openai":
        from assistant.llm.openai_compatible import build_openai_chat_model

        return build_openai_chat_model(settings)
    return EmbeddedChatModel.from_settings(settings)


def is_openai_model(model: BaseChatModel) -> TypeGuard[BaseChatOpenAI]:
    """Whether ``model`` is a langchain-openai chat model (an OpenAI-compatible server).

    Never imports langchain-openai: until something has imported it, no model can be one.
    """
    module = sys.modules.get("langchain_openai.chat_models.base")
    return module is not None and isinstance(model, module.BaseChatOpenAI)


def complete(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    *,
    adapter: str | None = None,
    regex: str | None = None,
    json_schema: dict[str, Any] | None = None,
) -> str:
    """The model's reply to ``messages`` as text.

    ``adapter`` selects a LoRA adapter by name (ignored by models without adapters).
    ``regex`` constrains decoding so the whole reply matches it, where the backend can (the
    embedded model, vLLM); ``json_schema`` makes it JSON that validates against the schema
    (vLLM's structured outputs; the embedded model does not take schemas). Either is a steer,
    not a promise: other chat models (test doubles, a server without structured outputs) are
    called plainly, and a reply cut at the token limit is returned as it is. Callers parse and
    check what they rely on.
    """
    structured: dict[str, Any] | None = None
    if json_schema is not None:
        structured = {"json": json_schema}
    elif regex is not None:
        structured = {"regex": regex}
    kwargs = _call_kwargs(model, adapter, structured, {"regex": regex})
    with _errors(model, adapter):
        text = str(model.invoke(list(messages), **kwargs).text)
    return text


def choose(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    options: Sequence[str],
    *,
    adapter: str | None = None,
) -> str:
    """One of ``options``, as the model's reply to ``messages``; always an element of it.

    Raises ``ModelOutputError`` when a model that cannot be constrained names none of them.
    """
    if not options:
        raise ValueError("choose() needs at least one option.")
    choices = list(options)
    kwargs = _call_kwargs(model, adapter, {"choice": choices}, {"choices": choices})
    with _errors(model, adapter):
        reply = str(model.invoke(list(messages), **kwargs).text)
    return match_option(reply, choices)


def choice_scores(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    options: Sequence[str],
    *,
    adapter: str | None = None,
) -> dict[str, float] | None:
    """Each option's length-normalised log-likelihood as the reply, where the backend scores
    options (the embedded model); None where it only returns the choice (a server, a fake)."""
    if not isinstance(model, EmbeddedChatModel):
        return None
    choices = list(options)
    with _errors(model, adapter):
        reply = model.invoke(list(messages), adapter=adapter, choices=choices)
    scores: dict[str, float] = reply.response_metadata["choice_scores"]
    return scores


def stream(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    *,
    adapter: str | None = None,
    regex: str | None = None,
) -> Iterator[str]:
    """The model's reply to ``messages`` as text pieces, as they are generated; ``adapter``
    and ``regex`` as for ``complete`` (a model that cannot stream sends its reply whole)."""
    structured = {"regex": regex} if regex is not None else None
    kwargs = _call_kwargs(model, adapter, structured, {"regex": regex})
    with _errors(model, adapter):
        for chunk in model.stream(list(messages), **kwargs):
            if text := str(chunk.text):
                yield text


def match_option(reply: str, options: Sequence[str]) -> str:
    """The option ``reply`` names: itself (ignoring surrounding space), then ignoring case,
    then the option mentioned first in it as a whole word (the longest if two start there).

    Raises ``ModelOutputError`` when it names none.
    """
    text = reply.strip()
    if text in options:
        return text
    folded = text.casefold()
    for option in options:
        if option.strip().casefold() == folded:
            return option
    mentions = [
        (found.start(), -len(option), index)
        for index, option in enumerate(options)
        if option.strip()
        and (found := re.search(rf"(?<!\w){re.escape(option.strip())}(?!\w)", text, re.I))
    ]
    if mentions:
        return options[min(mentions)[2]]
    raise ModelOutputError(
        f"The model's reply {reply[:200]!r} is none of the allowed options {list(options)}."
    )


def _call_kwargs(
    model: BaseChatModel,
    adapter: str | None,
    structured_outputs: dict[str, Any] | None,
    embedded_extra: dict[str, Any],
) -> dict[str, Any]:
    """Per-call kwargs that carry an adapter and a constraint to ``model``'s backend."""
    if isinstance(model, EmbeddedChatModel):
        return {"adapter": adapter, **embedded_extra}
    if is_openai_model(model):
        kwargs: dict[str, Any] = {}
        if adapter is not None:
            # vLLM serves each LoRA adapter under its own model name.
            kwargs["model"] = adapter
        if structured_outputs is not None:
            # vLLM's field; the older `guided_choice` is silently ignored by vLLM >= 0.30.
            body = dict(model.extra_body or {})
            body["structured_outputs"] = structured_outputs
            kwargs["extra_body"] = body
        return kwargs
    # Other chat models know neither adapters nor constraints; replies are checked instead.
    return {}


def _errors(model: BaseChatModel, adapter: str | None) -> AbstractContextManager[None]:
    if is_openai_model(model):
        from assistant.llm.openai_compatible import server_errors

        return server_errors(model, adapter)
    return nullcontext()
