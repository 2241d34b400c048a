"""PDF and Word files written by the tests themselves, with real writers (fpdf2, python-docx):
headings, paragraphs and a table, so a reader that loses structure fails a test."""

from __future__ import annotations

from pathlib import Path

import docx
from fpdf import FPDF
from PIL import Image

PLANS_INTRO = "Compare the plans before you upgrade:"
PLANS = [
    ["Plan", "Seats", "Storage", "Support"],
    ["Free", "3", "5 GB", "Community forum"],
    ["Team", "25", "100 GB", "Email within one business day"],
    ["Business", "250", "1 TB", "Phone and email around the clock"],
    ["Enterprise", "Unlimited", "Unlimited", "A named account manager"],
]
BACKUPS = (
    "Backups run every night at two in the morning and are kept for thirty days. "
    "Restore a backup from the admin console under Data, then Backups."
)
SECURITY = (
    "Single sign-on works with any SAML 2.0 identity provider. "
    "Turn it on under Settings, then Security, and test it with a second browser."
)


RUNNING_HEADER = "ACME WORKSPACE ADMIN GUIDE"


class _RunningPdf(FPDF):
    """A PDF whose every page has a bold header in large type and a "Page n of N" footer."""

    def header(self) -> None:
        self.set_font("Helvetica", style="B", size=14)
        self.cell(text=RUNNING_HEADER, new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(text=f"Page {self.page_no()} of {{nb}}")


def write_pdf(path: Path, *, copies: int = 1, running: bool = False) -> Path:
    """A PDF with a text layer: a title, then per copy a "Plans" section with a ruled table on
    one page and "Security" and "Backups" sections on the next; `running` adds a header and a
    footer to every page."""
    pdf = _RunningPdf() if running else FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    for n in range(copies):
        suffix = f" {n + 1}" if copies > 1 else ""
        pdf.add_page()
        if n == 0:
            _heading(pdf, "Admin guide", 22)
            _paragraph(pdf, "This guide is for the people who run the workspace.")
        _heading(pdf, f"Plans{suffix}", 16)
        _paragraph(pdf, PLANS_INTRO)
        pdf.set_font("Helvetica", size=10)
        with pdf.table() as table:
            for values in PLANS:
                row = table.row()
                for value in values:
                    row.cell(value)
        pdf.add_page()
        _heading(pdf, f"Security{suffix}", 16)
        _paragraph(pdf, SECURITY)
        _heading(pdf, f"Backups{suffix}", 16)
        _paragraph(pdf, BACKUPS)
    pdf.output(str(path))
    return path


def write_scanned_pdf(path: Path) -> Path:
    """A PDF whose only page is an image: what a scanner writes, with no text layer."""
    pdf = FPDF()
    pdf.add_page()
    pdf.image(Image.new("RGB", (200, 100), "white"), x=10, y=10, w=100)
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    """A Word file with a title, heading styles, a bulleted list and a table."""
    document = docx.Document()
    document.core_properties.title = "Admin guide"
    document.add_heading("Admin guide", level=1)
    document.add_paragraph("This guide is for the people who run the workspace.")
    document.add_heading("Plans", level=2)
    document.add_paragraph(PLANS_INTRO)
    table = document.add_table(rows=len(PLANS), cols=len(PLANS[0]))
    for cells, values in zip(table.rows, PLANS, strict=True):
        for cell, value in zip(cells.cells, values, strict=True):
            cell.text = value
    document.add_heading("Security", level=2)
    document.add_paragraph(SECURITY)
    document.add_paragraph("Require two-factor sign-in", style="List Bullet")
    document.add_heading("Backups", level=3)
    document.add_paragraph(BACKUPS)
    document.save(str(path))
    return path


def _heading(pdf: FPDF, text: str, size: int) -> None:
    pdf.set_font("Helvetica", style="B", size=size)
    pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


WARRANTY = [
    ["Region", "Warranty", "Covers"],
    ["EU", "2 years", "Parts and labour"],
    ["United States", "1 year", "Parts only"],
    ["Rest of the world", "1 year", "Parts and labour"],
]


def write_warranty_docx(path: Path) -> Path:
    """A Word file whose warranty terms are a table, one row per region, under a lead-in."""
    document = docx.Document()
    document.add_heading("Warranty", level=1)
    document.add_paragraph("Every device comes with a warranty that depends on where you live.")
    table = document.add_table(rows=len(WARRANTY), cols=len(WARRANTY[0]))
    for cells, values in zip(table.rows, WARRANTY, strict=True):
        for cell, value in zip(cells.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("Keep your receipt: a claim needs the date of purchase.")
    document.save(str(path))
    return path
