"""The choices a turn makes per run: the settings' values, or the run's `configurable` keys."""

from __future__ import annotations

from typing import Literal

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.kinds import SearchMode
from assistant.settings import Settings, check_judge_bands


class TurnConfig(BaseModel):
    """What the nodes read per turn, validated as the settings of the same names are.

    The graph is built once; a run (an evaluation variant, a LangGraph Studio setting) changes
    these through `config["configurable"]`, never by rebuilding it. What the graph loads is the
    settings' affair: a choice of `fitted` (router, small talk, judge) or of a citation check
    picks what the settings loaded, and falls back as a missing head does when they did not.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    search_mode: SearchMode
    top_k: int = Field(ge=1, le=100)
    decision_margin: float = Field(ge=0.0)
    router: Literal["fitted", "model"]
    small_talk: Literal["fitted", "model"]
    small_talk_whole: bool
    judge: Literal["fitted", "cosine"]
    clarify: bool
    clarify_vague: bool
    min_relevance: float = Field(ge=-1.0, le=1.0)
    judge_answer_at: float | None = Field(ge=0.0, le=1.0)
    judge_confident_at: float | None = Field(ge=0.0, le=1.0)
    model_judge: bool
    answer_mode: Literal["extractive", "generative"]
    answer_sentences: int = Field(ge=1, le=20)
    answer_words: int = Field(ge=1, le=1000)
    max_rewrites: int = Field(ge=0, le=5)
    no_answer_action: Literal["decline", "escalate"]
    verify_citations: Literal["off", "flag", "remove"]
    triage_hand_over: Literal["offer", "perform", "off"]

    @model_validator(mode="after")
    def _judge_bands_in_order(self) -> TurnConfig:
        check_judge_bands(self.judge_answer_at, self.judge_confident_at)
        return self

    @classmethod
    def from_settings(cls, settings: Settings) -> TurnConfig:
        return cls.model_validate(settings.model_dump(include=set(cls.model_fields)))

    @classmethod
    def from_runnable_config(
        cls, config: RunnableConfig | None, defaults: TurnConfig
    ) -> TurnConfig:
        """`defaults` with each `configurable` key that names a choice taking the run's value;
        other keys (`thread_id`, LangGraph's own) are left alone. A bad value is a
        `ValidationError` naming the key."""
        configurable = (config or {}).get("configurable") or {}
        overrides = {k: v for k, v in configurable.items() if k in cls.model_fields}
        if not overrides:
            return defaults
        return cls.model_validate({**defaults.model_dump(), **overrides})
