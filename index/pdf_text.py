"""A PDF's text line by line, with the lines set in a clearly larger font marked as headings.

pypdf's plain extraction keeps the lines of a page but not how big they were printed.
Its ``visitor_text`` hook reports every piece of text it extracts with the font size and
the two matrices in force; the size a reader sees is the font size scaled by the text
matrix times the transformation matrix. The pieces, joined, are the page's text, so
each line gets the size most of its characters were set in, at no second pass over
the content stream.

The body size is the one most characters of the whole document are set in (per page,
a page of figure captions would make its one paragraph of body text a heading). A
short line at least ``HEADING_RATIO`` times that size gets Markdown's mark, "# " for
the biggest size, "## " for the next, and so on; consecutive lines of one heading
(a title broken over two lines) become one line. On the document's first page the
larger lines just under its title (subtitle, author, date) stay plain: they are the
fields of a title page, which the answer units read as such, not headings.

When the pieces do not add up to the page's text (pypdf reports the text of a form
XObject differently in some versions), the page is kept as extracted, without marks.

The one cost of the visitor: pypdf then parses every form XObject a page draws, where
plain extraction skips those without text (a chart, a map). Parsing takes about 3 us a
byte, so a document may spend ``DRAWING_PER_PAGE`` bytes of such forms a page on
average (at least ``DRAWING_FLOOR``: a cover picture); a page that would overspend is
extracted plainly, without marks, as fast as before.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

HEADING_RATIO = 1.15  # "clearly larger": LaTeX's \large over its body size is 1.2
MAX_HEADING_CHARS = 150  # a longer line in a big font is text (a pull quote), not a heading
_SIZE_STEP = 0.5  # points: sizes closer than this are one size
_WORD = re.compile(r"[^\W\d_]{2}")  # a heading has a word in it, not just a big symbol or number
DRAWING_PER_PAGE = 1_000  # bytes of text-less form XObjects a page worth parsing for the sizes, on average
DRAWING_FLOOR = 96_000  # ... and in any document, however short (a cover picture)
_TEXT_OPERATORS = (b"Tj", b"TJ", b"Do", b"'", b'"')  # what makes pypdf parse a form without a visitor


@dataclass(frozen=True)
class PdfLine:
    """One extracted line and the size (points, rounded to ``_SIZE_STEP``) most of it is set in; 0 unknown."""

    text: str
    size: float


def _effective_size(font_size: float, cm: Sequence[float], tm: Sequence[float]) -> float:
    """The font size scaled by the vertical scale of ``tm`` x ``cm`` (PDF 32000-1, 9.4.4)."""
    c, d = float(tm[2]), float(tm[3])
    return abs(float(font_size)) * math.hypot(c * float(cm[0]) + d * float(cm[2]), c * float(cm[1]) + d * float(cm[3]))


def document_lines(pages: Sequence[Any]) -> list[list[PdfLine]]:
    """The lines of every pypdf page, sized while the drawing budget lasts (module docstring)."""
    budget = max(DRAWING_FLOOR, DRAWING_PER_PAGE * len(pages))
    known: dict[int, int] = {}  # pages share forms (a logo, a resource dictionary): look at each once
    out: list[list[PdfLine]] = []
    for page in pages:
        cost = drawing_bytes(page, budget, known)
        if cost <= budget:
            budget -= cost
            out.append(page_lines(page))
        else:
            out.append([PdfLine(line, 0.0) for line in (page.extract_text() or "").split("\n")])
    return out


def page_lines(page: Any) -> list[PdfLine]:
    """The lines of one pypdf page, each with its size; sizes 0 when they cannot be told."""
    pieces: list[tuple[str, float]] = []

    def visit(text: Any, cm: Any, tm: Any, font: Any, font_size: Any) -> None:
        try:
            size = _effective_size(font_size, cm, tm)
        except (TypeError, ValueError, IndexError):
            size = 0.0
        pieces.append((str(text), size))

    raw = page.extract_text(visitor_text=visit) or ""
    if "".join(text for text, _ in pieces) != raw:
        return [PdfLine(line, 0.0) for line in raw.split("\n")]
    lines: list[PdfLine] = []
    current: list[str] = []
    sizes: Counter[float] = Counter()
    for text, size in pieces:
        parts = text.split("\n")
        for k, part in enumerate(parts):
            if k:
                lines.append(_line(current, sizes))
                current, sizes = [], Counter()
            current.append(part)
            weight = len(part) - part.count(" ")
            if weight and size > 0:
                sizes[round(size / _SIZE_STEP) * _SIZE_STEP] += weight
    lines.append(_line(current, sizes))
    return lines


def drawing_bytes(page: Any, limit: int, known: dict[int, int] | None = None) -> int:
    """Bytes of the form XObjects without text that ``page`` may draw, counted up to just past ``limit``.

    Forms inside forms count too; a form is counted once. Resources that cannot be read
    count as nothing: extraction then meets the same problem and reports it. ``known``
    keeps each form's count (by object) from one page to the next.
    """
    from pypdf.errors import PyPdfError

    total = 0
    seen: set[int] = set()
    try:
        stack: list[Any] = [page.get("/Resources")]
        while stack and total <= limit:
            resources: Any = _resolved(stack.pop())
            forms: Any = _resolved(resources.get("/XObject")) if hasattr(resources, "get") else None
            for ref in forms.values() if hasattr(forms, "values") else ():
                form = ref.get_object()
                if id(form) in seen or form.get("/Subtype") != "/Form":
                    continue
                seen.add(id(form))
                count = known.get(id(form)) if known is not None else None
                if count is None:
                    data = form.get_data()
                    count = 0 if any(op in data for op in _TEXT_OPERATORS) else len(data)
                    if known is not None:
                        known[id(form)] = count
                total += count
                stack.append(form.get("/Resources"))
    except (PyPdfError, AttributeError, KeyError, TypeError, ValueError, OSError, zlib.error):
        return total
    return total


def _resolved(value: Any) -> Any:
    return value.get_object() if value is not None else None


def _line(parts: list[str], sizes: Counter[float]) -> PdfLine:
    return PdfLine("".join(parts), sizes.most_common(1)[0][0] if sizes else 0.0)


def body_size(pages: Sequence[Sequence[PdfLine]]) -> float:
    """The size most characters of the document are set in (0 when no size is known)."""
    weights: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            if line.size > 0:
                weights[line.size] += len(line.text) - line.text.count(" ")
    return weights.most_common(1)[0][0] if weights else 0.0


def heading_levels(pages: Sequence[Sequence[PdfLine]], body: float) -> dict[float, int]:
    """Heading level (1 the biggest) of every size clearly larger than ``body``, up to 6."""
    if body <= 0:
        return {}
    lines = [line for page in pages for line in page]
    big = {line.size for line in lines if line.size >= body * HEADING_RATIO and _is_heading_text(line.text)}
    sizes = sorted(big, reverse=True)
    return {size: min(6, rank) for rank, size in enumerate(sizes, start=1)}


def _is_heading_text(text: str) -> bool:
    stripped = text.strip()
    return 0 < len(stripped) <= MAX_HEADING_CHARS and _WORD.search(stripped) is not None


def marked_pages(pages: Sequence[Sequence[PdfLine]]) -> list[str]:
    """Each page's text with Markdown heading marks on its big lines (pure); see the module docstring."""
    body = body_size(pages)
    levels = heading_levels(pages, body)
    first = next((n for n, lines in enumerate(pages) if any(line.text.strip() for line in lines)), -1)
    out: list[str] = []
    for number, lines in enumerate(pages):
        marks = [levels.get(line.size, 0) if _is_heading_text(line.text) else 0 for line in lines]
        if number == first:
            _plain_title_page(lines, marks)
        out.append("\n".join(_joined(lines, marks)))
    return out


def _plain_title_page(lines: Sequence[PdfLine], marks: list[int]) -> None:
    """Unmark the big lines right under the title (its subtitle, author, date): title-page fields."""
    filled = [i for i, line in enumerate(lines) if line.text.strip()]
    if not filled or not marks[filled[0]]:
        return
    title = marks[filled[0]]
    in_title = True
    for i in filled[1:]:
        if in_title and marks[i] == title:
            continue  # the title's own next line
        in_title = False
        if marks[i] <= title:
            return  # plain text or a heading as big as the title: the title page is over
        marks[i] = 0


def _joined(lines: Sequence[PdfLine], marks: Sequence[int]) -> list[str]:
    """The lines with their marks, a heading's lines of one level joined into one line."""
    out: list[str] = []
    previous = 0
    for line, mark in zip(lines, marks, strict=True):
        text = line.text.strip()
        if mark and mark == previous and out:
            out[-1] = f"{out[-1]} {text}"
            continue
        out.append("#" * mark + " " + text if mark else line.text)
        previous = mark if text else 0
    return out
