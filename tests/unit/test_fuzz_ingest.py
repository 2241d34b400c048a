"""Fuzzing ingestion: any Markdown, HTML, text or JSONL is chunked or reported, per file and per
line, and never stops a run with an exception."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

import pytest
from doubles import HashEmbedder
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.ingestion.chunking import SECTION_SEPARATOR, chunk_document
from assistant.ingestion.ingest import ingest_paths
from assistant.ingestion.loaders import LoadError, parse_jsonl
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import DocFormat, Document
from assistant.settings import Settings

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
MAX_CHARS = 200

# Pieces that drive each reader down its branches: headings, lists, tables, fences, nesting.
MARKDOWN_PIECES = [
    "# H1",
    "## H2",
    "###### H6",
    "- item",
    "  - nested item",
    "1. first",
    "> quote",
    "> > deeper",
    "| a | b |",
    "|---|---|",
    "| 1 | 2 |",
    "```",
    "    indented code",
    "<div>html block</div>",
    "***",
    "[link](http://x)",
    "Text [1] with a marker.",
    "A sentence. Another one! And a third?",
    "x" * 250,
    "",
]
HTML_PIECES = [
    "<h1>T</h1>",
    "<h3>",
    "<p>para",
    "</p>",
    "<ul><li>a</li><li>",
    "</ul>",
    "<ol>",
    "<table><tr><td>a</td><th>b",
    "</table>",
    "<pre>code\n  kept</pre>",
    "<div>",
    "</div>",
    "<section>",
    "<script>x()</script>",
    "<b>bold</b>",
    "<br>",
    "&amp; &lt;",
    "<!-- c -->",
    "<title>Doc</title>",
    "<",
    "y" * 250,
]


def pieces_text(pieces: list[str]) -> st.SearchStrategy[str]:
    shaped = st.lists(st.one_of(st.sampled_from(pieces), st.text(max_size=20)), max_size=25)
    return st.one_of(shaped.map("\n".join), shaped.map("".join), st.text(max_size=400))


DOCUMENTS: dict[DocFormat, st.SearchStrategy[str]] = {
    "markdown": pieces_text(MARKDOWN_PIECES),
    "html": pieces_text(HTML_PIECES),
    "text": pieces_text(["\n\n", "\n", " ", ". ", "word", "z" * 250]),
}


def check_chunks(doc: Document) -> None:
    chunks = chunk_document(doc, MAX_CHARS)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    for c in chunks:
        assert c.text.strip(), c
        assert c.content_hash == hashlib.sha256(c.text.encode()).hexdigest()
        assert (c.doc_id, c.tenant) == (doc.doc_id, doc.tenant)


@FUZZ
@given(text=DOCUMENTS["markdown"])
@example(text="> " * 3000 + "deep")
@example(text="- " * 3000 + "deep")
def test_any_markdown_is_chunked(text: str) -> None:
    check_chunks(Document(doc_id="a.md", text=text, format="markdown"))


@FUZZ
@given(text=DOCUMENTS["html"])
# Found by this test: nesting deeper than Python's recursion limit crashed the HTML reader.
@example(text="<div>" * 3000 + "deep")
@example(text="<section><div>" * 1500 + "<p>deep</p>")
def test_any_html_is_chunked(text: str) -> None:
    check_chunks(Document(doc_id="a.html", text=text, format="html"))


@FUZZ
@given(text=DOCUMENTS["text"])
def test_any_text_is_chunked_within_the_limit_and_loses_no_characters(text: str) -> None:
    doc = Document(doc_id="a.txt", text=text, format="text")
    check_chunks(doc)
    chunks = chunk_document(doc, MAX_CHARS)
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    # Plain text has no markup to drop: only whitespace may change between the chunks.
    assert "".join(re.sub(r"\s", "", c.text) for c in chunks) == re.sub(r"\s", "", text)


@FUZZ
@given(text=DOCUMENTS["text"])
def test_any_plain_text_file_is_chunked_and_loses_only_its_heading_lines(text: str) -> None:
    doc = Document(doc_id="a.txt", text=text, format="plain")
    check_chunks(doc)
    chunks = chunk_document(doc, MAX_CHARS)
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    said = "".join(re.sub(r"\s", "", c.text) for c in chunks)
    headings = {part for c in chunks for part in c.section.split(SECTION_SEPARATOR)}
    # Every line is in the chunks' text, or is the heading of a section.
    for line in text.split("\n"):  # as the chunker splits lines: a lone "\r" is no line end
        assert re.sub(r"\s", "", line) in said or " ".join(line.split()) in headings, line


def test_deep_html_keeps_its_text() -> None:
    chunks = chunk_document(
        Document(doc_id="a.html", text="<div>" * 3000 + "deep text", format="html"), MAX_CHARS
    )
    assert [c.text for c in chunks] == ["deep text"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=15),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "doc_id": st.one_of(st.text(max_size=8), JSON_VALUES),
        "text": st.one_of(DOCUMENTS["markdown"], JSON_VALUES),
        "title": JSON_VALUES,
        "url": JSON_VALUES,
        "metadata": JSON_VALUES,
        "collection": JSON_VALUES,
    },
)


@st.composite
def jsonl_texts(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        line = json.dumps(draw(st.one_of(RECORDS, JSON_VALUES)), ensure_ascii=draw(st.booleans()))
        cut = draw(st.sampled_from([None, None, None, 0.5]))
        lines.append(line[: int(len(line) * cut)] if cut else line)
    return "\n".join(lines)


@FUZZ
@given(text=jsonl_texts())
# Found by this test: an escaped unpaired surrogate made a document that crashed chunking,
# and nesting past the recursion limit escaped the line's error.
@example(text='{"doc_id": "a", "text": "\\ud800 hi"}')
@example(text='{"doc_id": "a", "text": ' + "[" * 3000 + "}")
@example(text='{"doc_id": "a", "text": "ok", "metadata": {"k": "\\udfff"}}')
def test_every_jsonl_line_becomes_a_document_or_an_error_naming_it(text: str) -> None:
    items = list(parse_jsonl(text, source="kb.jsonl", tenant="acme"))
    # One item per non-blank line, in order: a bad line never hides its neighbours.
    expected = [n for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    lines = [
        item.line if isinstance(item, LoadError) else int(item.source.rsplit(":", 1)[1])
        for item in items
    ]
    assert lines == expected
    for item in items:
        if isinstance(item, LoadError):
            assert str(item).startswith(f"kb.jsonl:{item.line}: ") and item.reason
        else:
            check_chunks(item)


# --- whole runs: errors per file ---------------------------------------------------------------

SUFFIX_TEXT = {".md": "markdown", ".html": "html", ".txt": "text"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeStore]:
    root = tmp_path_factory.mktemp("fuzz-ingest")
    config = Settings(_env_file=None, qdrant_path=root / "qdrant", data_dir=root)  # type: ignore[call-arg]
    with KnowledgeStore.open(config, embedder=HashEmbedder(), sparse=SparseEncoder()) as opened:
        opened.ensure_collection()
        yield opened


@st.composite
def folders(draw: st.DrawFn) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for n in range(draw(st.integers(1, 4))):
        suffix = draw(st.sampled_from([".md", ".html", ".txt", ".jsonl", ".pdf", ".docx", ".pptx"]))
        if suffix == ".jsonl":
            text = draw(jsonl_texts())
        else:
            text = draw(DOCUMENTS[SUFFIX_TEXT.get(suffix, "text")])  # type: ignore[index]
        data = text.encode("utf-8", "surrogatepass")
        files[f"f{n}{suffix}"] = draw(st.one_of(st.just(data), st.binary(max_size=40)))
    return files


@FUZZ
@given(files=folders())
def test_a_folder_of_any_files_is_ingested_with_each_problem_reported_against_its_file(
    store: KnowledgeStore, tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes]
) -> None:
    folder = tmp_path_factory.mktemp("files")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    report = ingest_paths([folder], store, tenant="acme", max_chars=MAX_CHARS)
    # Every error names the file (and the line, for JSONL) it is about.
    for error in report.errors:
        assert any(error.startswith(f"{folder / name}") for name in files), error
    for name, data in files.items():
        path = str(folder / name)
        reported = [e for e in report.errors if e.startswith(path)]
        if name.endswith(".pptx"):
            assert reported and "unsupported file type" in reported[0]
        elif name.endswith((".pdf", ".docx")):
            # Text or noise is no PDF or Word file; the reader says so, it never raises.
            assert reported and "not a readable" in reported[0]
        elif not _utf8(data):
            assert reported and "not UTF-8" in reported[0]


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
