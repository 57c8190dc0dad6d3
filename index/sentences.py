"""Sentence boundaries with character offsets (pure functions).

The chunker packs whole sentences, and the extractive answerer cites single
sentences, so both need the exact spans. A regex splitter is enough here and,
unlike a trained model, needs no data files: it knows the usual abbreviations,
initials, decimal numbers, and the difference between a wrapped line and a
paragraph break.
"""

from __future__ import annotations

import re
from itertools import pairwise

_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st vs etc e.g i.e cf al fig figs no nos vol eq eqs approx
    inc ltd co corp dept univ jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k
    p pp ch sec
    """.split()
)

# A candidate end: terminal punctuation, optional closing quotes/brackets, then space. The
# look-behind and possessive runs keep a long run of "....." linear (no retry inside the run).
_END = re.compile(r"""(?<![.!?…])[.!?…]++["'”’)\]]*+(?=\s)""")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_LINE_START_BLOCK = re.compile(r"[ \t]*(?:#{1,6}\s|[-*+•]\s|\d{1,3}[.)]\s|>\s|\|)")
_LOOK_BACK = 4096  # how far _hard_line_breaks looks for the start of a line begun before its span


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` ends an abbreviation or an initial."""
    start = dot
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    if not word:
        return False
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. Smith"
    return word in _ABBREVIATIONS


def _hard_line_breaks(text: str, start: int, end: int) -> list[int]:
    """Offsets just after newlines that end a unit even without punctuation.

    A newline ends a sentence when the line before it ends in terminal
    punctuation or a colon, when the next line starts a heading, list item,
    quote or table row, or when the line before it is short (a title).
    """
    cuts: list[int] = []
    pos = text.find("\n", start, end)
    # The first line may begin before ``start`` (a window of a long text): judge it whole,
    # looking back a bounded distance so a text of one giant line stays linear.
    floor = max(0, start - _LOOK_BACK)
    line_start = max(floor, text.rfind("\n", floor, start) + 1)
    while pos != -1:
        line = text[line_start:pos].strip()
        after = pos + 1
        next_end = text.find("\n", after, end)
        next_line = text[after : next_end if next_end != -1 else end]
        if line and (
            line[-1] in ".!?:;…\"”’)"
            or len(line) < 40
            or _LINE_START_BLOCK.match(next_line) is not None
            or _LINE_START_BLOCK.match(line) is not None
        ):
            cuts.append(after)
        line_start = after
        pos = next_end
    return cuts


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentence spans ``(s, e)`` with offsets into ``text``.

    Spans exclude surrounding white space and cover every non-space character once.

    >>> split_sentences("Hi there. Dr. Who came. Bye")
    [(0, 9), (10, 23), (24, 27)]
    """
    end = len(text) if end is None else end
    cuts = {start, end}
    for m in _PARAGRAPH.finditer(text, start, end):
        cuts.add(m.end())
    cuts.update(_hard_line_breaks(text, start, end))
    for m in _END.finditer(text, start, end):
        punct_end = m.end()
        if text[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(text, m.start()):
            continue
        # "3.5" never reaches here (no space after the dot); "No. 5" is an abbreviation.
        nxt = punct_end
        while nxt < end and text[nxt].isspace():
            nxt += 1
        if nxt < end and text[nxt].islower():
            continue  # "e.g. this" or a lowercase continuation is not a new sentence
        cuts.add(nxt)
    spans: list[tuple[int, int]] = []
    ordered = sorted(c for c in cuts if start <= c <= end)
    for a, b in pairwise(ordered):
        s, e = a, b
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans
