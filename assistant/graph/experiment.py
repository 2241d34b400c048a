"""An A/B experiment on live traffic: variants of the turn, each a set of `TurnConfig` choices.

The experiment file (`ASSISTANT_EXPERIMENT`) names two or more variants with traffic weights.
A thread's variant follows from a hash of the experiment's name and the thread's id, so every
replica and every interface (API, Slack, MCP, batch) puts the same thread in the same variant
without sharing any state, and a thread keeps its variant for its whole life. Renaming the
experiment reshuffles the threads; changing a weight moves only the threads whose hash falls
between the old and the new bucket edge.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import InputError
from assistant.graph.configuration import TurnConfig

# 64 bits of the hash: buckets finer than any weight a team would write.
_HASH_BITS = 64


class Variant(BaseModel):
    """One arm: its name (logged with every turn), its share of new threads, its choices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    weight: float = Field(gt=0, description="Relative share of threads (need not sum to 1).")
    choices: dict[str, Any] = Field(
        default_factory=dict,
        description="`TurnConfig` keys and values this arm overrides; empty = the settings'.",
    )

    @field_validator("choices")
    @classmethod
    def _choices_of_the_turn(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(TurnConfig.model_fields))
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: not a choice of the turn; choose from "
                f"{', '.join(TurnConfig.model_fields)}"
            )
        return value


class Experiment(BaseModel):
    """Variants of one graph's turn, and which one a thread is in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    variants: list[Variant] = Field(min_length=2)

    @model_validator(mode="after")
    def _distinct_names(self) -> Experiment:
        names = [v.name for v in self.variants]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"variant names must differ; repeated: {', '.join(repeated)}")
        return self

    def assign(self, thread_id: str) -> Variant:
        """The variant of `thread_id`: the same for the same experiment name and thread."""
        digest = hashlib.sha256(f"{self.name}\x00{thread_id}".encode()).digest()
        point = int.from_bytes(digest[: _HASH_BITS // 8], "big") / 2**_HASH_BITS
        total = sum(v.weight for v in self.variants)
        edge = 0.0
        for variant in self.variants:
            edge += variant.weight / total
            if point < edge:
                return variant
        return self.variants[-1]  # point within float rounding of 1.0

    def check(self, defaults: TurnConfig) -> None:
        """Raise `InputError` when a variant's value is not one its choice takes (checked
        against the settings' `TurnConfig`, so a service refuses a bad file when it opens)."""
        for variant in self.variants:
            try:
                TurnConfig.from_runnable_config({"configurable": variant.choices}, defaults)
            except ValidationError as exc:
                raise InputError(
                    f"experiment {self.name!r}, variant {variant.name!r}: {_first_error(exc)}"
                ) from None


def load_experiment(path: Path) -> Experiment:
    """The experiment in the YAML file at `path`; `InputError` saying what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the experiment file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not YAML ({' '.join(str(exc).split())})") from None
    try:
        return Experiment.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{path}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
