from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from document_files import PLANS, RUNNING_HEADER, write_docx, write_pdf, write_scanned_pdf

from assistant.ingestion.chunking import chunk_document
from assistant.ingestion.loaders import LoadError, load_documents
from assistant.schemas import Chunk, Document, RetrievedChunk
from assistant.turn.answer_candidates import chunk_sentences


def load(path: Path) -> tuple[list[Document], list[LoadError]]:
    items = list(load_documents(path, tenant="acme"))
    return (
        [i for i in items if isinstance(i, Document)],
        [i for i in items if isinstance(i, LoadError)],
    )


def test_malformed_jsonl_line_is_reported_with_its_number_and_others_load(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    good = {"doc_id": "a", "title": "A", "text": "alpha", "url": "https://x/a"}
    path.write_text(
        "\n".join(
            [
                json.dumps(good),
                '{"doc_id": "b", "text": ',  # truncated
                json.dumps({"doc_id": "c", "text": "gamma", "collection": "govt", "rank": 3}),
                json.dumps({"title": "no id", "text": "delta"}),
            ]
        )
    )

    docs, errors = load(path)

    assert [d.doc_id for d in docs] == ["a", "c"]
    assert [(e.line, str(e).split(": ")[0]) for e in errors] == [
        (2, f"{path}:2"),
        (4, f"{path}:4"),
    ]
    assert "invalid JSON" in errors[0].reason and "doc_id" in errors[1].reason


def test_jsonl_records_map_fields_and_extra_fields_go_to_metadata(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    record = {"doc_id": "c", "title": "C", "text": "t", "collection": "govt", "metadata": {"k": 1}}
    path.write_text(json.dumps(record) + "\n")

    [doc], _ = load(path)

    assert (doc.title, doc.url, doc.tenant, doc.format) == ("C", "", "acme", "text")
    assert doc.source == f"{path}:1"
    assert doc.metadata == {"k": "1", "collection": "govt"}


def test_unsupported_file_type_names_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"PK")

    docs, [error] = load(path)

    assert docs == []
    assert "unsupported file type .pptx" in error.reason
    assert ".md" in error.reason and ".jsonl" in error.reason


def test_missing_file_is_an_error_value(tmp_path: Path) -> None:
    docs, [error] = load(tmp_path / "nope.md")

    assert docs == []
    assert error.source.endswith("nope.md") and "no such file" in error.reason


def test_directory_walk_is_recursive_sorted_and_ids_are_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "guides" / "deep").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "guides" / "setup.md").write_text("intro\n\n# Install\n\nsteps")
    (tmp_path / "guides" / "deep" / "faq.html").write_text("<title>FAQ</title><p>answers</p>")
    (tmp_path / "notes.txt").write_text("plain notes")
    (tmp_path / ".git" / "config.txt").write_text("hidden")

    docs, errors = load(tmp_path)

    assert errors == []
    assert [(d.doc_id, d.title, d.format) for d in docs] == [
        ("guides/deep/faq.html", "FAQ", "html"),
        ("guides/setup.md", "Install", "markdown"),
        ("notes.txt", "notes", "plain"),
    ]
    assert docs[1].source == str(tmp_path / "guides" / "setup.md")


def test_a_single_file_gets_its_name_as_doc_id(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title\n\nbody")

    [doc], _ = load(tmp_path / "a.md")

    assert (doc.doc_id, doc.title) == ("a.md", "Title")


def test_non_utf8_file_is_an_error_value(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))

    _, [error] = load(tmp_path / "latin.txt")

    assert "not UTF-8" in error.reason


# --- PDF and Word -----------------------------------------------------------------------------


def table_chunks(chunks: list[Chunk]) -> list[Chunk]:
    """The chunks holding any row of the plans table."""
    return [c for c in chunks if any(row[0] in c.text for row in PLANS[1:])]


def assert_table_is_one_chunk(chunks: list[Chunk]) -> Chunk:
    [table] = table_chunks(chunks)
    for row in PLANS:
        assert all(value in table.text for value in row), f"row {row} is not in the table chunk"
    return table


def test_pdf_keeps_headings_pages_and_its_table_as_one_chunk(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "guide.pdf")

    [doc], errors = load(path)
    chunks = chunk_document(doc, max_chars=200)  # the table alone is longer

    assert errors == []
    assert (doc.doc_id, doc.title, doc.format) == ("guide.pdf", "Admin guide", "pages")
    table = assert_table_is_one_chunk(chunks)
    assert (table.section, table.page, table.source) == (
        "Admin guide > Plans",
        1,
        f"{path}, p. 1",
    )
    backups = next(c for c in chunks if "Backups run every night" in c.text)
    assert (backups.section, backups.page, backups.source) == (
        "Admin guide > Backups",
        2,
        f"{path}, p. 2",
    )
    assert {c.page for c in chunks} == {1, 2}


def test_a_running_header_and_footer_are_left_out_of_a_pdf(tmp_path: Path) -> None:
    [doc], _ = load(write_pdf(tmp_path / "guide.pdf", copies=2, running=True))
    chunks = chunk_document(doc, max_chars=400)

    assert RUNNING_HEADER not in doc.text and "Page 2 of 4" not in doc.text
    assert [c.section for c in chunks if "Backups run every night" in c.text] == [
        "Admin guide > Backups 1",
        "Admin guide > Backups 2",
    ]
    assert_table_is_one_chunk([c for c in chunks if c.page == 3])


def test_a_page_that_moves_changes_the_chunk_id(tmp_path: Path) -> None:
    [doc], _ = load(write_pdf(tmp_path / "guide.pdf"))
    moved = doc.model_copy(update={"text": "\f" + doc.text})

    before = {c.text: c for c in chunk_document(doc, max_chars=200)}
    after = {c.text: c for c in chunk_document(moved, max_chars=200)}

    assert before.keys() == after.keys()
    assert all(after[t].page == before[t].page + 1 for t in before)  # type: ignore[operator]
    assert not {c.chunk_id for c in before.values()} & {c.chunk_id for c in after.values()}


def test_scanned_pdf_without_text_layer_is_a_clear_error_not_an_empty_document(
    tmp_path: Path,
) -> None:
    write_scanned_pdf(tmp_path / "scan.pdf")
    (tmp_path / "notes.md").write_text("# Notes\n\nStill here.\n", encoding="utf-8")

    docs, errors = load(tmp_path)

    assert [d.doc_id for d in docs] == ["notes.md"]
    assert [e.source for e in errors] == [str(tmp_path / "scan.pdf")]
    assert "no text layer" in errors[0].reason and "OCR" in errors[0].reason


def test_broken_pdf_and_docx_are_reported_per_file(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")

    docs, errors = load(tmp_path)

    assert docs == []
    assert sorted(e.reason.split(" (")[0] for e in errors) == [
        "not a readable PDF",
        "not a readable Word document",
    ]


def test_docx_keeps_heading_styles_and_its_table_as_one_chunk(tmp_path: Path) -> None:
    [doc], errors = load(write_docx(tmp_path / "guide.docx"))
    chunks = chunk_document(doc, max_chars=200)

    assert errors == []
    assert (doc.title, doc.format) == ("Admin guide", "markdown")
    table = assert_table_is_one_chunk(chunks)
    assert (table.section, table.page) == ("Admin guide > Plans", None)
    backups = next(c for c in chunks if "Backups run every night" in c.text)
    assert backups.section == "Admin guide > Security > Backups"
    assert any(c.text.startswith("- Require two-factor") or "\n- Require" in c.text for c in chunks)


TEAM_ROW = "Plan: Team; Seats: 25; Storage: 100 GB; Support: Email within one business day."


def _plans_html(path: Path) -> Path:
    cells = "".join(
        "<tr>" + "".join(f"<{tag}>{v}</{tag}>" for v in row) + "</tr>"
        for tag, row in [("th", PLANS[0]), *(("td", r) for r in PLANS[1:])]
    )
    path.write_text(
        f"<html><body><h1>Admin guide</h1><h2>Plans</h2><table>{cells}</table></body></html>",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("write", [write_pdf, write_docx, _plans_html])
def test_a_pdf_word_or_html_table_is_a_pipe_table_whose_rows_are_answer_units(
    tmp_path: Path, write: Callable[[Path], Path]
) -> None:
    suffix = {write_pdf: "pdf", write_docx: "docx"}.get(write, "html")
    [doc], _ = load(write(tmp_path / f"guide.{suffix}"))
    table = assert_table_is_one_chunk(chunk_document(doc, max_chars=200))

    assert "| Plan | Seats | Storage | Support |\n| --- | --- | --- | --- |\n" in table.text
    units = chunk_sentences(RetrievedChunk(**table.model_dump(), score=1.0))
    assert TEAM_ROW in units
    assert [u for u in units if u.startswith("Plan: ")] == [
        "; ".join(f"{h}: {v}" for h, v in zip(PLANS[0], row, strict=True)) + "."
        for row in PLANS[1:]
    ]
