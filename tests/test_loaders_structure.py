"""Loaders keep the structure they can see: PDF font sizes and docx styles become Markdown's marks.

The answer units (``rag.answer_units``) read "# " as a heading, a document's first line as
its title and the short lines under it as title-page fields; these tests hold the loaders
to giving them that, with spans and page numbers that still point at the extracted text.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from index import pdf_text
from index.loaders import load_file
from rag import Assistant
from rag.answer_units import FIELD, TITLE, find_units
from tests.conftest import PDF_SAMPLES
from tests.pdfs import drawing_pdf, text_pdf, title_page_pdf

LIMIT = 50_000_000
FINANCES = "The club spent four hundred pounds on new sails and repaired the slipway in spring."
MEMBERS = "Membership grew to sixty-two sailors, eleven of them under eighteen."


def harbour_report(path: Path, title: str = "Harbour Sailing Club Annual Report") -> Path:
    return title_page_pdf(
        path, title=title, author="Prepared by Ada Pennington", date="12 March 2025",
        sections=[("Finances", FINANCES), ("Members", MEMBERS)],
    )


# -- PDF --------------------------------------------------------------------------------------


def test_pdf_title_page_becomes_title_and_fields(tmp_path: Path) -> None:
    got = load_file(harbour_report(tmp_path / "report.pdf"), LIMIT)
    lines = got.text.split("\n")
    # The 24 pt title is marked; the 14 pt author and date under it stay plain title-page lines.
    assert lines[:3] == ["# Harbour Sailing Club Annual Report", "Prepared by Ada Pennington", "12 March 2025"]
    assert got.title == "Harbour Sailing Club Annual Report"  # no metadata: the printed title
    units = find_units(got.text, document_start=True)
    quoted = {(u.kind, got.text[u.span[0] : u.span[1]]) for u in units}
    assert (TITLE, "Harbour Sailing Club Annual Report") in quoted
    assert (FIELD, "Prepared by Ada Pennington") in quoted
    assert (FIELD, "12 March 2025") in quoted


def test_pdf_section_headings_are_marked_on_their_pages(tmp_path: Path) -> None:
    got = load_file(harbour_report(tmp_path / "report.pdf"), LIMIT)
    assert [n for n, _, _ in got.pages] == [1, 2, 3]
    for number, heading, body in ((2, "Finances", FINANCES), (3, "Members", MEMBERS)):
        _, start, end = got.pages[number - 1]
        page = got.text[start:end]
        assert page.split("\n")[0] == f"## {heading}", page
        assert " ".join(page.split("\n")[1:]) == body
    assert "# " not in got.text[got.pages[0][2] :].replace("## ", "")  # body text is never marked


def test_pdf_title_over_two_lines_is_one_heading(tmp_path: Path) -> None:
    title = "Report of the Harbour Sailing Club on the Season of Twenty Twenty-Five and Its Many Regattas"
    got = load_file(harbour_report(tmp_path / "long.pdf", title=title), LIMIT)
    assert got.text.split("\n")[0] == f"# {title}"
    assert got.title == title


def test_pdf_in_one_font_size_has_no_marks(tmp_path: Path) -> None:
    got = load_file(text_pdf(tmp_path / "plain.pdf", ["Short line.\nAnother short line.\nA third one here."]), LIMIT)
    assert "#" not in got.text
    assert got.title == "plain"


def test_pdf_page_drawing_a_big_textless_form_is_read_without_the_visitor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a visitor, pypdf parses every form XObject; without, it skips those without text.
    from pypdf import PageObject

    calls: list[bool] = []
    extract = PageObject.extract_text

    def spy(self: PageObject, *args: Any, **kwargs: Any) -> str:
        calls.append("visitor_text" in kwargs)
        return extract(self, *args, **kwargs)

    monkeypatch.setattr(PageObject, "extract_text", spy)
    heavy = drawing_pdf(tmp_path / "chart.pdf", "The chart shows the tides of March.", 20_000)  # 300 kB
    assert load_file(heavy, LIMIT).text == "The chart shows the tides of March."
    assert calls == [False]
    calls.clear()
    light = drawing_pdf(tmp_path / "logo.pdf", "A page with a small logo.", 50)
    assert load_file(light, LIMIT).text == "A page with a small logo."
    assert calls == [True]


def test_drawing_bytes_counts_textless_forms_only(tmp_path: Path) -> None:
    from pypdf import PdfReader

    page = PdfReader(drawing_pdf(tmp_path / "chart.pdf", "Tides.", 1000)).pages[0]
    assert pdf_text.drawing_bytes(page, 10**9) > 10_000
    plain = PdfReader(text_pdf(tmp_path / "plain.pdf", ["Tides."])).pages[0]
    assert pdf_text.drawing_bytes(plain, 10**9) == 0


def test_marked_pages_is_pure_and_ranks_sizes() -> None:
    line = pdf_text.PdfLine
    body = "Ordinary body text that fills the page and sets the body size of the document."
    pages = [
        [line("Big Title", 24.0), line("Subtitle under it", 16.0), line(body, 10.0)],
        [line("Chapter One", 16.0), line(body, 10.0), line("Σ", 30.0), line(body * 2, 16.0), line(body, 10.0)],
    ]
    got = pdf_text.marked_pages(pages)
    assert got[0].split("\n") == ["# Big Title", "Subtitle under it", body]  # a title-page line
    # a heading two sizes down; a lone big symbol and a long big line are not headings
    assert got[1].split("\n") == ["## Chapter One", body, "Σ", body * 2, body]


@pytest.mark.needs_data("corpus/pdf-samples/crazyones-pdfa.pdf")
def test_crazyones_title_and_date() -> None:
    got = load_file(PDF_SAMPLES / "crazyones-pdfa.pdf", LIMIT)
    assert got.text.split("\n")[:2] == ["# The Crazy Ones", "October 14, 1998"]
    assert got.title == "The Crazy Ones"


@pytest.mark.slow
@pytest.mark.needs_data("corpus/pdf-samples/GeoTopo-komprimiert.pdf")
def test_lecture_script_title_page_and_chapters() -> None:
    got = load_file(PDF_SAMPLES / "GeoTopo-komprimiert.pdf", LIMIT)
    lines = got.text.split("\n")
    assert lines[0].endswith("# Einführung in die Geometrie und Topologie")
    assert "Martin Thoma" in lines[1]
    assert "# Vorwort" in lines
    assert len(got.pages) == 117 or got.pages[-1][0] == 117


# -- a real index: spans and pages of what is quoted ---------------------------------------------


@pytest.mark.slow
def test_pdf_title_page_indexed_with_true_spans_and_pages(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    path = harbour_report(tmp_path / "report.pdf")
    assistant = make_assistant()
    assert assistant.ingest([path]).ok
    extracted = load_file(path, LIMIT)
    answer = assistant.ask("Which club spent money on new sails?")
    assert not answer.abstained
    for citation in answer.citations:
        chunk = citation.chunk
        assert extracted.text[chunk.start : chunk.end] == chunk.text
        number, start, end = extracted.pages[(chunk.page or 1) - 1]
        assert number == chunk.page and start <= chunk.start < chunk.end <= end
    sails = [c for c in answer.citations if "new sails" in c.chunk.text]
    assert sails and sails[0].chunk.page == 2
    assert assistant.sources()[0].title == "Harbour Sailing Club Annual Report"


# -- docx ---------------------------------------------------------------------------------------


def _docx_with_styles(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("Harbour Rules", style="Title")
    document.add_paragraph("Prepared by the harbour master")
    document.add_heading("Moorings", level=2)
    document.add_paragraph("Boats moor on the east pontoon.")
    document.add_paragraph("Check the ropes daily.", style="List Bullet")
    document.add_paragraph("Report damage at once.", style="List Number")
    document.save(str(path))
    return path


def test_docx_title_heading_and_list_styles(tmp_path: Path) -> None:
    text = load_file(_docx_with_styles(tmp_path / "rules.docx"), LIMIT).text
    assert text.split("\n") == [
        "# Harbour Rules", "Prepared by the harbour master", "## Moorings", "Boats moor on the east pontoon.",
        "- Check the ropes daily.", "- Report damage at once.",
    ]


def test_docx_localised_style_ids_and_numbered_paragraphs(tmp_path: Path) -> None:
    """German Word names its heading style "heading 1" but gives it the id "berschrift1"."""
    import zipfile

    source = _docx_with_styles(tmp_path / "rules.docx")
    target = tmp_path / "regeln.docx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename in ("word/document.xml", "word/styles.xml"):
                data = data.replace(b'w:styleId="Heading2"', b'w:styleId="berschrift2"')
                data = data.replace(b'w:val="Heading2"', b'w:val="berschrift2"')
            if item.filename == "word/document.xml":  # a bulleted paragraph in the Normal style
                data = data.replace(
                    b'<w:pPr><w:pStyle w:val="ListBullet"/></w:pPr>',
                    b'<w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr>',
                )
            zout.writestr(item, data)
    assert b"berschrift2" in zipfile.ZipFile(target).read("word/styles.xml")
    lines = load_file(target, LIMIT).text.split("\n")
    assert "## Moorings" in lines
    assert "- Check the ropes daily." in lines


def test_copied_sample_keeps_its_marks_under_another_name(tmp_path: Path) -> None:
    if not (PDF_SAMPLES / "multicolumn.pdf").is_file():
        pytest.skip(f"{PDF_SAMPLES / 'multicolumn.pdf'} is absent (set RAG_DATA_DIR to the data folder)")
    copy = shutil.copy(PDF_SAMPLES / "multicolumn.pdf", tmp_path / "columns.pdf")
    got = load_file(Path(copy), LIMIT)
    assert got.text.split("\n")[:3] == ["# Two-Column Document with Lorem Ipsum", "Your Name", "January 3, 2024"]
