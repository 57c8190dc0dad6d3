"""A loader that changes its output re-reads exactly the documents it read before, and no others.

The versions are ``index.loader_versions.LOADER_VERSIONS``; the tests bump one format's
number (monkeypatched) over a real Chroma index of every format, as a release that
changes that loader would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from evals.perf.recording_embedder import RecordingEmbedder
from index import loader_versions
from index.check import describe
from index.embedding import SentenceTransformerEmbedder
from index.hashing import sha256_file
from index.loader_versions import (
    LOADER_VERSIONS,
    content_hash,
    document_version,
    recorded_loader,
    stale_documents,
)
from index.models import DocumentRecord, chunk_id
from index.store import ChromaStore
from rag import Assistant, Settings
from tests.pdfs import text_pdf, title_page_pdf

SHA = "ab" * 32


def write_corpus(folder: Path) -> Path:
    import docx

    folder.mkdir()
    (folder / "notes.txt").write_text("The ferry leaves the harbour at seven and returns at noon.", "utf-8")
    (folder / "guide.md").write_text("# Knots\n\nA bowline makes a fixed loop at the end of a rope.\n", "utf-8")
    (folder / "rules.html").write_text(
        "<html><head><title>Pier Rules</title></head><body><h1>Pier Rules</h1>"
        "<ul><li>No fishing from the pier head.</li><li>Dogs on a lead.</li></ul></body></html>", "utf-8"
    )
    document = docx.Document()
    document.add_heading("Slipway Booking", level=1)
    document.add_paragraph("Book the slipway two days ahead at the club office.")
    document.save(str(folder / "slipway.docx"))
    title_page_pdf(
        folder / "report.pdf", title="Harbour Sailing Club Annual Report", author="Prepared by Ada Pennington",
        date="12 March 2025", sections=[("Finances", "The club spent four hundred pounds on new sails.")],
    )
    text_pdf(folder / "tides.pdf", ["High tide on Saturday is at four in the afternoon."], title="Tide Table")
    return folder


def chunk_ids(assistant: Assistant) -> set[str]:
    """Every chunk id the manifest names; the store holds exactly these."""
    records = assistant._store.documents().values()
    ids = {chunk_id(r.source, r.doc_hash, i) for r in records for i in range(r.chunks)}
    assert len(assistant._store.get_chunks(sorted(ids))) == len(ids)
    assert assistant._store.count_chunks() == len(ids)
    return ids


def names(sources: Sequence[str]) -> list[str]:
    return sorted(Path(s).name for s in sources)


def expected_versions(folder: Path) -> dict[str, str]:
    """What a clean ingest with today's loaders records for each file."""
    return {str(p): document_version(sha256_file(p), str(p)) for p in sorted(folder.iterdir())}


# -- pure -------------------------------------------------------------------------------------


def test_version_one_is_the_bare_hash_and_later_ones_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(LOADER_VERSIONS, "text", 1)
    monkeypatch.setitem(LOADER_VERSIONS, "pdf", 3)
    assert document_version(SHA, "/d/a.md") == SHA  # indexes from before versions keep their text files
    assert document_version(SHA, "/d/a.PDF") == f"{SHA}+pdf3"
    assert content_hash(f"{SHA}+pdf3") == content_hash(SHA) == SHA
    assert recorded_loader(f"{SHA}+pdf3") == 3 and recorded_loader(SHA) == 1


def test_stale_documents_are_those_of_changed_loaders(monkeypatch: pytest.MonkeyPatch) -> None:
    def record(name: str, version: str, state: str = "complete") -> tuple[str, DocumentRecord]:
        return f"/d/{name}", DocumentRecord(f"/d/{name}", name, name, version, 1, 0, 10, 0.0, state)

    monkeypatch.setitem(LOADER_VERSIONS, "text", 1)
    monkeypatch.setitem(LOADER_VERSIONS, "html", 2)
    monkeypatch.setitem(LOADER_VERSIONS, "pdf", 2)
    records = dict([
        record("a.txt", SHA),  # text loader still at 1
        record("b.html", SHA),  # an old row: no loader named, html has changed since
        record("c.pdf", f"{SHA}+pdf2"),  # current
        record("d.pdf", f"{SHA}+pdf1"),
        record("e.pdf", SHA, state="pending"),  # not complete: recovery's business, not staleness
    ])
    stale = stale_documents(records)
    assert [(s.display, s.format, s.recorded, s.current) for s in stale] == [
        ("b.html", "html", 1, 2), ("d.pdf", "pdf", 1, 2),
    ]
    assert "b.html: read by version 1 of the html loader, now 2" in stale[0].describe()


def test_the_formats_changed_so_far_are_past_version_one() -> None:
    # Indexes written before loader versions hold html, docx and pdf text without today's marks.
    assert LOADER_VERSIONS["text"] == 1
    assert min(LOADER_VERSIONS["html"], LOADER_VERSIONS["docx"], LOADER_VERSIONS["pdf"]) >= 2


# -- a real index -----------------------------------------------------------------------------

slow = pytest.mark.slow


@slow
def test_bumping_one_loader_rereads_only_its_documents(
    tmp_path: Path, make_assistant: Callable[..., Assistant], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_corpus(tmp_path / "corpus")
    assistant = make_assistant()
    first = assistant.ingest([folder])
    assert first.ok and len(first.added) == 6
    before = chunk_ids(assistant)
    assert assistant.check_report().stale == ()

    monkeypatch.setitem(LOADER_VERSIONS, "pdf", LOADER_VERSIONS["pdf"] + 1)
    report = assistant.check_report()
    assert report.ok and names([s.source for s in report.stale]) == ["report.pdf", "tides.pdf"]
    assert sum(line.startswith("stale: ") for line in describe(report)) == 2

    again = assistant.ingest([folder])
    assert again.ok
    assert names(again.updated) == names(again.reread) == ["report.pdf", "tides.pdf"]
    assert names(again.unchanged) == ["guide.md", "notes.txt", "rules.html", "slipway.docx"]
    assert again.added == () and again.recovered == ()
    lines = [n for n in again.notes if "read again" in n]
    assert lines == ["2 unchanged documents read again because the pdf loader changed since they were indexed"]
    # The pdfs have new chunk ids (their new version), the old ones are gone, the rest are untouched.
    after = chunk_ids(assistant)
    records = assistant._store.documents()
    pdf_ids = {chunk_id(s, r.doc_hash, i) for s, r in records.items() if s.endswith(".pdf") for i in range(r.chunks)}
    assert after - before == pdf_ids and pdf_ids
    assert {r.doc_hash for s, r in records.items()} == set(expected_versions(folder).values())
    assert assistant.check() == [] and assistant.check_report().stale == ()
    assert not assistant.ask("When does the club spend money on new sails?").abstained

    third = assistant.ingest([folder])
    assert third.chunks_written == 0 and len(third.unchanged) == 6 and third.reread == ()


@slow
def test_an_index_from_before_loader_versions_rereads_html_docx_and_pdf(
    tmp_path: Path, make_assistant: Callable[..., Assistant], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_corpus(tmp_path / "corpus")
    assistant = make_assistant()
    with monkeypatch.context() as old:  # the loaders as they were: every record the bare hash
        for name in LOADER_VERSIONS:
            old.setitem(LOADER_VERSIONS, name, 1)
        assert assistant.ingest([folder]).ok
        assert all(len(r.doc_hash) == 64 for r in assistant._store.documents().values())
    stale = assistant.check_report().stale
    assert names([s.source for s in stale]) == ["report.pdf", "rules.html", "slipway.docx", "tides.pdf"]
    report = assistant.ingest([folder])
    assert names(report.reread) == ["report.pdf", "rules.html", "slipway.docx", "tides.pdf"]
    assert names(report.unchanged) == ["guide.md", "notes.txt"]
    assert report.notes[-1].startswith("4 unchanged documents read again because the docx, html, pdf loader")
    assert assistant.check() == [] and assistant.check_report().stale == ()
    # What was re-read is today's text: the PDF's title page carries its heading mark.
    records = assistant._store.documents()
    pdf = next(r for s, r in records.items() if s.endswith("report.pdf"))
    first = assistant._store.get_chunks([chunk_id(pdf.source, pdf.doc_hash, 0)])[0]
    assert first.text.startswith("# Harbour Sailing Club Annual Report")


class DiesOnFirstBatch(RecordingEmbedder):
    """The real embedder, except that the first batch of chunks "kills" the run (like SIGKILL mid-write)."""

    @property
    def backend(self) -> str:
        return ""  # named by its class: no stored vector is reused, so the first batch reaches it

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        raise KeyboardInterrupt("killed while the re-read documents are pending")


@slow
def test_a_reread_killed_midway_loses_nothing(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, make_assistant: Callable[..., Assistant],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = write_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    assert make_assistant(index_dir=index_dir).ingest([folder]).ok
    monkeypatch.setitem(LOADER_VERSIONS, "docx", LOADER_VERSIONS["docx"] + 1)
    monkeypatch.setitem(LOADER_VERSIONS, "html", LOADER_VERSIONS["html"] + 1)

    dying = Assistant.from_parts(
        store=ChromaStore.persistent(str(index_dir)), embedder=DiesOnFirstBatch(embedder),
        settings=Settings(index_dir=str(index_dir)),
    )
    with pytest.raises(KeyboardInterrupt):
        dying.ingest([folder])
    states = {r.display: r.state for r in dying._store.documents().values()}
    assert states["slipway.docx"] == states["rules.html"] == "pending"  # caught mid-write
    assert states["notes.txt"] == "complete"

    rerun = make_assistant(index_dir=index_dir)
    report = rerun.ingest([folder])
    assert report.ok and names(report.recovered) == ["rules.html", "slipway.docx"]
    assert names(report.added) == ["rules.html", "slipway.docx"]  # recovered, then read like new ones
    assert len(report.unchanged) == 4
    records = rerun._store.documents()
    assert {s: r.doc_hash for s, r in records.items()} == expected_versions(folder)
    assert {r.state for r in records.values()} == {"complete"}
    chunk_ids(rerun)
    assert rerun.check() == [] and rerun.check_report().stale == ()
    assert loader_versions.stale_documents(records) == []


@slow
def test_a_citation_over_a_stale_document_shows_the_indexed_passage(
    tmp_path: Path, make_assistant: Callable[..., Assistant], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Today's loader may give other text, so the indexed offsets cannot be laid over it.
    from rag.views import open_cited_document

    folder = write_corpus(tmp_path / "corpus")
    assistant = make_assistant()
    assert assistant.ingest([folder]).ok
    record = next(r for s, r in assistant._store.documents().items() if s.endswith("report.pdf"))
    cited = chunk_id(record.source, record.doc_hash, 0)
    whole = open_cited_document(assistant._store, cited, 50_000_000)
    assert whole.note == "" and whole.text[whole.start : whole.end].startswith("# Harbour Sailing Club")
    monkeypatch.setitem(LOADER_VERSIONS, "pdf", LOADER_VERSIONS["pdf"] + 1)
    alone = open_cited_document(assistant._store, cited, 50_000_000)
    assert "changed since it was indexed" in alone.note
    assert alone.text == assistant._store.get_chunks([cited])[0].text
