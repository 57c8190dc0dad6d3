"""PDF fixtures the tests write themselves: plain pages, a title page, an encrypted file, ligatures, a cut-off file.

They stand in for the real-world samples of the data folder (``corpus/pdf-samples``), so the PDF
path is tested from a plain clone; the samples are still read when the data folder has them.
"""

from __future__ import annotations

from pathlib import Path


def text_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    """One page per string, Helvetica 11 (fpdf2); ``title`` goes into the document's metadata."""
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


def encrypted_pdf(path: Path, text: str, password: str = "owl-and-moon") -> Path:
    """A one-page PDF that opens only with ``password`` (AES-128, pypdf)."""
    from pypdf import PdfReader, PdfWriter

    plain = text_pdf(path.with_suffix(".plain.pdf"), [text])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
    with path.open("wb") as out:
        writer.write(out)
    plain.unlink()
    return path


def truncated_pdf(path: Path) -> Path:
    """The first half of a four-page PDF: no cross-reference table, no trailer, streams cut mid-way."""
    whole = text_pdf(path.with_suffix(".whole.pdf"), [f"Page {n} of a report that is cut short. " * 40
                                                       for n in range(1, 5)])
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    whole.unlink()
    return path


def ligature_pdf(path: Path) -> Path:
    """A one-page PDF whose text layer spells words with the fi and fl ligature glyphs.

    The font's encoding maps byte 0x80 to the glyph ``fi`` and 0x81 to ``fl`` (a Differences
    array, as TeX and Ghostscript output does), so a text extractor sees U+FB01 and U+FB02.
    """
    content = (
        b"BT /F1 12 Tf 72 720 Td (The \x80rst \x81ock of mis\x80ts \x81ew over the \x80eld.) Tj ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
        b"/BaseEncoding /WinAnsiEncoding /Differences [128 /fi /fl] >> >>",
    ]
    return _write_objects(path, objects)


def title_page_pdf(path: Path, *, title: str, author: str, date: str, sections: list[tuple[str, str]]) -> Path:
    """A report whose first page is a title page: the title in 24 pt, the author and date in 14 pt.

    Each ``(heading, text)`` of ``sections`` starts a page with the heading in 16 pt over
    its text in 11 pt. Nothing goes into the metadata, so the title is only what is printed.
    """
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=24)
    pdf.multi_cell(0, 12, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=14)
    pdf.multi_cell(0, 8, author, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 8, date, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    welcome = "This report was written for the members of the club and is shared with them alone."
    pdf.multi_cell(0, 6, welcome, new_x="LMARGIN", new_y="NEXT")
    for heading, text in sections:
        pdf.add_page()
        pdf.set_font("Helvetica", size=16)
        pdf.multi_cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def drawing_pdf(path: Path, text: str, path_operations: int) -> Path:
    """One page of ``text`` in 11 pt that also draws a form XObject of ``path_operations`` lines and no text.

    Plain extraction skips such a form; extraction with a visitor parses all of it.
    """
    content = b"BT /F1 11 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET q /Fm1 Do Q"
    drawing = b"".join(
        b"%d %d m %d %d l S\n" % (i % 500, i % 700, (i * 7) % 500, (i * 3) % 700) for i in range(path_operations)
    )
    return _write_objects(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> "
        b"/XObject << /Fm1 6 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /ProcSet [/PDF] >> "
        b"/Length %d >>\nstream\n" % len(drawing) + drawing + b"\nendstream",
    ])


def _write_objects(path: Path, objects: list[bytes]) -> Path:
    """A PDF file of these numbered objects (1 the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path
