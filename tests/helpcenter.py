"""A small made-up help center (Cloudnest, a photo backup app) as a team would ingest it.

Markdown (`getting-started.md`, `plans.md` with a price table, `community-tips.md` with an
instruction to the assistant), HTML (`troubleshooting.html`, a table of error codes) under
`tests/fixtures/helpcenter/`, plus a DOCX with a table and a PDF written here. It has no page on
refunds or disputes, nothing about smart-home integrations, and no word of any benchmark.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import docx
from fpdf import FPDF

FIXTURE = Path(__file__).parent / "fixtures" / "helpcenter"

RETENTION = [
    ("Region", "Data center", "Kept after the account is closed"),
    ("European Union", "Frankfurt", "30 days"),
    ("United States", "Oregon", "90 days"),
    ("Asia Pacific", "Singapore", "60 days"),
]


def write_helpcenter(folder: Path) -> Path:
    """The help center's files in `folder` (created), ready for `ingest_paths`."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in FIXTURE.iterdir():
        shutil.copy(path, folder / path.name)
    _write_retention_docx(folder / "data-retention.docx")
    _write_family_pdf(folder / "family-sharing.pdf")
    return folder


def _write_retention_docx(path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Data retention"
    document.add_heading("Data retention", level=1)
    document.add_paragraph(
        "Your photos are stored in the data center of your region. When you close your "
        "account, we keep your library for a while so that you can change your mind."
    )
    table = document.add_table(rows=len(RETENTION), cols=len(RETENTION[0]))
    for cells, values in zip(table.rows, RETENTION, strict=True):
        for cell, value in zip(cells.cells, values, strict=True):
            cell.text = value
    document.save(str(path))


def _write_family_pdf(path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=20)
    pdf.cell(text="Family sharing", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(
        0,
        6,
        "The Plus and Pro plans can be shared with up to five family members. Open "
        "Account > Family, tap Invite and enter their email address. Each member gets a "
        "private library; the storage of the plan is shared.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.output(str(path))
