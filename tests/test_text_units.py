"""Unit tests of the pure text functions: sentence splitting and token chunking."""

from __future__ import annotations

import random
import re
from itertools import pairwise

import pytest

from index.chunking import ChunkSpan, chunk_pages, chunk_text, validate_chunking
from index.errors import ConfigError
from index.sentences import split_sentences
from index.tokens import count_tokens


def sentences(text: str, start: int = 0, end: int | None = None) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, start, end)]


def assert_sound_spans(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> None:
    """Spans are ordered, disjoint, trimmed, and cover every non-space character once."""
    end = len(text) if end is None else end
    prev_end = start
    for s, e in spans:
        assert start <= s < e <= end
        assert s >= prev_end, f"overlapping spans at {s}"
        assert text[prev_end:s].strip() == "", f"non-space text skipped: {text[prev_end:s]!r}"
        assert text[s:e] == text[s:e].strip(), f"span not trimmed: {text[s:e]!r}"
        prev_end = e
    assert text[prev_end:end].strip() == ""


# -- split_sentences -------------------------------------------------------------------


def test_docstring_example_offsets() -> None:
    text = "Hi there. Dr. Who came. Bye"
    assert split_sentences(text) == [(0, 9), (10, 23), (24, 27)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith met Mr. Jones at noon. They talked for an hour.",
            ["Dr. Smith met Mr. Jones at noon.", "They talked for an hour."],
        ),
        (
            "The study by J. R. R. Tolkien et al. was cited. It mattered.",
            ["The study by J. R. R. Tolkien et al. was cited.", "It mattered."],
        ),
        (
            "The rate rose to 3.5 percent in 2020. Prices fell 0.25 points.",
            ["The rate rose to 3.5 percent in 2020.", "Prices fell 0.25 points."],
        ),
        (
            "See Fig. 3 and No. 5 for the details. Done.",
            ["See Fig. 3 and No. 5 for the details.", "Done."],
        ),
        (
            "Use a tool, e.g. a hammer, for this. Then stop.",
            ["Use a tool, e.g. a hammer, for this.", "Then stop."],
        ),
        (
            "The U.S. economy grew. Exports rose.",
            ["The U.S. economy grew.", "Exports rose."],
        ),
        (
            'He said "Stop." Then he left. Really? Yes!',
            ['He said "Stop."', "Then he left.", "Really?", "Yes!"],
        ),
    ],
)
def test_abbreviations_initials_decimals(text: str, expected: list[str]) -> None:
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == expected
    assert_sound_spans(text, spans)


def test_paragraph_break_ends_a_sentence_without_punctuation() -> None:
    text = "First paragraph without a final stop\n\nSecond paragraph starts here and goes on."
    assert sentences(text) == [
        "First paragraph without a final stop",
        "Second paragraph starts here and goes on.",
    ]


def test_wrapped_line_is_not_a_sentence_break() -> None:
    text = (
        "A line that wraps in the middle of a sentence because of hard wrapping\n"
        "and continues here on the next line. Second sentence?"
    )
    got = sentences(text)
    assert got[0].endswith("continues here on the next line.")
    assert "\n" in got[0]
    assert got[1] == "Second sentence?"


def test_markdown_headings_and_list_items_are_units() -> None:
    text = (
        "# Installing the assistant\n"
        "You need Python and a folder of documents to point it at, nothing more\n"
        "\n"
        "## Steps\n"
        "- install the package with pip\n"
        "- run the ingest command on a folder\n"
        "1. ask a question\n"
        "2) read the sources\n"
        "\n"
        "That is all. Enjoy!"
    )
    got = sentences(text)
    assert got == [
        "# Installing the assistant",
        "You need Python and a folder of documents to point it at, nothing more",
        "## Steps",
        "- install the package with pip",
        "- run the ingest command on a folder",
        "1. ask a question",
        "2) read the sources",
        "That is all.",
        "Enjoy!",
    ]
    assert_sound_spans(text, split_sentences(text))


def test_offsets_are_exact_with_odd_white_space() -> None:
    text = "  \n  Leading space here.   Trailing space there.  \n\n\t Tabbed para!  \n"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Leading space here.", "Trailing space there.", "Tabbed para!"]
    assert_sound_spans(text, spans)


def test_sub_range_offsets_point_into_the_whole_text() -> None:
    text = "Ignored before. Inside one. Inside two. Ignored after."
    start = text.index("Inside one")
    end = text.index(" Ignored after")
    spans = split_sentences(text, start, end)
    assert [text[s:e] for s, e in spans] == ["Inside one.", "Inside two."]
    assert spans[0][0] == start
    assert spans[-1][1] == end


def test_empty_and_blank_text() -> None:
    assert split_sentences("") == []
    assert split_sentences("   \n\n \t ") == []


def test_random_texts_spans_cover_everything_exactly() -> None:
    rng = random.Random(1234)
    words = ["alpha", "beta", "Dr.", "3.5", "e.g.", "J.", "gamma,", "delta", "U.S.", "x"]
    enders = [".", "!", "?", "", ".\n", "\n\n", ".\n\n", ":\n- "]
    for _ in range(200):
        parts = []
        for _ in range(rng.randint(1, 12)):
            parts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 8))) + rng.choice(enders))
        text = " ".join(parts)
        assert_sound_spans(text, split_sentences(text))


# -- chunk_text --------------------------------------------------------------------------


def numbered_text(n: int, rng: random.Random | None = None) -> str:
    """``n`` distinct sentences of varying length, some in new paragraphs."""
    rng = rng or random.Random(7)
    vocab = "river stone light market harbour engine garden letter winter signal paper orbit".split()
    out = []
    for i in range(n):
        body = " ".join(rng.choice(vocab) for _ in range(rng.randint(3, 18)))
        out.append(f"Sentence {i} tells of {body}.")
        out.append("\n\n" if rng.random() < 0.15 else " ")
    return "".join(out).strip()


def sentence_starts_and_ends(text: str) -> tuple[set[int], set[int]]:
    spans = split_sentences(text)
    return {s for s, _ in spans}, {e for _, e in spans}


@pytest.mark.parametrize(("size", "overlap"), [(64, 16), (128, 32), (192, 32), (40, 0)])
def test_chunks_respect_token_limit_and_are_exact_spans(size: int, overlap: int) -> None:
    text = numbered_text(120)
    chunks = chunk_text(text, chunk_size=size, chunk_overlap=overlap)
    assert len(chunks) > 3
    starts, ends = sentence_starts_and_ends(text)
    for c in chunks:
        assert isinstance(c, ChunkSpan)
        piece = text[c.start : c.end]
        assert piece == piece.strip() and piece
        assert c.tokens == count_tokens(piece), "token count is of the exact span"
        assert c.tokens <= size
        assert c.start in starts and c.end in ends, "chunks hold whole sentences"
    # In order, and together they cover every sentence.
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    covered = set()
    for c in chunks:
        covered.update(s for s in starts if c.start <= s < c.end)
    assert covered == starts
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


@pytest.mark.parametrize(("size", "overlap"), [(64, 16), (128, 40), (100, 60)])
def test_overlap_is_whole_trailing_sentences_within_budget(size: int, overlap: int) -> None:
    text = numbered_text(150, random.Random(99))
    chunks = chunk_text(text, chunk_size=size, chunk_overlap=overlap)
    spans = split_sentences(text)
    starts, ends = sentence_starts_and_ends(text)
    tokens_of = {s: count_tokens(text[s:e]) for s, e in spans}
    overlapped = 0
    for prev, nxt in pairwise(chunks):
        # When the previous chunk's last sentence fits the overlap budget (and beside
        # the next new sentence), it must be carried over.
        last = next(s for s, e in spans if e == prev.end)
        first_new = next(s for s, _ in spans if s >= prev.end)
        if tokens_of[last] <= overlap and tokens_of[last] + tokens_of[first_new] <= size:
            assert nxt.start <= last, "a fitting trailing sentence was not carried over"
        assert nxt.start > prev.start and nxt.end > prev.end, "every chunk makes progress"
        if nxt.start < prev.end:
            overlapped += 1
            shared = text[nxt.start : prev.end]
            # The shared part is whole sentences: it starts at a sentence start inside
            # the previous chunk and ends where that chunk ends.
            assert nxt.start in starts and prev.end in ends
            assert count_tokens(shared) <= overlap + 2  # +2: joins between sentences
            assert prev.start < nxt.start
        else:
            # No overlap: the next chunk starts at the first sentence after the previous one.
            assert text[prev.end : nxt.start].strip() == ""
    assert overlapped >= 3


def test_zero_overlap_means_disjoint_chunks() -> None:
    text = numbered_text(80)
    chunks = chunk_text(text, chunk_size=64, chunk_overlap=0)
    for prev, nxt in pairwise(chunks):
        assert nxt.start >= prev.end
        assert text[prev.end : nxt.start].strip() == ""


def test_overlap_with_a_word_counter_is_exactly_the_last_sentences() -> None:
    """Pure-logic check with a fake counter (1 token per word) so budgets are exact."""
    text = " ".join(f"S{i} alpha beta gamma delta." for i in range(12))  # 12 sentences, 5 "tokens" each

    def words(texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    chunks = chunk_text(text, chunk_size=20, chunk_overlap=10, counter=words)
    got = [text[c.start : c.end] for c in chunks]
    s = "alpha beta gamma delta."
    assert got[0] == f"S0 {s} S1 {s} S2 {s} S3 {s}"
    # The next chunk starts with the two trailing sentences (10 tokens) of the first.
    assert got[1] == f"S2 {s} S3 {s} S4 {s} S5 {s}"
    assert got[2].startswith(f"S4 {s} S5 {s} S6")
    assert all(c.tokens <= 20 for c in chunks)
    assert got[-1].endswith(f"S11 {s}")


def test_over_long_sentence_is_cut_between_words() -> None:
    rng = random.Random(3)
    vocab = "internationalisation quick brown fox jumps over lazy dogs cartography 1234 x".split()
    long_sentence = " ".join(rng.choice(vocab) for _ in range(400)) + "."
    text = "A short opener. " + long_sentence + " A short closer."
    chunks = chunk_text(text, chunk_size=48, chunk_overlap=8)
    assert len(chunks) >= 8
    for c in chunks:
        assert c.tokens <= 48
        assert c.tokens == count_tokens(text[c.start : c.end])
        assert c.start == 0 or text[c.start - 1].isspace(), "a chunk starts at a word start"
        assert c.end == len(text) or text[c.end].isspace(), "a chunk ends at a word end"
    # Together the chunks still cover every word of the text.
    covered = [False] * len(text)
    for c in chunks:
        for i in range(c.start, c.end):
            covered[i] = True
    assert all(covered[m.start()] for m in re.finditer(r"\S", text))


def test_one_giant_word_does_not_loop_or_vanish() -> None:
    text = "Before. " + "x" * 3000 + " After."
    chunks = chunk_text(text, chunk_size=32, chunk_overlap=4)
    joined = "".join(text[c.start : c.end] for c in chunks)
    assert "x" * 3000 in joined
    assert chunks[-1].end == len(text)


def test_chunk_text_sub_range() -> None:
    text = "Outside before. " + numbered_text(30) + " Outside after."
    start = text.index("Sentence 0")
    end = text.index(" Outside after")
    chunks = chunk_text(text, chunk_size=64, chunk_overlap=16, start=start, end=end)
    assert chunks[0].start == start and chunks[-1].end == end
    assert all("Outside" not in text[c.start : c.end] for c in chunks)


def test_empty_text_has_no_chunks() -> None:
    assert chunk_text("", chunk_size=64, chunk_overlap=8) == []
    assert chunk_text("  \n\n ", chunk_size=64, chunk_overlap=8) == []


# -- chunk_pages ---------------------------------------------------------------------------


def test_chunk_pages_never_crosses_a_page() -> None:
    rng = random.Random(11)
    pages_text = [numbered_text(rng.randint(2, 40), rng) for _ in range(5)]
    text = "\n\n".join(pages_text)
    pages = []
    offset = 0
    for number, page in enumerate(pages_text, start=1):
        pages.append((number, offset, offset + len(page)))
        offset += len(page) + 2
    out = chunk_pages(text, pages, chunk_size=64, chunk_overlap=16)
    seen_pages = set()
    for page_no, c in out:
        _, s, e = pages[page_no - 1]
        assert s <= c.start < c.end <= e, f"chunk {c} leaves page {page_no}"
        seen_pages.add(page_no)
    assert seen_pages == {1, 2, 3, 4, 5}
    assert [p for p, _ in out] == sorted(p for p, _ in out)
    # A short page whose text would fit with the next one is still a chunk of its own.
    assert {(p, text[c.start : c.end]) for p, c in out if p == 1} != set()


def test_chunk_pages_short_pages_are_not_merged() -> None:
    text = "Page one text.\n\nPage two text.\n\nPage three text."
    pages = [(1, 0, 14), (2, 16, 30), (3, 32, 48)]
    assert [text[s:e] for _, s, e in pages] == ["Page one text.", "Page two text.", "Page three text."]
    out = chunk_pages(text, pages, chunk_size=512, chunk_overlap=32)
    assert [(p, text[c.start : c.end]) for p, c in out] == [
        (1, "Page one text."),
        (2, "Page two text."),
        (3, "Page three text."),
    ]


def test_chunk_pages_without_pages_is_one_unpaged_span() -> None:
    text = numbered_text(20)
    out = chunk_pages(text, [], chunk_size=64, chunk_overlap=16)
    assert out and all(p is None for p, _ in out)
    assert [c for _, c in out] == chunk_text(text, chunk_size=64, chunk_overlap=16)


# -- validate_chunking ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "overlap", "message"),
    [
        (256, 300, "chunk_overlap (300) must be smaller than chunk_size (256)"),
        (64, 64, "chunk_overlap (64) must be smaller than chunk_size (64)"),
        (8, 0, "chunk_size (8) must be at least 16 tokens"),
        (64, -1, "chunk_overlap (-1) must not be negative"),
    ],
)
def test_validate_chunking_messages(size: int, overlap: int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_chunking(size, overlap)
    assert str(info.value) == message
    with pytest.raises(ConfigError, match=re.escape(message)):
        chunk_text("Some text.", chunk_size=size, chunk_overlap=overlap)


def test_validate_chunking_accepts_good_values() -> None:
    validate_chunking(16, 0)
    validate_chunking(192, 32)
    validate_chunking(1024, 1023)
