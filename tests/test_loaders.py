"""Loaders against real files of every supported format, generated here (and the data folder's real-world PDFs)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from index.errors import IngestError
from index.loaders import load_file
from index.models import Chunk, chunk_id
from rag import Assistant
from tests.conftest import PDF_SAMPLES
from tests.pdfs import encrypted_pdf, ligature_pdf, text_pdf

LIMIT = 50_000_000
ANIMALS = ("zebras", "penguins", "otters", "falcons")


def indexed_chunks(assistant: Assistant) -> list[Chunk]:
    """Every chunk in the index, found through the manifest (ids are computed, not searched)."""
    ids = [
        chunk_id(r.source, r.doc_hash, i)
        for r in assistant._store.documents().values()
        for i in range(r.chunks)
    ]
    chunks = assistant._store.get_chunks(ids)
    assert len(chunks) == len(ids) == assistant._store.count_chunks()
    return chunks


# -- generated files ------------------------------------------------------------------------


def write_pdf(path: Path, pages: list[str], title: str | None = "Generated Animals Report") -> Path:
    return text_pdf(path, pages, title)


def animal_page(animal: str, sentences: int) -> str:
    return f"This page is about {animal}. " + " ".join(
        f"Fact {k} about {animal}: the {animal} of region {k} were counted by the survey team."
        for k in range(sentences)
    )


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Quarterly Garden Notes", level=1)
    document.add_paragraph("The tomatoes ripened early this year because of the warm spring.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Plant"
    table.cell(0, 1).text = "Harvest"
    table.cell(1, 0).text = "Tomato"
    table.cell(1, 1).text = "July"
    document.add_paragraph("After the table comes a closing paragraph about compost.")
    document.save(str(path))
    return path


HTML = """<!DOCTYPE html>
<html><head>
<title>Lighthouse Keeping Guide</title>
<style>body { color: red; font-family: serif; } .secret-style {}</style>
<script>alert(1); var hiddenToken = "scriptsecret";</script>
</head>
<body>
<nav><a href="/home">Home</a></nav>
<h1>Keeping a lighthouse</h1>
<p>The <b>lamp</b> must be lit at <i>sunset</i> &amp; put out at dawn.</p>
<ul><li>Trim the wick daily.</li><li>Polish the lens weekly.</li></ul>
<script type="text/javascript">document.write("inline script text");</script>
<noscript>Enable JavaScript please</noscript>
<table><tr><td>Shift</td><td>Keeper</td></tr></table>
</body></html>
"""


def test_txt(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Line one of the notes.\r\nLine two   has  spaces.\r\n\r\n\r\n\r\nNew paragraph.", "utf-8")
    got = load_file(path, LIMIT)
    assert got.title == "notes"
    assert got.pages == ()
    assert got.note == ""
    assert got.text == "Line one of the notes.\nLine two has spaces.\n\nNew paragraph."


def test_txt_with_utf8_bom_and_non_ascii(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffCafé crème, naïve façade, Zürich, 東京.".encode())
    got = load_file(path, LIMIT)
    assert got.text == "Café crème, naïve façade, Zürich, 東京."


def test_markdown_title_from_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("\n\n# Setting Up The Assistant\n\nInstall it with pip.\n\n## Next\n\nAsk away.\n", "utf-8")
    got = load_file(path, LIMIT)
    assert got.title == "Setting Up The Assistant"
    assert got.text.startswith("# Setting Up The Assistant")
    assert "Install it with pip." in got.text


@pytest.mark.parametrize("suffix", [".html", ".htm"])
def test_html_text_only(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"lighthouse{suffix}"
    path.write_text(HTML, "utf-8")
    got = load_file(path, LIMIT)
    assert got.title == "Lighthouse Keeping Guide"
    for banned in ("alert(1)", "scriptsecret", "inline script", "color: red", "secret-style", "Enable JavaScript",
                   "<", ">", "&amp;", "href"):
        assert banned not in got.text, f"{banned!r} leaked into the text"
    assert "The lamp must be lit at sunset & put out at dawn." in got.text
    # the structure an answer can quote survives as Markdown's marks: heading, list items, table row
    lines = got.text.split("\n")
    assert "- Trim the wick daily." in lines
    assert "- Polish the lens weekly." in lines
    assert "# Keeping a lighthouse" in lines
    assert "Shift | Keeper" in lines


def test_html_without_title_uses_first_line(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<html><body><h2>Harbour Rules</h2><p>No swimming near the boats.</p></body></html>", "utf-8")
    got = load_file(path, LIMIT)
    assert got.title == "Harbour Rules"


def test_docx_paragraph_and_table(tmp_path: Path) -> None:
    got = load_file(write_docx(tmp_path / "garden.docx"), LIMIT)
    lines = got.text.split("\n")
    assert got.title == "Quarterly Garden Notes"
    assert "The tomatoes ripened early this year because of the warm spring." in lines
    assert "Plant | Harvest" in lines
    assert "Tomato | July" in lines
    assert "# Quarterly Garden Notes" in lines  # a docx heading keeps its level as Markdown's mark
    # Document order is kept: heading, paragraph, table, closing paragraph.
    order = [got.text.index(s) for s in ("Quarterly", "tomatoes ripened", "Tomato | July", "closing paragraph")]
    assert order == sorted(order)


def test_docx_core_title_wins(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "titled.docx"
    document = docx.Document()
    document.core_properties.title = "Official Title"
    document.add_paragraph("Body text of the document.")
    document.save(str(path))
    assert load_file(path, LIMIT).title == "Official Title"


def test_generated_pdf_pages_and_title(tmp_path: Path) -> None:
    pages = [animal_page(a, 6) for a in ANIMALS]
    got = load_file(write_pdf(tmp_path / "animals.pdf", pages), LIMIT)
    assert got.title == "Generated Animals Report"
    assert [p for p, _, _ in got.pages] == [1, 2, 3, 4]
    for (number, start, end), animal in zip(got.pages, ANIMALS, strict=True):
        page_text = got.text[start:end]
        assert page_text.startswith(f"This page is about {animal}."), number
        assert all(other not in page_text for other in ANIMALS if other != animal)
    # Pages are joined by a blank line and the spans tile the text.
    assert got.pages[0][1] == 0 and got.pages[-1][2] == len(got.text)
    for (_, _, end), (_, start, _) in zip(got.pages, got.pages[1:], strict=False):
        assert got.text[end:start] == "\n\n"


def test_generated_pdf_title_falls_back_to_file_name(tmp_path: Path) -> None:
    got = load_file(write_pdf(tmp_path / "untitled-report.pdf", ["Just one page of text."], title=None), LIMIT)
    assert got.title == "untitled-report"


def test_pdf_blank_page_is_skipped_but_numbers_stay_true(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "gap.pdf", ["Page one is about zebras.", "", "Page three is about otters."])
    got = load_file(path, LIMIT)
    assert [p for p, _, _ in got.pages] == [1, 3]
    assert "otters" in got.text[got.pages[1][1] : got.pages[1][2]]


def test_unsupported_suffix_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(IngestError, match=r"unsupported file type \.csv"):
        load_file(path, LIMIT)


def test_ligature_glyphs_are_normalised(tmp_path: Path) -> None:
    got = load_file(ligature_pdf(tmp_path / "ligatures.pdf"), LIMIT)
    assert got.text == "The first flock of misfits flew over the field."
    assert got.pages == ((1, 0, len(got.text)),)


def test_generated_encrypted_pdf_is_an_ingest_error_mentioning_password(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as info:
        load_file(encrypted_pdf(tmp_path / "locked.pdf", "The owl sings to the moon."), LIMIT)
    assert "password" in info.value.reason and info.value.path.endswith("locked.pdf")


# -- the real-world PDFs of the data folder ----------------------------------------------------


@pytest.mark.needs_data("corpus/pdf-samples/pdflatex-4-pages.pdf")
def test_pdflatex_four_pages() -> None:
    got = load_file(PDF_SAMPLES / "pdflatex-4-pages.pdf", LIMIT)
    assert [p for p, _, _ in got.pages] == [1, 2, 3, 4]
    assert got.pages[-1][2] == len(got.text)
    for number, start, end in got.pages:
        assert 0 <= start < end <= len(got.text)
        # pdfTeX puts the page number at the foot of each page.
        assert got.text[start:end].rstrip().endswith(f"\n{number}")
    assert got.text.startswith("Hello, here is some text without a meaning.")


@pytest.mark.needs_data("corpus/pdf-samples/crazyones-pdfa.pdf")
def test_crazyones_ligatures_normalised() -> None:
    got = load_file(PDF_SAMPLES / "crazyones-pdfa.pdf", LIMIT)
    assert "misfits" in got.text
    assert "misﬁts" not in got.text
    for ligature in "\ufb00\ufb01\ufb02\ufb03\ufb04":
        assert ligature not in got.text
    assert got.pages == ((1, 0, len(got.text)),)


@pytest.mark.needs_data("corpus/pdf-samples/libreoffice-writer-password.pdf")
def test_encrypted_pdf_is_an_ingest_error_mentioning_password(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as info:
        load_file(PDF_SAMPLES / "libreoffice-writer-password.pdf", LIMIT)
    assert "password" in info.value.reason
    assert info.value.path.endswith("libreoffice-writer-password.pdf")


# -- through the real pipeline: chunks, pages, answers ----------------------------------------


@pytest.fixture
def formats_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "plain.txt").write_text("The bakery opens at six in the morning and sells rye bread.", "utf-8")
    (folder / "readme.md").write_text(
        "# Bicycle Repair\n\nA flat tyre is fixed with a patch kit and a pump.\n", "utf-8"
    )
    (folder / "lighthouse.html").write_text(HTML, "utf-8")
    (folder / "old.htm").write_text("<html><head><title>Old Page</title></head><body><p>The glacier moved "
                                    "forty metres last winter.</p></body></html>", "utf-8")
    write_docx(folder / "garden.docx")
    # Page 2 is long enough to need several chunks at the default size.
    write_pdf(folder / "animals.pdf", [animal_page("zebras", 4), animal_page("penguins", 40),
                                       animal_page("otters", 4), animal_page("falcons", 4)])
    return folder


@pytest.mark.slow
def test_every_format_ingested_chunked_and_answerable(
    formats_dir: Path, make_assistant: Callable[..., Assistant]
) -> None:
    assistant = make_assistant()
    report = assistant.ingest([formats_dir])
    assert report.ok, report.failed
    assert len(report.added) == 6
    assert assistant.check() == []
    titles = {r.display: r.title for r in assistant.sources()}
    assert titles == {
        "animals.pdf": "Generated Animals Report",
        "garden.docx": "Quarterly Garden Notes",
        "lighthouse.html": "Lighthouse Keeping Guide",
        "old.htm": "Old Page",
        "plain.txt": "plain",
        "readme.md": "Bicycle Repair",
    }
    chunks = indexed_chunks(assistant)
    # Scripts, styles and markup never reach the index.
    for c in chunks:
        assert "alert(1)" not in c.text and "<" not in c.text and "color: red" not in c.text
    # Each chunk's page is the page its text is on (the generated PDF puts one animal per page).
    pdf_chunks = [c for c in chunks if c.display == "animals.pdf"]
    assert len([c for c in pdf_chunks if c.page == 2]) >= 2
    for c in pdf_chunks:
        present = [i for i, a in enumerate(ANIMALS, start=1) if a in c.text]
        assert present == [c.page], (c.page, c.text[:80])
    assert {c.page for c in chunks if c.display != "animals.pdf"} == {None}
    # Chunk offsets point into the extracted text of their document.
    for c in chunks:
        extracted = load_file(Path(c.source), LIMIT).text
        assert extracted[c.start : c.end] == c.text

    expectations = [
        ("When does the bakery open?", "plain.txt", "six in the morning"),
        ("How is a flat tyre fixed?", "readme.md", "patch kit"),
        ("When must the lighthouse lamp be lit?", "lighthouse.html", "sunset"),
        ("How far did the glacier move?", "old.htm", "forty metres"),
        ("Why did the tomatoes ripen early?", "garden.docx", "warm spring"),
        ("Which page is about otters?", "animals.pdf", "otters"),
    ]
    for question, display, phrase in expectations:
        answer = assistant.ask(question)
        assert not answer.abstained, question
        assert answer.citations[0].chunk.display == display, (question, answer.text)
        assert phrase in answer.text
    otters = assistant.ask("Which page is about otters?").citations[0]
    assert otters.chunk.page == 3 and otters.location == "animals.pdf, page 3"


@pytest.mark.needs_data("corpus/pdf-samples/pdflatex-4-pages.pdf")
def test_pdflatex_chunks_carry_their_page(make_assistant: Callable[..., Assistant], tmp_path: Path) -> None:
    copy = tmp_path / "pdflatex-4-pages.pdf"
    shutil.copy(PDF_SAMPLES / "pdflatex-4-pages.pdf", copy)
    assistant = make_assistant()
    report = assistant.ingest([copy])
    assert report.ok and report.added == (str(copy),)
    extracted = load_file(copy, LIMIT)
    chunks = indexed_chunks(assistant)
    assert {c.page for c in chunks} == {1, 2, 3, 4}
    for c in chunks:
        number, start, end = extracted.pages[c.page - 1]  # type: ignore[operator]
        assert number == c.page
        assert start <= c.start < c.end <= end, f"chunk {c.position} leaves page {c.page}"
    assert assistant.sources()[0].pages == 4
