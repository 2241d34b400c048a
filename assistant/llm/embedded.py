"""``EmbeddedChatModel``: a langchain-core chat model running a local HF model in-process.

This module stays cheap to import (no torch, no transformers) so that the gateway and unit
tests can refer to the class; the weights load on first use or on ``load()``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ChatMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import BaseModel, ConfigDict, PrivateAttr

from assistant.settings import Settings

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from assistant.llm.in_process import Sampling, TransformersEngine

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


class CallOptions(BaseModel):
    """Per-call keyword arguments understood by ``EmbeddedChatModel`` (``invoke(msgs, **kw)`` or
    ``bind(**kw)``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    adapter: str | None = None
    """LoRA adapter folder name under ``adapters_dir``; None = the base model."""
    choices: list[str] | None = None
    """Reply with exactly one of these, chosen by likelihood; scores in response_metadata."""
    regex: str | None = None
    """Constrain decoding so the whole reply matches this regex."""
    max_new_tokens: int | None = None


class EmbeddedChatModel(BaseChatModel):
    """A Hugging Face causal LM in this process, with per-call LoRA adapters and constraints.

    Build it with ``from_settings``. Per-call options: see ``CallOptions``. Greedy when
    ``temperature`` is 0. The loaded model is cached on the instance; share the instance.
    """

    model_folder: Path
    adapters_dir: Path | None = None
    max_new_tokens: int = 160
    temperature: float = 0.0
    torch_threads: int | None = None

    _engine: TransformersEngine | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedChatModel:
        """The model ``settings`` describe; converts the packaged GGUF on first use ever."""
        from assistant.llm.packaged import resolve_model_folder

        return cls(
            model_folder=resolve_model_folder(settings),
            adapters_dir=settings.adapters_dir,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            torch_threads=settings.torch_threads,
        )

    @property
    def _llm_type(self) -> str:
        return "embedded-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_folder": str(self.model_folder),
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
        }

    def usable_adapters(self) -> dict[str, Path]:
        """The adapters of ``adapters_dir`` trained on this model's base (name -> folder); the
        others are left out with a warning (``AdapterRegistry.usable``). Hashes the base's
        weights (~0.5 GB for the packaged model: a second or two)."""
        from assistant.llm.manifest import base_model_id, base_model_info
        from assistant.llm.registry import AdapterRegistry

        if self.adapters_dir is None:
            return {}
        base = base_model_info(self.model_folder, base_model_id(self.model_folder))
        return {a.name: a.folder for a in AdapterRegistry(self.adapters_dir).usable(base)}

    def load(self) -> TransformersEngine:
        """Load the weights now (otherwise the first call does); returns the loaded engine.

        Raises ``ModelUnavailableError`` if the folder cannot be loaded.
        """
        if self._engine is None:
            from assistant.llm.in_process import TransformersEngine

            self._engine = TransformersEngine(
                self.model_folder, self.adapters_dir, self.torch_threads
            )
        return self._engine

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        options = CallOptions(**kwargs)
        engine = self.load()
        chat = to_chat(messages)
        if options.choices is not None:
            message = self._choose(engine, chat, options)
        else:
            out = engine.generate(chat, self._sampling(options, stop), options.adapter)
            message = AIMessage(
                content=out.text,
                response_metadata=self._metadata(options, finish_reason=out.finish_reason),
                usage_metadata=UsageMetadata(
                    input_tokens=out.prompt_tokens,
                    output_tokens=out.completion_tokens,
                    total_tokens=out.prompt_tokens + out.completion_tokens,
                ),
            )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        options = CallOptions(**kwargs)
        engine = self.load()
        chat = to_chat(messages)
        if options.choices is not None:
            # A choice is scored, not generated: it arrives whole, in one chunk.
            message = self._choose(engine, chat, options)
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content=message.content, response_metadata=message.response_metadata
                )
            )
            return
        sampling = self._sampling(options, stop)
        for piece in engine.stream(chat, sampling, options.adapter):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", response_metadata=self._metadata(options))
        )

    def _choose(
        self, engine: TransformersEngine, chat: list[dict[str, str]], options: CallOptions
    ) -> AIMessage:
        choices = options.choices or []
        if not choices:
            raise ValueError("`choices` must hold at least one option.")
        if options.regex is not None:
            raise ValueError("Pass either `choices` or `regex`, not both.")
        scores = engine.score(chat, choices, options.adapter)
        best = max(range(len(choices)), key=scores.__getitem__)
        return AIMessage(
            content=choices[best],
            response_metadata=self._metadata(
                options,
                finish_reason="stop",
                choice_scores=dict(zip(choices, scores, strict=True)),
            ),
        )

    def _sampling(self, options: CallOptions, stop: Sequence[str] | None) -> Sampling:
        from assistant.llm.in_process import Sampling

        return Sampling(
            max_new_tokens=options.max_new_tokens or self.max_new_tokens,
            temperature=self.temperature,
            regex=options.regex,
            stop=tuple(stop or ()),
        )

    def _metadata(self, options: CallOptions, **extra: Any) -> dict[str, Any]:
        return {"model_name": self.model_folder.name, "adapter": options.adapter, **extra}


def to_chat(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """Messages as the ``{"role", "content"}`` turns a tokenizer's chat template expects."""
    turns = []
    for message in messages:
        role = message.role if isinstance(message, ChatMessage) else _ROLES.get(message.type)
        if role is None:
            raise ValueError(f"Cannot send a {message.type!r} message to the embedded model.")
        turns.append({"role": role, "content": str(message.text)})
    return turns
