from __future__ import annotations

import hashlib

from assistant.ingestion.chunking import chunk_document
from assistant.schemas import Document

TABLE = "\n".join(
    ["| Plan | Price | Limit |", "|---|---|---|"]
    + [f"| plan-{n} | {n * 10} USD | {n * 1000} requests per day |" for n in range(30)]
)
CODE = "```bash\n" + "\n".join(f"echo step {n} && sleep 1" for n in range(40)) + "\n```"

GUIDE = f"""# Setup

Intro to the product.

## vLLM

Start the server with these steps:

- install the wheel
- pick a model

{TABLE}

## Qdrant

{CODE}

# Usage

Ask a question.
"""


def md(text: str, doc_id: str = "guide.md", tenant: str = "acme") -> Document:
    return Document(doc_id=doc_id, text=text, tenant=tenant, format="markdown", title="Guide")


def test_markdown_table_longer_than_max_chars_stays_one_chunk() -> None:
    chunks = chunk_document(md(GUIDE), max_chars=300)

    assert len(TABLE) > 300
    holding = [c for c in chunks if "| plan-" in c.text]
    assert len(holding) == 1
    assert holding[0].text == TABLE


def test_fenced_code_block_longer_than_max_chars_stays_one_chunk() -> None:
    chunks = chunk_document(md(GUIDE), max_chars=300)

    holding = [c for c in chunks if "echo step" in c.text]
    assert len(holding) == 1
    assert holding[0].text == CODE


def test_each_chunk_keeps_its_heading_path() -> None:
    chunks = chunk_document(md(GUIDE), max_chars=300)

    by_text = {c.text.splitlines()[0]: c.section for c in chunks}
    assert by_text["Intro to the product."] == "Setup"
    assert by_text["Start the server with these steps:"] == "Setup > vLLM"
    assert by_text["```bash"] == "Setup > Qdrant"
    assert by_text["Ask a question."] == "Usage"


def test_a_list_stays_with_the_paragraph_that_leads_into_it() -> None:
    chunks = chunk_document(md(GUIDE), max_chars=300)

    lead = next(c for c in chunks if c.text.startswith("Start the server"))
    assert "- install the wheel\n- pick a model" in lead.text


def test_small_paragraphs_of_a_section_are_merged_up_to_max_chars() -> None:
    text = "# Notes\n\n" + "\n\n".join(f"Paragraph number {n} is short." for n in range(20))

    chunks = chunk_document(md(text), max_chars=200)

    assert 1 < len(chunks) < 20
    assert all(len(c.text) <= 200 for c in chunks)
    assert "\n\n".join(c.text for c in chunks).count("Paragraph number") == 20


def test_a_paragraph_longer_than_max_chars_is_cut_at_sentences() -> None:
    sentences = [f"Sentence {n} says something useful." for n in range(30)]

    chunks = chunk_document(md(" ".join(sentences)), max_chars=200)

    assert len(chunks) > 1
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)


def test_chunk_ids_are_stable_and_derive_from_tenant_doc_and_content() -> None:
    first = chunk_document(md(GUIDE), max_chars=300)
    again = chunk_document(md(GUIDE), max_chars=300)
    other_tenant = chunk_document(md(GUIDE, tenant="globex"), max_chars=300)
    other_doc = chunk_document(md(GUIDE, doc_id="copy.md"), max_chars=300)

    ids = [c.chunk_id for c in first]
    assert ids == [c.chunk_id for c in again]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {c.chunk_id for c in other_tenant}
    assert not set(ids) & {c.chunk_id for c in other_doc}


def test_editing_one_section_changes_only_that_sections_chunk_ids() -> None:
    before = chunk_document(md(GUIDE), max_chars=300)
    after = chunk_document(md(GUIDE.replace("Ask a question.", "Ask two questions.")), 300)

    changed = {c.chunk_id for c in before} ^ {c.chunk_id for c in after}
    assert len(changed) == 2
    assert [c.position for c in after] == list(range(len(after)))


def test_chunks_carry_hash_position_and_document_fields() -> None:
    doc = Document(
        doc_id="a", title="T", text="One.\n\nTwo.", url="", source="kb/a.txt", tenant="acme"
    )

    [chunk] = chunk_document(doc, max_chars=200)

    assert chunk.content_hash == hashlib.sha256(chunk.text.encode()).hexdigest()
    assert (chunk.title, chunk.url, chunk.source, chunk.position) == ("T", "", "kb/a.txt", 0)


def test_html_headings_lists_and_tables() -> None:
    html = """<html><head><title>Help</title><script>var x = 1;</script></head><body>
    <h1>Billing</h1><p>How we <b>bill</b> you.</p>
    <div><h2>Refunds</h2><p>Refunds take:</p><ul><li>5 days</li><li>by card</li></ul>
    <table><tr><th>Method</th><th>Days</th></tr><tr><td>Card</td><td>5</td></tr></table>
    </div></body></html>"""
    doc = Document(doc_id="billing.html", text=html, format="html")

    chunks = chunk_document(doc, max_chars=1000)

    assert [(c.section, c.text) for c in chunks] == [
        ("Billing", "How we bill you."),
        (
            "Billing > Refunds",
            "Refunds take:\n- 5 days\n- by card\n\n| Method | Days |\n| --- | --- |\n| Card | 5 |",
        ),
    ]


def test_a_pages_navigation_and_footer_are_not_part_of_its_text() -> None:
    html = """<html><body><nav><a href="/">Home</a> | <a href="/shop">Shop</a></nav>
    <header><h1>Returns</h1></header><p>Unopened bags can be returned within 30 days.</p>
    <footer><p>Copyright 2026 Brewbox GmbH. All rights reserved.</p></footer></body></html>"""
    doc = Document(doc_id="returns.html", text=html, format="html")

    chunks = chunk_document(doc, max_chars=1000)

    assert [(c.section, c.text) for c in chunks] == [
        ("Returns", "Unopened bags can be returned within 30 days.")
    ]


def test_html_table_longer_than_max_chars_stays_one_chunk() -> None:
    rows = "".join(f"<tr><td>row {n}</td><td>value {n}</td></tr>" for n in range(50))
    doc = Document(doc_id="t.html", text=f"<h1>T</h1><table>{rows}</table>", format="html")

    [chunk] = chunk_document(doc, max_chars=200)

    assert chunk.text.count("\n") == 50  # 50 rows and the delimiter row
    assert chunk.text.startswith("| row 0 | value 0 |\n| --- | --- |")


def test_an_html_table_is_a_pipe_table_its_spanning_cells_repeated_under_each_header() -> None:
    html = """<h1>Warranty</h1><table>
    <thead><tr><th>Region</th><th>Period</th><th>Covers</th></tr></thead>
    <tbody><tr><td>EU</td><td>2 years</td><td>Parts | labour</td></tr>
    <tr><td>US</td><td colspan="2">1 year, parts only</td></tr>
    <tr><td></td><td></td><td></td></tr></tbody></table>"""
    doc = Document(doc_id="w.html", text=html, format="html")

    [chunk] = chunk_document(doc, max_chars=1000)

    assert chunk.text == (
        "| Region | Period | Covers |\n| --- | --- | --- |\n"
        "| EU | 2 years | Parts \\| labour |\n"
        "| US | 1 year, parts only | 1 year, parts only |"
    )


def test_plain_text_splits_at_blank_lines() -> None:
    text = ("First paragraph " * 10) + "\n\n" + ("Second paragraph " * 10) + "\n \n" + "Third."
    doc = Document(doc_id="a.txt", text=text)

    chunks = chunk_document(doc, max_chars=200)

    assert [c.text.split()[0] for c in chunks] == ["First", "Second"]
    assert chunks[1].text.endswith("Third.")
    assert all(c.section == "" for c in chunks)


MANUAL = """Routerly R2 user guide

Setting up your router
1. Connect the grey cable from your modem to the WAN port.
2. Plug in the power adapter.

Resetting the router
To restore factory settings, press and hold the reset button for 10 seconds.

Troubleshooting

What the light means

Solid orange: no internet connection.
Red: hardware fault. Contact support.

Thanks for choosing Routerly."""


def test_a_plain_text_files_heading_lines_start_sections_and_leave_its_text() -> None:
    doc = Document(doc_id="manual.txt", text=MANUAL, format="plain")

    chunks = chunk_document(doc, max_chars=200)

    assert [(c.section, c.text.split("\n")[0]) for c in chunks] == [
        # The title line above the first heading nests it, as a Markdown "# Title" does.
        (
            "Routerly R2 user guide > Setting up your router",
            "1. Connect the grey cable from your modem to the WAN port.",
        ),
        (
            "Resetting the router",
            "To restore factory settings, press and hold the reset button for 10 seconds.",
        ),
        # A heading alone in its paragraph heads the paragraphs after it (two in a row nest);
        # the last line, with nothing after it, is text.
        ("Troubleshooting > What the light means", "Solid orange: no internet connection."),
    ]
    assert chunks[-1].text.endswith("Thanks for choosing Routerly.")
    # Passages ("text": a JSONL record) read as before: paragraphs only.
    passages = chunk_document(doc.model_copy(update={"format": "text"}), max_chars=200)
    assert {c.section for c in passages} == {""}
    assert "Resetting the router\nTo restore" in " ".join(c.text for c in passages)


def test_an_empty_document_has_no_chunks() -> None:
    assert chunk_document(Document(doc_id="e", text=" \n\n "), max_chars=200) == []
