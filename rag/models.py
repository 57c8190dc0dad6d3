"""What the answering pipeline returns: citations and answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from index.models import Chunk, Hit


@dataclass(frozen=True)
class Citation:
    """Source ``[n]`` of an answer: the chunk, and the supporting sentence inside it.

    ``span`` is ``(start, end)`` in ``chunk.text``; add ``chunk.start`` for offsets
    into the document's extracted text.
    """

    n: int
    chunk: Chunk
    span: tuple[int, int]
    score: float

    @property
    def sentence(self) -> str:
        return self.chunk.text[self.span[0] : self.span[1]]

    @property
    def document_span(self) -> tuple[int, int]:
        return (self.chunk.start + self.span[0], self.chunk.start + self.span[1])

    @property
    def location(self) -> str:
        page = f", page {self.chunk.page}" if self.chunk.page else ""
        return f"{self.chunk.display}{page}"


@dataclass(frozen=True)
class Answer:
    """An answer with ``[n]`` markers, the citations they resolve to, and how it was made.

    ``timings`` maps each stage ("embed", "retrieve", "answer", "total") to milliseconds.
    """

    question: str
    text: str
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """The answer followed by its numbered sources, for copying."""
        lines = [self.text, ""]
        if self.citations:
            lines.append("Sources:")
            for c in self.citations:
                lines.append(f"[{c.n}] {c.location}: \u201c{c.sentence}\u201d")
        return "\n".join(lines).strip()
