"""Clarifying questions that name what the retrieved passages distinguish.

A vague question ("What services does the clinic provide?") is searched first; the distinct
documents found are the options the customer can choose between, named by their title, their
heading or, where a passage has neither, its opening words. Web page titles carry their site
("Police Explorers | Auburn, CA", "Missions - NASA"): an option is named by the page part
alone unless that would make two options read the same. No options found: the caller asks the
model for a question instead.

`vague_opening` is the rule that asks before any judge reads the search: a conversation's
first message that names nothing to look up ("error", "it doesn't work", "How do I change
it?", `assistant.wording.too_vague`) cannot be answered as asked in any knowledge base,
and what the search found is what the customer can be asked to choose from.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.ingestion.chunking import SECTION_SEPARATOR
from assistant.schemas import RetrievedChunk
from assistant.turn.citations import strip_markers
from assistant.wording import too_vague

MAX_OPTIONS = 3
OPTION_WORDS = 8
# "Page - Site": a trailing part of at most this many words after " - " names the site.
SITE_WORDS = 3


def option_name(chunk: RetrievedChunk) -> str:
    """What a customer would call the passage: its title, heading path, or opening words."""
    label = chunk.title or chunk.section.split(SECTION_SEPARATOR)[-1]
    if not label.strip():
        first = strip_markers(chunk.text).strip().splitlines()[0] if chunk.text.strip() else ""
        words = first.split()
        label = " ".join(words[:OPTION_WORDS]) + ("…" if len(words) > OPTION_WORDS else "")
    return " ".join(label.split()).rstrip(" .:;,")


def page_name(name: str) -> str:
    """`name` less the site a web page title carries ("Page | Site", "Page - Site")."""
    page = name.split(" | ")[0].strip()
    head, dash, site = page.rpartition(" - ")
    if dash and head.strip() and len(site.split()) <= SITE_WORDS:
        page = head.strip()
    return page or name


def clarifying_question(chunks: Sequence[RetrievedChunk]) -> str | None:
    """A question naming up to `MAX_OPTIONS` distinct documents among `chunks` (rank order)."""
    options: list[str] = []
    fulls: list[str] = []
    for chunk in chunks:
        full = option_name(chunk)
        if not full or full.casefold() in {f.casefold() for f in fulls}:
            continue
        short = page_name(full)
        taken = {o.casefold() for o in options}
        # Two pages of one name on two sites are told apart by the site.
        options.append(full if short.casefold() in taken else short)
        fulls.append(full)
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
    # The form of the MTRAG-UN clarifying references: the options found, then the question.
    return (
        f"There are a few pages you might be asking about, like {listed}. "
        "Which one are you referring to?"
    )


def vague_opening(question: str, previous: str, chunks: Sequence[RetrievedChunk]) -> bool:
    """Ask which one is meant: `question` opens the conversation (no `previous` user turn),
    names nothing to look up, and its search found pages to name. However close they came:
    a message that names nothing is close to no page, so no cosine floor tells an off-topic
    one apart from it."""
    return not previous.strip() and too_vague(question) and bool(chunks)
