"""What a front end shows besides the answer: its sentences, the cited document, example questions.

Pure functions over the Assistant's values, shared by the web UI and anyone else who
renders answers; they hold the rules (which sentences are supported, which files may
be opened) so front ends only format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import IngestError, RagError
from index.hashing import sha256_file
from index.loader_versions import document_version
from index.loaders import SUPPORTED_SUFFIXES, load_file
from index.models import DocumentRecord, chunk_id
from index.names import document_path
from index.sentences import split_sentences
from index.store import ChromaStore
from rag.citations import MARKER, parse_markers
from rag.models import Answer

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Block",
    "DocumentView",
    "Segment",
    "answer_segments",
    "document_openings",
    "example_question",
    "example_questions",
    "open_cited_document",
    "opening_heading",
    "passage_blocks",
    "plain_title",
]



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
            Segment(MARKER.sub("", s.text).strip(), s.cited, s.supported or not s.claim or answer.abstained)
            for s in answer.sentences
        ]
    known = {c.n for c in answer.citations}
    text = answer.text
    pieces: list[tuple[str, list[int]]] = []  # sentence text, its markers
    for s, e in split_sentences(text):
        piece = text[s:e]
        # The splitter cuts after a full stop, so "A b. [1] C d." puts [1] at the
        # start of the next piece: it belongs to the sentence before.
        markers = parse_markers(piece)
        while pieces and markers and not piece[: markers[0].start].strip():
            pieces[-1][1].extend(markers[0].numbers)
            piece = piece[markers[0].end :]
            markers = parse_markers(piece)
        cites = [n for m in markers for n in m.numbers]
        clean = MARKER.sub("", piece).strip()
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


def open_cited_document(store: ChromaStore, chunk_id: str, max_bytes: int) -> DocumentView:
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
        elif document_version(sha256_file(path), chunk.source) != record.doc_hash:
            # new bytes, or a loader that reads them differently now: the offsets would be wrong
            note = "the file changed since it was indexed; showing the indexed passage only"
        else:
            text = load_file(path, max_bytes).text
            return DocumentView(chunk.source, chunk.display, chunk.title, chunk.page, text, chunk.start, chunk.end)
    except (IngestError, OSError) as exc:
        note = f"the file cannot be read now ({exc}); showing the indexed passage only"
    return DocumentView(chunk.source, chunk.display, chunk.title, chunk.page, chunk.text, 0, len(chunk.text), note)


_INLINE_MARKUP = re.compile(r"[`*_]+|!?\[([^\]]*)\]\([^)]*\)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")


def plain_title(text: str) -> str:
    """A heading or title as plain words: Markdown marks, link targets and extra space removed (pure).

    >>> plain_title("## Measuring accuracy: `rag eval`")
    'Measuring accuracy: rag eval'
    """
    text = _HEADING.sub("", text.strip())
    text = _INLINE_MARKUP.sub(lambda m: m.group(1) or "", text)
    return " ".join(text.split()).strip(" .:;#")


def _is_file_name(title: str, display: str) -> bool:
    stem = Path(display).stem
    return not title or title == stem or title == Path(display).name


def opening_heading(text: str, limit: int = 80) -> str:
    """The first line of ``text`` when it reads as a heading (short, not a sentence), else "" (pure)."""
    for line in text.splitlines():
        if not line.strip():
            continue
        heading = plain_title(line)
        looks_like_heading = bool(_HEADING.match(line)) or not line.rstrip().endswith((".", ",", ";", ":"))
        return heading if looks_like_heading and 0 < len(heading) <= limit else ""
    return ""


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def example_question(title: str) -> str:
    """A question a newcomer might ask about a document with this heading (pure).

    >>> example_question("How do I delete a document?"), example_question("The chat web UI")
    ('How do I delete a document?', 'What do the documents say about the chat web UI?')
    """
    if title.endswith("?"):
        return title
    first, _, rest = title.partition(" ")
    if first.lower() in ("the", "a", "an"):  # an article reads lower-case mid-sentence; names keep their case
        first = first.lower()
    return f"What do the documents say about {' '.join(filter(None, (first, rest)))}?"


def example_questions(
    records: Sequence[DocumentRecord], limit: int = 3, openings: Mapping[str, str] | None = None
) -> list[str]:
    """A few questions to start with, from the documents' titles or first headings (pure).

    A title that is only the file name (a plain-text file has no other) is replaced by the
    first line of the document's text (``openings``, by document id) when that reads as a
    heading; a document with neither gives no question, so no file name or hash is shown.
    Bigger documents come first, titles of one word last.

    >>> from index.models import DocumentRecord, chunk_id
    >>> r = DocumentRecord("/d/ui.md", "ui.md", "The `rag ui` chat", "h", 1, 0, 1, 0.0)
    >>> example_questions([r])
    ['What do the documents say about the rag ui chat?']
    """
    titles: list[tuple[bool, int, str, str]] = []
    for record in records:
        title = record.title
        if _is_file_name(title, record.display):
            title = opening_heading((openings or {}).get(record.source, ""))
        title = _shorten(plain_title(title), 70)
        if title:
            # bigger documents first, but a one-word title ("Notes", a project's name) makes a vague question
            titles.append((" " not in title, -record.chunks, record.display, title))
    questions: list[str] = []
    for *_, title in sorted(titles):
        question = example_question(title)
        if question not in questions:
            questions.append(question)
        if len(questions) == limit:
            break
    return questions


def document_openings(store: ChromaStore, records: Sequence[DocumentRecord]) -> dict[str, str]:
    """The first passage of each document whose title is only its file name, by document id."""
    wanted = {
        chunk_id(r.source, r.doc_hash, 0): r.source for r in records if _is_file_name(r.title, r.display)
    }
    return {wanted[c.id]: c.text for c in store.get_chunks(list(wanted))} if wanted else {}


@dataclass(frozen=True)
class Block:
    """A paragraph, heading, list item or code block of a passage, as ``(start, end)`` ranges of its text.

    A paragraph's ranges are its source lines (joined by spaces when shown); a heading's
    range leaves out its ``#`` marks; a code block keeps its lines.
    """

    kind: str  # "paragraph" | "heading" | "item" | "code"
    parts: tuple[tuple[int, int], ...]


def passage_blocks(text: str) -> list[Block]:
    r"""Split a passage into blocks for reading: hard line breaks inside a paragraph are not kept (pure).

    >>> text = "## Cost\nIt is\nlow.\n\n- one"
    >>> [(b.kind, [text[s:e] for s, e in b.parts]) for b in passage_blocks(text)]
    [('heading', ['Cost']), ('paragraph', ['It is', 'low.']), ('item', ['one'])]
    """
    blocks: list[Block] = []
    current: list[tuple[int, int]] = []
    kind = "paragraph"
    in_code = False

    def flush() -> None:
        nonlocal current
        if current:
            blocks.append(Block(kind, tuple(current)))
        current = []

    offset = 0
    for line in text.splitlines(keepends=True):
        start, body = offset, line.rstrip("\r\n")
        offset += len(line)
        end = start + len(body)
        if _FENCE.match(body):
            flush()
            in_code, kind = not in_code, "code" if not in_code else "paragraph"
            continue
        if in_code:
            current.append((start, end))
            continue
        if not body.strip():
            flush()
            kind = "paragraph"
            continue
        marker = _HEADING.match(body) or _LIST_ITEM.match(body)
        if marker:
            flush()
            kind = "heading" if _HEADING.match(body) else "item"
            current.append((start + marker.end(), end))
            if kind == "heading":
                flush()
                kind = "paragraph"
            continue
        lead = len(body) - len(body.lstrip())
        current.append((start + lead, end))
    flush()
    return blocks
