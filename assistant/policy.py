"""The triage policy: a team's categories and what each means for priority and hand-over.

Intent datasets label only the category of a message. Priority and "needs a human" are a
team's policy, written down once in a YAML file (``policies/banking77.yaml`` is the shipped
one) and validated here; the data builders derive the triage and escalation replies from it,
and the constrained decoding allows exactly its labels. Change the file, rebuild the data,
retrain (or refit the classifier).

A file names its categories, and per category the ``priority``, ``needs_human`` and, when a
human is needed, the escalation ``reason`` (one of ``REASONS``). A category named
``out_of_scope`` is the one for messages the team does not handle. ``extends: other.yaml``
starts from another policy's categories and adds its own (``banking77-oos.yaml`` adds
``out_of_scope`` to BANKING77).
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from assistant.errors import InputError
from assistant.settings import SHIPPED_ADAPTERS_DIR

Priority = Literal["urgent", "high", "normal", "low"]
EscalationReason = Literal[
    "safety",
    "security",
    "dispute",
    "money_missing",
    "account_action",
    "loss_or_damage",
    "unanswerable",
    "human_requested",
    "unresolved",
    "none",
]
"""Why a request goes to a human. ``safety``: someone is hurt or in danger (an injury, an
accident, a fire or an overheating device, a threat, a medical emergency); ``loss_or_damage``:
something of the customer's was lost, stolen or damaged (a claim a person handles);
``unanswerable``:
the knowledge base has no answer; ``human_requested``: the customer asked for a person;
``unresolved``: a logged answer got negative feedback; ``none``: no escalation. The others
come from a policy's categories."""

PRIORITIES: tuple[Priority, ...] = get_args(Priority)
REASONS: tuple[EscalationReason, ...] = get_args(EscalationReason)

OUT_OF_SCOPE = "out_of_scope"
"""The category of messages a team does not handle (optional in a policy)."""

SHIPPED_POLICY_FILE = SHIPPED_ADAPTERS_DIR / "policies" / "banking77.yaml"
SUPPORT_POLICY_FILE = SHIPPED_ADAPTERS_DIR / "policies" / "support.yaml"
"""The general support policy: categories most help centers share, described for zero-shot
triage (the shipped BANKING77 policy is the worked example the adapter was trained on)."""

GENERIC_SYSTEM_PROMPT = (
    "Triage this support message. Reply with JSON: category, priority and needs_human."
)

# A label becomes a JSON string inside the constrained reply: a quote, a backslash or a
# control character would be escaped there and no longer match the label itself.
_LABEL = re.compile(r'[^"\\\x00-\x1f]+')


class PolicyError(InputError):
    """A policy file, or data checked against one, that cannot be used; names the line."""


class CategoryPolicy(BaseModel):
    """What the policy says about one category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    priority: Priority
    needs_human: bool
    reason: EscalationReason = Field(
        "none", description="Why a human is needed; `none` exactly when needs_human is false."
    )
    description: str = Field(
        "", max_length=300, description="One line on what belongs here (zero-shot triage reads it)."
    )
    examples: tuple[str, ...] = Field(
        (), max_length=20, description="A few messages customers write for it (zero-shot too)."
    )

    @model_validator(mode="after")
    def _reason_matches(self) -> CategoryPolicy:
        # The escalation adapter learns the reason from this field: a hand-over without one
        # (or a reason without a hand-over) would teach it a contradiction.
        if self.needs_human == (self.reason == "none"):
            raise ValueError(
                "give a `reason` other than 'none' exactly when needs_human is true"
                f" (got needs_human={self.needs_human}, reason={self.reason!r})"
            )
        return self


class TriagePolicy(BaseModel):
    """A taxonomy and its policy, as read from a YAML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Short name, recorded with what is trained.")
    description: str = ""
    system_prompt: str = Field(
        GENERIC_SYSTEM_PROMPT,
        min_length=1,
        description="The triage prompt the adapter is trained and asked with.",
    )
    categories: dict[str, CategoryPolicy] = Field(min_length=2)

    # Where each category is defined, for errors about it ("no examples of ...").
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)
    _source: str = PrivateAttr("")

    @model_validator(mode="after")
    def _labels_fit_json(self) -> TriagePolicy:
        for label in self.categories:
            if not _LABEL.fullmatch(label) or label != label.strip():
                raise ValueError(
                    f"category {label!r}: use no quotes, backslashes, control characters or "
                    "surrounding spaces"
                )
        return self

    @property
    def labels(self) -> tuple[str, ...]:
        """The category names, sorted: the allowed values of ``TriageResult.category``."""
        return tuple(sorted(self.categories))

    @property
    def digest(self) -> str:
        """sha256 of the policy's content: identifies it in manifests."""
        # Descriptions and examples only help zero-shot triage read a category; what is fitted
        # or trained under a policy depends on its labels and their policy, not on them.
        words = {"categories": {"__all__": {"description", "examples"}}}
        return hashlib.sha256(self.model_dump_json(exclude=words).encode("utf-8")).hexdigest()

    def where(self, category: str | None = None) -> str:
        """``file:line`` of ``category`` (or of the file) for error messages."""
        line = self._lines.get(category or "")
        return f"{self._source}:{line}" if line else self._source or f"policy {self.name!r}"

    def policy_for(self, category: str) -> CategoryPolicy:
        """The policy of ``category``; ``KeyError`` naming it and the policy if unknown."""
        try:
            return self.categories[category]
        except KeyError:
            raise KeyError(
                f"Category {category!r} is not in the policy {self.name!r} ({self.where()})."
            ) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; a policy with a category twice is a mistake."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise PolicyError(
                    f"{self.name}:{line}: duplicate key {key!r} (first on line {seen[key]})"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _key_lines(node: yaml.Node, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """The line of every mapping key in the YAML tree, by its path."""
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            here = (*path, str(key_node.value))
            lines[here] = key_node.start_mark.line + 1
            lines.update(_key_lines(value_node, here))
    return lines


def parse_policy(text: str, source: str = "<policy>") -> TriagePolicy:
    """The policy in YAML ``text``; ``PolicyError`` naming ``source`` and the line if bad."""
    loader = _UniqueKeyLoader(text)
    loader.name = source
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{source}{where}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy is a mapping with `name` and `categories`")
    lines = _key_lines(node)
    if "extends" in data:
        data = _extended(data, source, lines)
    try:
        policy = TriagePolicy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(str(p) for p in error["loc"])
            # The deepest key of the error's path that the file has (a missing key has none).
            line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), 1)
            problems.append(f"{source}:{line}: {'.'.join(loc) or 'policy'}: {error['msg']}")
        raise PolicyError("\n".join(problems)) from None
    policy._lines = {
        p[1]: line for p, line in lines.items() if len(p) == 2 and p[0] == "categories"
    }
    policy._source = source
    return policy


def _extended(
    data: dict[str, Any], source: str, lines: dict[tuple[str, ...], int]
) -> dict[str, Any]:
    """``data`` on top of the policy its ``extends`` names (a path relative to ``source``):
    the base's categories plus its own, the base's prompt and description unless given."""
    relative = data.pop("extends")
    if not isinstance(relative, str):
        raise PolicyError(f"{source}:{lines[('extends',)]}: extends: give a policy file path")
    base = load_policy(Path(source).parent / relative)
    own = data.get("categories") or {}
    if not isinstance(own, dict):
        raise PolicyError(f"{source}:{lines[('categories',)]}: categories: give a mapping")
    for category in own:
        if category in base.categories:
            raise PolicyError(
                f"{source}:{lines[('categories', str(category))]}: category {category!r} is "
                f"already in {relative}"
            )
    inherited = base.model_dump(include={"system_prompt", "description"})
    categories = {**base.model_dump()["categories"], **own}
    return {**inherited, **data, "categories": categories}


def load_policy(path: Path | None = None) -> TriagePolicy:
    """The policy file ``path`` (the shipped BANKING77 policy if None); ``PolicyError`` if bad."""
    if path is None:
        return shipped_policy()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the policy file {path}: {exc}") from None
    return parse_policy(text, str(path))


@cache
def shipped_policy() -> TriagePolicy:
    """The shipped BANKING77 policy (read once: it is part of the package)."""
    return parse_policy(SHIPPED_POLICY_FILE.read_text(encoding="utf-8"), str(SHIPPED_POLICY_FILE))


@cache
def support_policy() -> TriagePolicy:
    """The shipped general support policy (read once)."""
    return parse_policy(SUPPORT_POLICY_FILE.read_text(encoding="utf-8"), str(SUPPORT_POLICY_FILE))


def policy_for(intent: str) -> CategoryPolicy:
    """The shipped policy of ``intent``; ``KeyError`` naming the intent if it has none."""
    return shipped_policy().policy_for(intent)
