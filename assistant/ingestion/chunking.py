"""Structure-aware chunking: split at headings, merge paragraphs, never split a table or code.

Each format is first read into `Block`s (a piece of text, its heading path, whether it may be
split); `_pack` then merges a section's blocks into chunks of at most `max_chars`, except that a
table or code block longer than that stays whole as its own chunk.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import groupby
from typing import Literal

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from markdown_it import MarkdownIt

from assistant.ingestion.markdown_text import pipe_table
from assistant.schemas import Chunk, Document

# Fixed namespace: chunk ids must be identical on every machine and in every release.
CHUNK_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://hybrid-assistant/chunk")
SECTION_SEPARATOR = " > "
PAGE_BREAK = "\f"

BlockKind = Literal["text", "list", "atomic"]


@dataclass(frozen=True)
class Block:
    """A unit of a document in reading order. `parts` are the places it may be split at."""

    kind: BlockKind
    text: str
    section: tuple[str, ...]
    parts: tuple[str, ...] = ()
    page: int | None = None


def chunk_document(doc: Document, max_chars: int) -> list[Chunk]:
    """Split `doc` into chunks of at most `max_chars` along its structure.

    The document's `format` picks the reader. Chunk ids derive from tenant, doc_id, section and
    text, so chunking the same document again gives the same ids. A table or code block longer
    than `max_chars` becomes one chunk of its own rather than being cut. A paged document's
    chunks never span pages: each has its `page`, and its `source` names it ("a.pdf, p. 3").
    """
    if doc.format == "markdown":
        blocks = markdown_blocks(doc.text)
    elif doc.format == "pages":
        blocks = paged_markdown_blocks(doc.text)
    elif doc.format == "html":
        blocks = html_blocks(doc.text)
    elif doc.format == "plain":
        blocks = plain_text_blocks(doc.text)
    else:
        blocks = text_blocks(doc.text)
    chunks: list[Chunk] = []
    seen: Counter[tuple[str, str]] = Counter()
    for section_path, page, text in _pack(blocks, max_chars):
        section = SECTION_SEPARATOR.join(section_path)
        # Identical text twice in one section would collide; the repeat count separates them.
        repeat = seen[(section, text)]
        seen[(section, text)] += 1
        # The page is part of a paged chunk's id: text that moves to another page must be
        # rewritten, or its stored page and citation would go stale.
        key = text if page is None else f"{text}\x1fp{page}"
        chunks.append(
            Chunk(
                chunk_id=chunk_id(doc.tenant, doc.doc_id, section, key, repeat),
                doc_id=doc.doc_id,
                tenant=doc.tenant,
                text=text,
                title=doc.title,
                url=doc.url,
                source=doc.source if page is None else f"{doc.source}, p. {page}",
                section=section,
                page=page,
                position=len(chunks),
                content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                metadata=doc.metadata,
            )
        )
    return chunks


def chunk_id(tenant: str, doc_id: str, section: str, text: str, repeat: int = 0) -> str:
    """The stable UUID of a chunk; its position is left out so edits elsewhere keep the id."""
    key = "\x1f".join((tenant, doc_id, section, text, str(repeat)))
    return str(uuid.uuid5(CHUNK_NAMESPACE, key))


# --- readers ----------------------------------------------------------------------------------


class _HeadingPath:
    """The headings above the current point of a document, outermost first."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        """A heading of `level` closes every open heading of the same or a deeper level."""
        self._stack = [h for h in self._stack if h[0] < level]
        self._stack.append((level, title))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self._stack)


def paged_markdown_blocks(text: str) -> list[Block]:
    """Markdown pages separated by form feeds; headings carry over from page to page."""
    headings = _HeadingPath()
    return [
        replace(block, page=number)
        for number, page in enumerate(text.split(PAGE_BREAK), start=1)
        for block in markdown_blocks(page, headings)
    ]


def markdown_blocks(text: str, headings: _HeadingPath | None = None) -> list[Block]:
    """Read Markdown with markdown-it: top-level tokens are the blocks, `map` gives their lines.

    `headings` carries the heading path in from text read before this one.
    """
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(text)
    lines = text.splitlines()
    headings = headings or _HeadingPath()
    blocks: list[Block] = []

    def source(span: list[int] | None) -> str:
        return "\n".join(lines[span[0] : span[1]]).strip() if span else ""

    for i, token in enumerate(tokens):
        if token.level != 0 or token.nesting == -1:
            continue
        section = headings.path
        if token.type == "heading_open":
            headings.enter(int(token.tag[1]), tokens[i + 1].content.strip())
        elif token.type in ("fence", "code_block", "table_open"):
            blocks.append(Block("atomic", source(token.map), section))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            # This list's own items: its level-1 item tokens up to its closing token.
            close = next(j for j in range(i + 1, len(tokens)) if tokens[j].level == 0)
            items = tuple(
                source(t.map)
                for t in tokens[i + 1 : close]
                if t.type == "list_item_open" and t.level == 1
            )
            blocks.append(Block("list", source(token.map), section, items))
        elif token.type in ("paragraph_open", "blockquote_open", "html_block"):
            blocks.append(Block("text", source(token.map), section))
    return [b for b in blocks if b.text]


_HTML_BLOCK_TAGS = frozenset(
    ["h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "pre", "table", "blockquote", "dl"]
)
_HTML_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "dfn", "em", "i", "img", "kbd"}
    | {"label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u"}
    | {"var", "wbr"}
)
# <nav> and <footer> are the site's chrome around the article ("© 2026 Brewbox GmbH. All
# rights reserved." was quoted in an answer about return shipping); <header> stays: article
# pages put their title there.
_HTML_DROP_TAGS = ("script", "style", "noscript", "template", "head", "nav", "footer")


def html_blocks(text: str) -> list[Block]:
    """Read HTML with BeautifulSoup: h1-h6 set the heading path, tables become pipe tables."""
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(_HTML_DROP_TAGS):
        tag.decompose()
    headings = _HeadingPath()
    blocks: list[Block] = []
    loose: list[str] = []  # inline text outside any block element, e.g. directly in a <div>

    def flush_loose() -> None:
        joined = _squash(" ".join(loose))
        loose.clear()
        if joined:
            blocks.append(Block("text", joined, headings.path))

    # A stack of the open containers' children, not recursion: a page may nest <div>s deeper
    # than Python's recursion limit.
    stack: list[Iterator[PageElement]] = [iter(soup.children)]
    while stack:
        child = next(stack[-1], None)
        if child is None:  # the container is done
            stack.pop()
            flush_loose()
            continue
        if isinstance(child, NavigableString):
            loose.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _HTML_INLINE_TAGS:
            loose.append(child.get_text(" "))
            continue
        flush_loose()
        if name in _HTML_BLOCK_TAGS:
            _html_block(child, name, headings, blocks)
        else:
            stack.append(iter(child.children))  # a container such as <div> or <section>
    return [b for b in blocks if b.text]


def _html_block(
    element: Tag,
    name: str,
    headings: _HeadingPath,
    blocks: list[Block],
) -> None:
    section = headings.path
    if name[0] == "h" and name[1:].isdigit():
        headings.enter(int(name[1]), _squash(element.get_text(" ")))
    elif name == "pre":
        blocks.append(Block("atomic", element.get_text().strip("\n"), section))
    elif name == "table":
        blocks.append(Block("atomic", _html_table(element), section))
    elif name in ("ul", "ol"):
        items = [_squash(li.get_text(" ")) for li in element.find_all("li", recursive=False)]
        marks = (f"{n}." if name == "ol" else "-" for n in range(1, len(items) + 1))
        lines = tuple(f"{mark} {item}" for mark, item in zip(marks, items, strict=True) if item)
        blocks.append(Block("list", "\n".join(lines), section, lines))
    else:
        blocks.append(Block("text", _squash(element.get_text(" ")), section))


# A cell spanning more columns than this is a layout trick, not a table's structure.
_MAX_COLSPAN = 20


def _html_table(table: Tag) -> str:
    """`table` as a Markdown pipe table, its first row the header (as in Word and PDF tables).

    A cell spanning columns is repeated in each, so the cells below stay under their header.
    """
    rows = []
    for row in table.find_all("tr"):
        cells: list[str] = []
        for cell in row.find_all(["th", "td"]):
            span = cell.get("colspan")
            try:
                width = int(span) if isinstance(span, str) else 1
            except ValueError:
                width = 1
            cells.extend([_squash(cell.get_text(" "))] * min(max(width, 1), _MAX_COLSPAN))
        rows.append(cells)
    return pipe_table(rows)


def text_blocks(text: str) -> list[Block]:
    """Passages: one block per paragraph (paragraphs are separated by blank lines)."""
    return [Block("text", p.strip(), ()) for p in re.split(r"\n\s*\n", text) if p.strip()]


# A heading line of a plain-text file: short, opens on a letter or digit, ends on no
# punctuation ("Resetting the router", not "Solid white: connected." or "1. Connect it").
_PLAIN_HEADING = re.compile(r"^(?![-*+•]|\d+[.)]\s)[^\W_][^\n]{0,58}(?<![.!?,;:])$")
_PLAIN_HEADING_WORDS = 8


def split_heading(paragraph: str, *, more_follows: bool = False) -> tuple[str, str] | None:
    """(heading, the text under it) when `paragraph` of a plain-text file opens on a heading
    line: short, ending on no punctuation, with more lines after it in `paragraph` or, when
    `more_follows`, another paragraph after it (see `plain_text_blocks`); else None."""
    first, _, rest = paragraph.strip().partition("\n")
    line = first.strip()
    heading = bool(_PLAIN_HEADING.match(line)) and len(line.split()) <= _PLAIN_HEADING_WORDS
    if heading and (rest.strip() or more_follows):
        return " ".join(line.split()), rest.strip()
    return None


def plain_text_blocks(text: str) -> list[Block]:
    """A plain-text file: paragraphs, each under the heading line above it.

    Help documents saved as text keep their headings as lines of their own ("Resetting the
    router" above its steps). Read as paragraphs only, a heading was glued to the sentence
    below it ("Resetting the router To restore factory settings, ..."), the whole file packed
    into two chunks, and "What does solid orange mean?" was declined. A paragraph's first line
    is a heading when it is short and ends on no punctuation, and either more lines follow it
    or another paragraph does. Headings have no levels in plain text, so each one starts a
    section of its own, except that headings with no text between them nest ("Chapter 2"
    above "Payments" is the path "Chapter 2 > Payments"), so no heading line is lost.
    """
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    blocks: list[Block] = []
    section: tuple[str, ...] = ()
    bare = False  # the section's heading has no text under it yet
    for n, paragraph in enumerate(paragraphs):
        found = split_heading(paragraph, more_follows=n + 1 < len(paragraphs))
        if found is not None:
            heading, paragraph = found
            section = (*section, heading) if bare else (heading,)
            bare = not paragraph
        if paragraph:
            blocks.append(Block("text", paragraph, section))
    return blocks


# --- packing ----------------------------------------------------------------------------------


def _pack(blocks: list[Block], max_chars: int) -> Iterator[tuple[tuple[str, ...], int | None, str]]:
    """Merge the blocks of each section (and page) greedily into chunks of at most `max_chars`."""
    for (section, page), group in groupby(blocks, key=lambda b: (b.section, b.page)):
        current: list[str] = []
        size = 0
        for piece, atomic in _units(list(group), max_chars):
            if atomic and len(piece) > max_chars:
                if current:
                    yield section, page, "\n\n".join(current)
                    current, size = [], 0
                yield section, page, piece
                continue
            if current and size + 2 + len(piece) > max_chars:
                yield section, page, "\n\n".join(current)
                current, size = [], 0
            size += len(piece) + (2 if current else 0)
            current.append(piece)
        if current:
            yield section, page, "\n\n".join(current)


def _units(blocks: list[Block], max_chars: int) -> Iterator[tuple[str, bool]]:
    """The section's pieces in order, as (text, atomic), with lead-ins glued to what they lead.

    A paragraph followed by a list, or ending in ':' before a table or code block, travels with
    it when both fit in one chunk. Text too long for a chunk is cut at items, lines, sentences.
    """
    i = 0
    while i < len(blocks):
        block = blocks[i]
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        leads = nxt is not None and (
            nxt.kind == "list" or (nxt.kind == "atomic" and block.text.endswith(":"))
        )
        if block.kind == "text" and nxt is not None and leads:
            glued = f"{block.text}\n{nxt.text}"
            if len(glued) <= max_chars:
                yield glued, False
                i += 2
                continue
        if block.kind == "atomic":
            yield block.text, True
        elif len(block.text) <= max_chars:
            yield block.text, False
        elif block.parts:
            # A long list is cut between items, a long item further down.
            items = [p for part in block.parts for p in _split_text(part, max_chars)]
            for piece in _greedy(items, max_chars, "\n"):
                yield piece, False
        else:
            for piece in _split_text(block.text, max_chars):
                yield piece, False
        i += 1


# Coarsest first: lines, sentences, words; each with the string that rejoins its pieces.
_SEPARATORS = (
    (re.compile(r"\n+"), "\n"),
    (re.compile(r"(?<=[.!?])\s+"), " "),
    (re.compile(r"\s+"), " "),
)


def _split_text(text: str, max_chars: int, level: int = 0) -> list[str]:
    """Cut text at the coarsest separator that works: lines, then sentences, then words."""
    if len(text) <= max_chars:
        return [text]
    if level == len(_SEPARATORS):
        return [text[i : i + max_chars] for i in range(0, len(text), max_chars)]
    pattern, joiner = _SEPARATORS[level]
    parts = [
        piece
        for part in pattern.split(text)
        if part
        for piece in _split_text(part, max_chars, level + 1)
    ]
    return _greedy(parts, max_chars, joiner)


def _greedy(parts: list[str], max_chars: int, joiner: str) -> list[str]:
    """Join consecutive parts while the result stays within `max_chars`."""
    pieces: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{joiner}{part}" if current else part
        if current and len(candidate) > max_chars:
            pieces.append(current)
            current = part
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _squash(text: str) -> str:
    return " ".join(text.split())
