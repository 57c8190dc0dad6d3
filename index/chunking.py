"""Token-aware, sentence-respecting chunking (pure functions).

Chunks are spans of the extracted text: ``text[start:end]`` is the chunk, so a
citation can point back at the exact passage. Whole sentences are packed up to
``chunk_size`` tokens; the next chunk starts with the last sentences of the
previous one, up to ``chunk_overlap`` tokens. A sentence longer than a chunk is
cut between words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.errors import ConfigError
from index.sentences import split_sentences
from index.tokens import count_tokens_batch

_WORD = re.compile(r"\S+\s*")


@dataclass(frozen=True)
class ChunkSpan:
    """One chunk as a span of the source text, with its token count."""

    start: int
    end: int
    tokens: int


def validate_chunking(chunk_size: int, chunk_overlap: int) -> None:
    """Raise ConfigError naming the bad value when the chunk settings cannot work."""
    if chunk_size < 16:
        raise ConfigError(f"chunk_size ({chunk_size}) must be at least 16 tokens")
    if chunk_overlap < 0:
        raise ConfigError(f"chunk_overlap ({chunk_overlap}) must not be negative")
    if chunk_overlap >= chunk_size:
        raise ConfigError(
            f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})"
        )


def _units(
    text: str, start: int, end: int, chunk_size: int, counter: Callable[[list[str]], list[int]]
) -> list[tuple[int, int, int]]:
    """Sentences as (start, end, tokens); over-long sentences become word runs."""
    spans = split_sentences(text, start, end)
    counts = counter([text[s:e] for s, e in spans])
    units: list[tuple[int, int, int]] = []
    for (s, e), n in zip(spans, counts, strict=True):
        if n <= chunk_size:
            units.append((s, e, n))
            continue
        # Each word counted with one leading space, as it appears mid-sentence.
        words = [(m.start(), m.start() + len(m.group().rstrip())) for m in _WORD.finditer(text, s, e)]
        word_counts = counter([" " + text[a:b] for a, b in words])
        piece_start, piece_end, piece_tokens = words[0][0], words[0][1], 0
        for (a, b), wn in zip(words, word_counts, strict=True):
            if piece_tokens and piece_tokens + wn > chunk_size:
                units.append((piece_start, piece_end, piece_tokens))
                piece_start, piece_tokens = a, 0
            piece_tokens += wn
            piece_end = b
        units.append((piece_start, piece_end, piece_tokens))
    return units


def chunk_text(
    text: str,
    *,
    chunk_size: int,
    chunk_overlap: int,
    start: int = 0,
    end: int | None = None,
    counter: Callable[[list[str]], list[int]] = count_tokens_batch,
) -> list[ChunkSpan]:
    """Cut ``text[start:end]`` into chunks of at most about ``chunk_size`` tokens.

    >>> [c.tokens > 0 for c in chunk_text("One. Two.", chunk_size=64, chunk_overlap=8)]
    [True]
    """
    validate_chunking(chunk_size, chunk_overlap)
    end = len(text) if end is None else end
    units = _units(text, start, end, chunk_size, counter)
    chunks: list[tuple[int, int]] = []
    current: list[tuple[int, int, int]] = []
    total = 0
    for unit in units:
        if current and total + unit[2] > chunk_size:
            chunks.append((current[0][0], current[-1][1]))
            carried: list[tuple[int, int, int]] = []
            carried_tokens = 0
            for prev in reversed(current):
                if carried_tokens + prev[2] > chunk_overlap or carried_tokens + prev[2] + unit[2] > chunk_size:
                    break
                carried.insert(0, prev)
                carried_tokens += prev[2]
            current, total = carried, carried_tokens
        current.append(unit)
        total += unit[2]
    if current:
        chunks.append((current[0][0], current[-1][1]))
    exact = counter([text[s:e] for s, e in chunks])
    return [ChunkSpan(s, e, n) for (s, e), n in zip(chunks, exact, strict=True)]


def chunk_pages(
    text: str,
    pages: Sequence[tuple[int, int, int]],
    *,
    chunk_size: int,
    chunk_overlap: int,
) -> list[tuple[int | None, ChunkSpan]]:
    """Chunk each page span ``(page_no, start, end)`` on its own, so no chunk spans two pages.

    With no page spans the whole text is one unpaged span.
    """
    if not pages:
        return [(None, c) for c in chunk_text(text, chunk_size=chunk_size, chunk_overlap=chunk_overlap)]
    out: list[tuple[int | None, ChunkSpan]] = []
    for page_no, s, e in pages:
        for c in chunk_text(text, chunk_size=chunk_size, chunk_overlap=chunk_overlap, start=s, end=e):
            out.append((page_no, c))
    return out
