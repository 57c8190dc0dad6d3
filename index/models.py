"""Typed, frozen values passed between the index layer and the layers above it."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExtractedText:
    """What a loader gets out of a file: its text, a title, and page spans for PDFs.

    ``pages`` holds ``(page_number, start, end)`` offsets into ``text``; it is empty
    for formats without pages. ``note`` records anything worth telling the user
    (for example the encoding that was detected).
    """

    text: str
    title: str
    pages: tuple[tuple[int, int, int], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Chunk:
    """A passage of one document, with everything a citation needs to point at it.

    ``source`` is the document id (its absolute path); ``display`` is the path a
    person reads (relative to the folder it was ingested from); ``start``/``end``
    are character offsets into the document's extracted text.
    """

    id: str
    text: str
    source: str
    display: str
    title: str
    page: int | None
    start: int
    end: int
    tokens: int
    position: int
    doc_hash: str
    tags: tuple[str, ...] = ()


def chunk_id(source: str, doc_hash: str, position: int) -> str:
    """Stable id of the chunk at ``position`` of one version of one document.

    ``os.fsencode`` takes any path string, even one holding undecodable bytes as
    surrogates, and gives the same bytes as UTF-8 for every other one.
    """
    return hashlib.sha1(os.fsencode(source) + f"\x00{doc_hash}\x00{position}".encode()).hexdigest()


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its scores; ``rank`` starts at 1."""

    chunk: Chunk
    score: float
    rank: int
    dense: float | None = None
    lexical: float | None = None


@dataclass(frozen=True)
class DocumentRecord:
    """One indexed document: the manifest entry that says which version is in the index."""

    source: str
    display: str
    title: str
    doc_hash: str
    chunks: int
    pages: int
    size: int
    ingested_at: float
    state: str = "complete"  # "pending" while its chunks are being replaced
    writer: str = ""  # the writer (index.locking) that left it "pending"; "" when complete


@dataclass(frozen=True)
class FileFailure:
    """A file that could not be ingested, and why (reported once)."""

    path: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did. ``ok`` is False when any file failed."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    failed: tuple[FileFailure, ...] = ()
    skipped: tuple[str, ...] = ()  # unsupported extensions, listed, not guessed at
    recovered: tuple[str, ...] = ()  # documents an interrupted run left half-written
    chunks_written: int = 0
    chunks_reused: int = 0  # of those, chunks whose identical text was embedded before (index.reuse)
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())
    reread: tuple[str, ...] = ()  # among ``updated``: the same bytes, read again by a changed loader

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """One line for people: the counts, failures last."""
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.deleted)} deleted",
            f"{len(self.failed)} failed",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (unsupported type)")
        if self.recovered:
            parts.append(f"{len(self.recovered)} recovered from an interrupted run")
        reused = f" ({self.chunks_reused} reused the vector of an identical text)" if self.chunks_reused else ""
        return ", ".join(parts) + f"; {self.chunks_written} chunks embedded in {self.seconds:.1f}s{reused}"
