"""Token-aware, sentence-respecting chunking (pure functions).

Chunks are spans of the extracted text: ``text[start:end]`` is the chunk, so a
citation can point back at the exact passage. Whole sentences are packed up to
``chunk_size`` tokens; the next chunk starts with the last sentences of the
previous one, up to ``chunk_overlap`` tokens. A sentence longer than a chunk is
cut between words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from index.errors import ConfigError
from index.sentences import split_sentences
from index.tokens import count_tokens_batch

_WORD = re.compile(r"(\S+)\s*")  # group 1: the word without the white space after it


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


Unit = tuple[int, int, int]  # (start, end, tokens) of a sentence or a run of words
Counter = Callable[[list[str]], list[int]]

WINDOW = 1 << 16
"""Characters split into sentences at a time: memory stays flat however long the text."""
_EXACT_GROUP = 64  # chunks whose exact token counts are asked for at once


def count_distinct(counter: Counter, texts: list[str]) -> list[int]:
    """``counter(texts)``, asking once per distinct text: words, boilerplate sentences and
    the chunks of a file of one repeated word recur many times."""
    distinct = list(dict.fromkeys(texts))
    if len(distinct) == len(texts):
        return counter(texts)
    known = dict(zip(distinct, counter(distinct), strict=True))
    return [known[t] for t in texts]


def sentence_windows(text: str, start: int, end: int, window: int = WINDOW) -> Iterator[list[tuple[int, int]]]:
    """``split_sentences(text, start, end)`` in consecutive lists, reading ``window`` characters at a time.

    A window's last sentence may be cut off by the window's end, so it is read again as
    the start of the next window; the spans are those of one call over the whole range
    (see ``sentences._hard_line_breaks`` for the one bounded look-back). A sentence longer
    than a window is ended at the window's last white space (or at its end, inside one
    giant word), so no span is longer than a window.
    """
    pos = start
    while pos < end:
        stop = min(end, pos + window)
        spans = split_sentences(text, pos, stop)
        if stop == end:
            yield spans
            return
        if len(spans) >= 2:
            yield spans[:-1]
            pos = spans[-1][0]
            continue
        if not spans:  # only white space
            pos = stop
            continue
        s = spans[0][0]
        cut = _last_space(text, s, stop)
        piece = cut if cut > s else stop
        yield [(s, len(text[s:piece].rstrip()) + s)]
        pos = piece


def _last_space(text: str, start: int, stop: int) -> int:
    """Offset of the last white space in ``text[start:stop]`` (``start`` when there is none)."""
    for i in range(stop - 1, start, -1):
        if text[i].isspace():
            return i
        if stop - i > 4096:  # a giant word: cut it at the window's end instead
            break
    return start


def _split_word(text: str, a: int, b: int, chunk_size: int, counter: Counter) -> list[Unit]:
    """Cut one word of more than ``chunk_size`` tokens (a blob with no spaces) into pieces that fit."""
    out: list[Unit] = []
    todo = [(i, min(b, i + chunk_size)) for i in range(a, b, chunk_size)]
    while todo:
        again: list[tuple[int, int]] = []
        for (s, e), n in zip(todo, counter([text[s:e] for s, e in todo]), strict=True):
            if n <= chunk_size or e - s == 1:
                out.append((s, e, n))
            else:  # rare: characters of several tokens each; halve until the pieces fit
                mid = (s + e) // 2
                again += [(s, mid), (mid, e)]
        todo = again
    return sorted(out)


def _word_runs(text: str, s: int, e: int, chunk_size: int, counter: Counter) -> Iterator[Unit]:
    """A sentence of more than ``chunk_size`` tokens as runs of whole words that fit."""
    words = [m.span(1) for m in _WORD.finditer(text, s, e)]
    # Each word counted with the white space before it, as the tokenizer sees it mid-text
    # (a newline is a token of its own; a space joins the word's first token).
    before = [words[0][0], *(b for _, b in words[:-1])]
    word_counts = count_distinct(counter, [text[prev:b] for prev, (_, b) in zip(before, words, strict=True)])
    piece_start, piece_end, piece_tokens = words[0][0], words[0][1], 0
    for (a, b), wn in zip(words, word_counts, strict=True):
        if wn > chunk_size:  # one word longer than a chunk
            if piece_tokens:
                yield (piece_start, piece_end, piece_tokens)
            yield from _split_word(text, a, b, chunk_size, counter)
            piece_start, piece_end, piece_tokens = b, b, 0
            continue
        if piece_tokens and piece_tokens + wn > chunk_size:
            yield (piece_start, piece_end, piece_tokens)
            piece_start, piece_tokens = a, 0
        if not piece_tokens:
            piece_start = a
        piece_tokens += wn
        piece_end = b
    if piece_tokens:
        yield (piece_start, piece_end, piece_tokens)


def _units(text: str, start: int, end: int, chunk_size: int, counter: Counter) -> Iterator[Unit]:
    """Sentences as (start, end, tokens), a window at a time; over-long sentences become word runs."""
    for spans in sentence_windows(text, start, end):
        counts = count_distinct(counter, [text[s:e] for s, e in spans])
        for (s, e), n in zip(spans, counts, strict=True):
            if n <= chunk_size:
                yield (s, e, n)
            else:
                yield from _word_runs(text, s, e, chunk_size, counter)


def _pack(units: Iterable[Unit], chunk_size: int, chunk_overlap: int) -> Iterator[tuple[int, int]]:
    """Pack units into chunk spans; each chunk starts with the last units of the one before."""
    current: list[Unit] = []
    total = 0
    for unit in units:
        if current and total + unit[2] > chunk_size:
            yield (current[0][0], current[-1][1])
            carried: list[Unit] = []
            carried_tokens = 0
            for prev in reversed(current):
                if carried_tokens + prev[2] > chunk_overlap or carried_tokens + prev[2] + unit[2] > chunk_size:
                    break
                carried.append(prev)
                carried_tokens += prev[2]
            current, total = carried[::-1], carried_tokens
        current.append(unit)
        total += unit[2]
    if current:
        yield (current[0][0], current[-1][1])


def iter_chunks(
    text: str,
    *,
    chunk_size: int,
    chunk_overlap: int,
    start: int = 0,
    end: int | None = None,
    counter: Counter = count_tokens_batch,
) -> Iterator[ChunkSpan]:
    """Cut ``text[start:end]`` into chunks of at most about ``chunk_size`` tokens, lazily.

    Only a window of the text is worked on at a time, so a text of any length is chunked
    in bounded memory and time linear in its length.
    """
    validate_chunking(chunk_size, chunk_overlap)
    end = len(text) if end is None else end
    group: list[tuple[int, int]] = []
    for span in _pack(_units(text, start, end, chunk_size, counter), chunk_size, chunk_overlap):
        group.append(span)
        if len(group) == _EXACT_GROUP:
            yield from _exact(text, group, counter)
            group = []
    yield from _exact(text, group, counter)


def _exact(text: str, spans: list[tuple[int, int]], counter: Counter) -> list[ChunkSpan]:
    exact = count_distinct(counter, [text[s:e] for s, e in spans]) if spans else []
    return [ChunkSpan(s, e, n) for (s, e), n in zip(spans, exact, strict=True)]


def chunk_text(
    text: str,
    *,
    chunk_size: int,
    chunk_overlap: int,
    start: int = 0,
    end: int | None = None,
    counter: Counter = count_tokens_batch,
) -> list[ChunkSpan]:
    """Cut ``text[start:end]`` into chunks of at most about ``chunk_size`` tokens.

    >>> [c.tokens > 0 for c in chunk_text("One. Two.", chunk_size=64, chunk_overlap=8)]
    [True]
    """
    return list(
        iter_chunks(text, chunk_size=chunk_size, chunk_overlap=chunk_overlap, start=start, end=end, counter=counter)
    )


def iter_chunk_pages(
    text: str,
    pages: Sequence[tuple[int, int, int]],
    *,
    chunk_size: int,
    chunk_overlap: int,
) -> Iterator[tuple[int | None, ChunkSpan]]:
    """Chunk each page span ``(page_no, start, end)`` on its own, so no chunk spans two pages.

    With no page spans the whole text is one unpaged span. Lazy, like ``iter_chunks``.
    """
    if not pages:
        for c in iter_chunks(text, chunk_size=chunk_size, chunk_overlap=chunk_overlap):
            yield None, c
        return
    for page_no, s, e in pages:
        for c in iter_chunks(text, chunk_size=chunk_size, chunk_overlap=chunk_overlap, start=s, end=e):
            yield page_no, c


def chunk_pages(
    text: str,
    pages: Sequence[tuple[int, int, int]],
    *,
    chunk_size: int,
    chunk_overlap: int,
) -> list[tuple[int | None, ChunkSpan]]:
    """``iter_chunk_pages`` as a list."""
    return list(iter_chunk_pages(text, pages, chunk_size=chunk_size, chunk_overlap=chunk_overlap))
