from __future__ import annotations

import json
from pathlib import Path

from assistant.loaders import LoadError, load_documents
from assistant.schemas import Document


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
        ("notes.txt", "notes", "text"),
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
