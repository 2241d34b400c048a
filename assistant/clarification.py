"""Clarifying questions that name what the retrieved passages distinguish.

A vague question ("What services does the clinic provide?") is searched first; the distinct
documents found are the options the customer can choose between, named by their title, their
heading or, where a passage has neither, its opening words. No options found: the caller asks
the model for a question instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.citations import strip_markers
from assistant.schemas import RetrievedChunk

MAX_OPTIONS = 3
OPTION_WORDS = 8


def option_name(chunk: RetrievedChunk) -> str:
    """What a customer would call the passage: its title, heading path, or opening words."""
    label = chunk.title or chunk.section.split(" > ")[-1]
    if not label.strip():
        first = strip_markers(chunk.text).strip().splitlines()[0] if chunk.text.strip() else ""
        words = first.split()
        label = " ".join(words[:OPTION_WORDS]) + ("…" if len(words) > OPTION_WORDS else "")
    return " ".join(label.split()).rstrip(" .:;,")


def clarifying_question(chunks: Sequence[RetrievedChunk]) -> str | None:
    """A question naming up to `MAX_OPTIONS` distinct documents among `chunks` (rank order)."""
    options: list[str] = []
    for chunk in chunks:
        name = option_name(chunk)
        if name and name.casefold() not in {o.casefold() for o in options}:
            options.append(name)
        if len(options) == MAX_OPTIONS:
            break
    if not options:
        return None
    if len(options) == 1:
        return (
            f"Do you mean {options[0]}? Tell me a little more about what you need, so I can "
            "find the right answer."
        )
    listed = ", ".join(f'"{o}"' for o in options[:-1]) + f' or "{options[-1]}"'
    return (
        f"Could you tell me which one you mean: {listed}? Or say a little more about what you "
        "need, so I can find the right answer."
    )
