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
    sentences: tuple[int, ...] = ()  # indexes into Answer.sentences of the sentences citing it

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
class SentenceSupport:
    """One sentence of an answer and how well the passages it cites support it.

    ``span`` is in ``Answer.text``; ``score`` (0..1) is the best share of the
    sentence's content words found in one sentence (or two adjacent ones) of a cited
    passage; ``source``/``evidence`` name that passage and the span in its chunk.
    ``claim`` is False for sentences too short to check ("Yes."), never flagged.
    """

    text: str
    span: tuple[int, int]
    cited: tuple[int, ...]
    score: float
    supported: bool
    source: int | None = None
    evidence: tuple[int, int] | None = None
    claim: bool = True


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
    # Checked citations (rag.citations): every sentence with its support, the [n]
    # markers removed because they pointed at no source, and whether a non-abstaining
    # answer is left without any valid citation.
    sentences: tuple[SentenceSupport, ...] = ()
    removed_citations: tuple[int, ...] = ()
    uncited: bool = False
    standalone_question: str = ""  # a chat follow-up rewritten before retrieval ("" if not)
    backend: str = "extractive"  # or the --llm setting, e.g. "openai:gpt-4o-mini"

    @property
    def unsupported(self) -> tuple[SentenceSupport, ...]:
        """The sentences no cited passage supports."""
        return tuple(s for s in self.sentences if not s.supported)

    def to_markdown(self) -> str:
        """The answer followed by its numbered sources, for copying."""
        lines = [self.text, ""]
        if self.citations:
            lines.append("Sources:")
            for c in self.citations:
                lines.append(f"[{c.n}] {c.location}: \u201c{c.sentence}\u201d")
        return "\n".join(lines).strip()
