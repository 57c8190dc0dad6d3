"""Which version of each loader read a document, so an index follows a loader that changed.

A document's version in the manifest (``DocumentRecord.doc_hash``, and every chunk's) is
the sha256 of its bytes, and, once its format's loader is past version 1, that loader's
version too: ``"<sha256>+pdf2"``. A loader that changes its output (the PDF loader began
marking headings) gets the next number in ``LOADER_VERSIONS``; from then on the documents
it read before no longer match their version, so the next ingest reads exactly those
again, and the crash-safe protocol of ``index.ingest`` replaces them like edited files
(new chunk ids beside the old ones, the old ones removed last, the lexical index
following the new version). Version 1 adds nothing to the hash, so indexes written
before versions were recorded keep their text and markdown documents as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from index.loaders import HTML_SUFFIXES, TEXT_SUFFIXES
from index.models import DocumentRecord

# Bump a format's number whenever its loader gives different text for the same file.
# html, docx: 2 since headings, list items and table cells got Markdown's marks;
# pdf: 2 since lines in a large font became headings (index.pdf_text).
LOADER_VERSIONS: dict[str, int] = {"text": 1, "html": 2, "docx": 2, "pdf": 2}
FORMATS: Mapping[str, str] = {
    **dict.fromkeys(TEXT_SUFFIXES, "text"), **dict.fromkeys(HTML_SUFFIXES, "html"), ".pdf": "pdf", ".docx": "docx",
}
_SEPARATOR = "+"  # never in a hex digest


def format_of(source: str) -> str:
    """The loader format of a document id or path ("pdf"); "" for a suffix no loader reads."""
    return FORMATS.get(PurePath(source).suffix.lower(), "")


def loader_version(source: str) -> int:
    """The current version of the loader that reads ``source`` (1 for an unknown format)."""
    return LOADER_VERSIONS.get(format_of(source), 1)


def document_version(content_hash: str, source: str) -> str:
    """The version the index records for these bytes read by today's loader (pure)."""
    version = loader_version(source)
    return content_hash if version <= 1 else f"{content_hash}{_SEPARATOR}{format_of(source)}{version}"


def content_hash(version: str) -> str:
    """The sha256 part of a recorded version."""
    return version.split(_SEPARATOR, 1)[0]


def recorded_loader(version: str) -> int:
    """The loader version a recorded version names (1 when it names none: written before versions)."""
    _, _, tail = version.partition(_SEPARATOR)
    digits = tail.lstrip("abcdefghijklmnopqrstuvwxyz")
    return int(digits) if digits.isdigit() else 1


@dataclass(frozen=True)
class StaleDocument:
    """A document in the index that today's loader would read differently."""

    source: str
    display: str
    format: str
    recorded: int  # the loader version that read it
    current: int

    def describe(self) -> str:
        return (
            f"{self.display}: read by version {self.recorded} of the {self.format} loader, now "
            f"{self.current}; `rag ingest` on it reads it again"
        )


def stale_documents(records: Mapping[str, DocumentRecord]) -> list[StaleDocument]:
    """Complete documents whose recorded version is not what today's loaders give (pure)."""
    out: list[StaleDocument] = []
    for source, record in sorted(records.items()):
        if record.state != "complete" or not record.doc_hash:
            continue
        if record.doc_hash != document_version(content_hash(record.doc_hash), source):
            out.append(StaleDocument(
                source, record.display, format_of(source) or "unknown",
                recorded_loader(record.doc_hash), loader_version(source),
            ))  # fmt: skip
    return out


def reread_note(sources: Sequence[str]) -> str:
    """The one line an ingest prints about the documents it read again for a changed loader."""
    formats = sorted({format_of(s) or "unknown" for s in sources})
    noun = "document" if len(sources) == 1 else "documents"
    return (
        f"{len(sources)} unchanged {noun} read again because the {', '.join(formats)} "
        f"loader changed since {'it was' if len(sources) == 1 else 'they were'} indexed"
    )
