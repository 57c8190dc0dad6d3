"""The pieces of a chunk an answer can quote: sentences, and the structure around them (pure).

Sentences answer most questions, but not all: "What file types ...?" wants a list,
"What does the sandwich tray cost?" a table row, "Who wrote it?" the author line of a
title page, "What is the title ...?" the title. ``find_units`` finds these in a chunk's
text, each as a character span of that text (so a citation highlights exactly what
is quoted) with a ``context``: the heading it sits under and, for a table row, the
table's header. The context is used to judge a unit, never quoted.

Headings are context only: a heading restates a topic, so it never answers the
question that echoes it. A document's first line may be quoted as its title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.sentences import split_sentences

SENTENCE = "sentence"
TITLE = "title"  # the first line of a document
FIELD = "field"  # a line of a title page or a "Label: value" line ("Author: ...", "Date: ...")
ITEM = "item"  # one list item
LIST = "list"  # a run of list items, quoted whole
ROW = "row"  # one table row
SECTION = "section"  # a short heading with the one line it heads ("Full plot" + its price)
DEFINITION = "definition"  # "X is ..." / "X means ..."
CODE = "code"  # a line of a code block (a command to type)

_MD_HEADING = re.compile(r"#{1,6}\s+\S")
_BULLET = re.compile(r"(?:[-*+•]|\d{1,3}[.)])\s+\S")
_TABLE_SEPARATOR = re.compile(r"\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?")
_NUMBERED_HEADING = re.compile(r"\d{1,2}\.\s+[A-Z]\w*(?:\s+\w+){0,3}$")  # "1. Purpose"
_FIELD = re.compile(r"[A-Z][\w ()/-]{1,40}:\s+\S")
_FENCE = "```"
_MAX_FIELD_LINE = 80  # a title page's lines are short
_DEFINITION = re.compile(
    r"^(?:an?\s+|the\s+)?[\w`'\"-]+(?:\s+[\w`'\"-]+){0,4}\s+(?:is|are|means|refers\s+to|stands\s+for)\s+(?:an?|the)\b",
    re.IGNORECASE,
)
_TERMINAL = ".!?;,"
_MAX_HEADING = 70  # characters: a longer line is text, not a heading
_MAX_TITLE = 120
_MAX_SECTION_BODY = 100  # a heading is quoted with the line it heads only when that line is short


@dataclass(frozen=True)
class Unit:
    """A quotable span of a chunk's text, of one ``kind``, with the ``context`` that frames it."""

    kind: str
    span: tuple[int, int]
    context: str = ""


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str  # stripped
    blank_before: bool


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    blank = True
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            start = pos + lead
            out.append(_Line(start, start + len(stripped), stripped, blank))
            blank = False
        else:
            blank = True
        pos += len(raw) + 1
    return out


def is_table_row(line: str) -> bool:
    """A Markdown table row (``| a | b |``) or a docx row as the loader writes it (``a | b | c``)."""
    if _TABLE_SEPARATOR.fullmatch(line):
        return False
    return line.startswith("|") or line.count(" | ") >= 2


def is_list_item(line: str) -> bool:
    return _BULLET.match(line) is not None


def _listed_or_numbered_heading(lines: list[_Line], i: int) -> bool:
    """A list item beside another one, or a numbered heading: a lone "0. Auflage, 2016 ..." under a
    title is a title-page line."""
    if not is_list_item(lines[i].text):
        return False
    if _NUMBERED_HEADING.match(lines[i].text):
        return True
    return any(0 < j < len(lines) and is_list_item(lines[j].text) for j in (i - 1, i + 1))


def _plain_heading(lines: list[_Line], i: int) -> bool:
    """A short line without end punctuation, standing on its own, followed by text: a heading.

    HTML and docx headings reach the text without Markdown's ``#``; this is how they look.
    """
    line = lines[i]
    text = line.text
    if len(text) > _MAX_HEADING or text[-1] in _TERMINAL or text[-1] == ":" or is_table_row(text):
        return False
    if is_field(lines, i) or text.startswith("```"):
        return False
    if not (text[0].isupper() or text[0].isdigit()) or len(text.split()) > 10:
        return False
    nxt = lines[i + 1] if i + 1 < len(lines) else None
    if nxt is None:
        return False
    # the next line begins a block of its own (a blank line, or this line is numbered "2. Scope"),
    # or this line stood apart from the one before
    numbered = re.match(r"\d{1,2}(?:\.\d+)*\.?\s+[A-Z]", text) is not None
    prev = lines[i - 1] if i > 0 else None
    # a docx heading: a few words between the end of one paragraph and the start of the next
    between = (
        len(text.split()) <= 5 and nxt.text[:1].isupper() and len(nxt.text) > len(text)
        and (prev is None or prev.text[-1] in ".!?:")
    )
    return nxt.blank_before or line.blank_before or numbered or between


def is_field(lines: list[_Line], i: int) -> bool:
    """A ``Label: value`` line standing on its own ("Date: 9 February", "Attendees: ...")."""
    match = _FIELD.match(lines[i].text)
    if match is None or len(lines[i].text) > 120:
        return False
    label = lines[i].text.split(":", 1)[0]
    nxt = lines[i + 1] if i + 1 < len(lines) else None
    ends_here = nxt is None or nxt.blank_before or _FIELD.match(nxt.text) is not None or lines[i].text[-1] in ".!?"
    return len(label.split()) <= 5 and ends_here


def is_heading(lines: list[_Line], i: int) -> bool:
    text = lines[i].text
    return _MD_HEADING.match(text) is not None or _plain_heading(lines, i)


def heading_text(line: str) -> str:
    return line.lstrip("#").strip().strip("*").strip()


def find_units(text: str, *, document_start: bool = False) -> list[Unit]:
    """Every unit of ``text`` an answer may quote, in reading order (pure).

    ``document_start``: the text begins its document, so its first line is the title and
    the short lines after it (author, date, reference) are title-page fields.

    >>> [u.kind for u in find_units("# Tools\\n\\n- a saw\\n- a rake\\n")]
    ['item', 'item', 'list']
    """
    lines = _lines(text)
    units: list[Unit] = []
    heading = ""
    header_row = ""
    run: list[_Line] = []  # list items in a row
    paragraph: list[_Line] = []  # prose lines, split into sentences together (a sentence may wrap)

    def close_run() -> None:
        if len(run) >= 2:
            units.append(Unit(LIST, (run[0].start, run[-1].end), heading))
        run.clear()

    def close_paragraph() -> None:
        if paragraph:
            for s, e in split_sentences(text, paragraph[0].start, paragraph[-1].end):
                kind = DEFINITION if _DEFINITION.match(text[s:e]) else SENTENCE
                units.append(Unit(kind, (s, e), heading))
        paragraph.clear()

    title_block = document_start
    title = ""  # the document's title: it frames the lines of its title page
    title_page: list[str] = []  # and they frame the title ("the document approved on ...")
    in_code = False
    for i, line in enumerate(lines):
        t = line.text
        if t.startswith(_FENCE):
            close_paragraph()
            close_run()
            in_code = not in_code
            continue
        if in_code:
            units.append(Unit(CODE, (line.start, line.end), heading))
            continue
        if line.blank_before:
            close_paragraph()
        if i == 0 and document_start and len(t) <= _MAX_TITLE and t[-1] not in ".!?":
            start = line.start + (len(t) - len(t.lstrip("#").lstrip()))
            units.append(Unit(TITLE, (start, line.end), ""))
            title = heading_text(t)
            continue  # a document's title is too broad to frame its sentences
        if title_block:
            short = len(t) <= _MAX_FIELD_LINE and t[-1] not in ".!?"
            if short and not _listed_or_numbered_heading(lines, i) and not _MD_HEADING.match(t):
                units.append(Unit(FIELD, (line.start, line.end), title))
                title_page.append(t)
                continue
            title_block = False
        if _TABLE_SEPARATOR.fullmatch(t) and header_row:
            continue
        if is_table_row(t):
            close_paragraph()
            close_run()
            nxt = lines[i + 1].text if i + 1 < len(lines) else ""
            first = not (i > 0 and is_table_row(lines[i - 1].text))
            if _TABLE_SEPARATOR.fullmatch(nxt) or (first and i > 0 and not header_row):
                header_row = t
                continue
            units.append(Unit(ROW, (line.start, line.end), f"{heading} {header_row}".strip()))
            continue
        header_row = ""
        if is_list_item(t) and not _NUMBERED_HEADING.match(t):
            close_paragraph()
            units.append(Unit(ITEM, (line.start, line.end), heading))
            run.append(line)
            continue
        if is_heading(lines, i):
            close_paragraph()
            close_run()
            heading = heading_text(t)
            nxt_line = lines[i + 1] if i + 1 < len(lines) else None
            after = lines[i + 2] if i + 2 < len(lines) else None
            single = after is None or after.blank_before or is_heading(lines, i + 2)
            short = nxt_line is not None and len(nxt_line.text) <= _MAX_SECTION_BODY
            if nxt_line is not None and single and short and not is_heading(lines, i + 1):
                units.append(Unit(SECTION, (line.start, nxt_line.end), ""))
            continue
        if is_field(lines, i):
            close_paragraph()
            close_run()
            units.append(Unit(FIELD, (line.start, line.end), heading or title))
            if not heading:
                title_page.append(t)
            continue
        close_run()
        paragraph.append(line)
    close_paragraph()
    close_run()
    if title_page and units and units[0].kind == TITLE:
        units[0] = Unit(TITLE, units[0].span, " ".join(title_page))
    return _distinct(units)


def _distinct(units: list[Unit]) -> list[Unit]:
    seen: set[tuple[int, int]] = set()
    out: list[Unit] = []
    for unit in units:
        if unit.span in seen:
            continue
        seen.add(unit.span)
        out.append(unit)
    return out
