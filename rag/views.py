"""What a front end shows besides the answer: its sentences, the cited document, example questions.

Pure functions over the Assistant's values, shared by the web UI and anyone else who
renders answers; they hold the rules (which sentences are supported, which files may
be opened) so front ends only format.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import IngestError, RagError
from index.hashing import sha256_file
from index.loaders import SUPPORTED_SUFFIXES, load_file
from index.models import DocumentRecord
from index.names import document_path
from index.sentences import split_sentences
from index.store import ChromaStore
from rag.models import Answer

__all__ = [
    "SUPPORTED_SUFFIXES",
    "DocumentView",
    "Segment",
    "answer_segments",
    "example_questions",
    "open_cited_document",
]

_MARKER = re.compile(r"\s*\[(\d+)\]")
_LEADING = re.compile(r"(\s*\[\d+\])+")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Segment:
    """One sentence of an answer and the citation numbers it carries."""

    text: str  # without its [n] markers
    cites: tuple[int, ...]
    supported: bool  # at least one marker resolves to a citation of the answer


def answer_segments(answer: Answer) -> list[Segment]:
    """Split ``answer.text`` into sentences with their ``[n]`` markers (pure).

    Checked answers (``answer.sentences``, from ``rag.citations``) keep that verdict.
    Otherwise a marker belongs to the sentence it follows, and a sentence is
    unsupported when none of its markers resolves to one of ``answer.citations``;
    an abstention has no unsupported sentences.

    >>> from rag.models import Answer
    >>> answer = Answer("q", "It grew. [1] Then it fell. [2][3] Why?", (), (), False)
    >>> [(s.text, s.cites) for s in answer_segments(answer)]
    [('It grew.', (1,)), ('Then it fell.', (2, 3)), ('Why?', ())]
    """
    if answer.sentences:  # checked by rag.citations: use its verdict
        return [
            Segment(_MARKER.sub("", s.text).strip(), s.cited, s.supported or not s.claim or answer.abstained)
            for s in answer.sentences
        ]
    known = {c.n for c in answer.citations}
    text = answer.text
    pieces: list[tuple[str, list[int]]] = []  # sentence text, its markers
    for s, e in split_sentences(text):
        piece = text[s:e]
        # The splitter cuts after a full stop, so "A b. [1] C d." puts [1] at the
        # start of the next piece: it belongs to the sentence before.
        lead = _LEADING.match(piece)
        if lead and pieces:
            pieces[-1][1].extend(int(n) for n in _NUMBER.findall(lead.group(0)))
            piece = piece[lead.end():]
        cites = [int(m.group(1)) for m in _MARKER.finditer(piece)]
        clean = _MARKER.sub("", piece).strip()
        if clean:
            pieces.append((clean, cites))
        elif pieces:
            pieces[-1][1].extend(cites)
    return [
        Segment(clean, tuple(cites), answer.abstained or any(n in known for n in cites))
        for clean, cites in pieces
    ]


@dataclass(frozen=True)
class DocumentView:
    """A cited document's extracted text and where the cited passage lies in it."""

    source: str
    display: str
    title: str
    page: int | None
    text: str
    start: int  # the chunk, as offsets into ``text``
    end: int
    note: str = ""  # set when the file is gone or changed: ``text`` is then the chunk alone


def open_cited_document(store: ChromaStore, chunk_id: str, max_bytes: int = 50_000_000) -> DocumentView:
    """The document a citation points at, found by the cited chunk's id.

    Only documents in the index can be opened: the path comes from the index,
    never from the caller. When the file changed or vanished since it was
    indexed, the view holds the indexed passage alone, with a note saying so.
    """
    chunks = store.get_chunks([chunk_id]) if chunk_id else []
    if not chunks:
        raise RagError("this source is no longer in the index (ask again to get fresh citations)")
    chunk = chunks[0]
    record = store.documents().get(chunk.source)
    if record is None or record.doc_hash != chunk.doc_hash:
        raise RagError(f"{chunk.display} was re-ingested or deleted since; ask again")
    path = document_path(chunk.source)
    note = ""
    try:
        if not path.is_file():
            note = "the file is gone from disk; showing the indexed passage only"
        elif sha256_file(path) != record.doc_hash:
            note = "the file changed since it was indexed; showing the indexed passage only"
        else:
            text = load_file(path, max_bytes).text
            return DocumentView(chunk.source, chunk.display, chunk.title, chunk.page, text, chunk.start, chunk.end)
    except (IngestError, OSError) as exc:
        note = f"the file cannot be read now ({exc}); showing the indexed passage only"
    return DocumentView(chunk.source, chunk.display, chunk.title, chunk.page, chunk.text, 0, len(chunk.text), note)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split()).strip(" .:;#")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def example_questions(records: Sequence[DocumentRecord], limit: int = 3) -> list[str]:
    """A few questions to start with, from the titles of the indexed documents (pure).

    >>> from index.models import DocumentRecord
    >>> r = DocumentRecord("/d/ui.md", "ui.md", "The chat web UI", "h", 1, 0, 1, 0.0)
    >>> example_questions([r])
    ['What does "The chat web UI" say?']
    """
    questions: list[str] = []
    for record in sorted(records, key=lambda r: (-r.chunks, r.display)):
        title = _shorten(record.title or Path(record.display).stem, 60)
        if not title:
            continue
        question = f'What does "{title}" say?'
        if question not in questions:
            questions.append(question)
        if len(questions) == limit:
            break
    return questions
