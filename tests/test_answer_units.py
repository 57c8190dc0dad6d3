"""Answer units: the spans of a chunk an answer may quote, beyond sentences (pure logic)."""

from __future__ import annotations

from rag.answer_units import CODE, DEFINITION, FIELD, ITEM, LIST, ROW, SECTION, SENTENCE, TITLE, find_units

TITLE_PAGE = (
    "Harbour Safety Rules\n"
    "Port of Ellisk Authority\n"
    "Author: Dr. Ana Petrov, Harbour Master\n"
    "Approved on 3 March 2024\n"
    "\n"
    "1. Purpose\n"
    "These rules keep people safe on the quays. They replace the rules of 2019.\n"
)

MANUAL = """# Kestrel

Kestrel is a command-line tool for renaming photographs by the date they were taken.

## Supported formats

- jpeg
- png
- heic

## Options

| Flag | What it does |
|---|---|
| `--dry-run` | show the new names without renaming |
| `--into DIR` | move the renamed files into DIR |

## Installing

```bash
pipx install kestrel
```
"""

HTML_LIKE = (
    "## Plot sizes\n\nFull plot\n\n250 square metres; rent 60 pounds a year.\n\nHalf plot\n\n125 square metres.\n"
)
DOCX_LIKE = (
    "# Price List\nWe cook for parties.\n## Prices\nItem | Serves | Price\n"
    "Sandwich tray | 6 people | 42.00\nCake | 20 people | 120.00\n## Ordering\nOrders are taken by email.\n"
)


def _units(text: str, start: bool = True) -> list[tuple[str, str, str]]:
    return [(u.kind, text[u.span[0] : u.span[1]], u.context) for u in find_units(text, document_start=start)]


def test_title_page_gives_the_title_and_one_field_per_line() -> None:
    units = _units(TITLE_PAGE)
    fields = [text for kind, text, _ in units if kind == FIELD]
    assert fields == [
        "Port of Ellisk Authority",
        "Author: Dr. Ana Petrov, Harbour Master",
        "Approved on 3 March 2024",
    ]
    # the title page frames the title ("the rules approved on 3 March"), the title frames its lines
    assert units[0] == (TITLE, "Harbour Safety Rules", " ".join(fields))
    assert all(context == "Harbour Safety Rules" for kind, _, context in units if kind == FIELD)
    # the numbered heading is context, never a unit; the text under it is split into sentences
    assert ("1. Purpose" not in [text for _, text, _ in units])
    assert (SENTENCE, "They replace the rules of 2019.", "1. Purpose") in units


def test_a_lone_numbered_line_under_the_title_is_a_title_page_line_and_a_list_is_not() -> None:
    # a PDF title page as the loader gives it: the edition line starts with "0." like a list item
    page = "### Lecture Notes on Knots\n0. Edition, 31 December 2016 Mara Quell\n\n# Preface\nThe notes grew."
    assert (FIELD, "0. Edition, 31 December 2016 Mara Quell", "Lecture Notes on Knots") in _units(page)
    listed = "Packing List\n1. Two coils of rope, dry\n2. A lantern, filled\n\nBring both to the quay."
    items = {"1. Two coils of rope, dry", "2. A lantern, filled"}
    assert [kind for kind, text, _ in _units(listed) if text in items] == [ITEM, ITEM]


def test_no_title_unless_the_text_starts_its_document() -> None:
    kinds = [kind for kind, _, _ in _units(TITLE_PAGE, start=False)]
    assert TITLE not in kinds


def test_markdown_title_list_table_code_and_definition() -> None:
    units = _units(MANUAL)
    assert units[0] == (TITLE, "Kestrel", "")  # the title frames nothing: its words would match everything
    assert (DEFINITION, "Kestrel is a command-line tool for renaming photographs by the date they were taken.",
            "") in units
    items = [text for kind, text, _ in units if kind == ITEM]
    assert items == ["- jpeg", "- png", "- heic"]
    lists = [(text, context) for kind, text, context in units if kind == LIST]
    assert lists == [("- jpeg\n- png\n- heic", "Supported formats")]
    rows = [(text, context) for kind, text, context in units if kind == ROW]
    # the header row and the separator are context of the rows, not rows
    assert rows == [
        ("| `--dry-run` | show the new names without renaming |", "Options | Flag | What it does |"),
        ("| `--into DIR` | move the renamed files into DIR |", "Options | Flag | What it does |"),
    ]
    assert (CODE, "pipx install kestrel", "Installing") in units
    assert not any(text.startswith(("#", "```")) for _, text, _ in units)


def test_headings_are_never_units_on_their_own() -> None:
    texts = [text for _, text, _ in _units(MANUAL)]
    for heading in ("Supported formats", "Options", "Installing", "## Options"):
        assert heading not in texts


def test_a_short_heading_is_quoted_with_the_one_line_it_heads() -> None:
    units = _units(HTML_LIKE, start=False)
    assert (SECTION, "Full plot\n\n250 square metres; rent 60 pounds a year.", "") in units
    assert (SENTENCE, "250 square metres; rent 60 pounds a year.", "Full plot") in units


def test_docx_rows_take_the_first_row_as_header() -> None:
    units = _units(DOCX_LIKE)
    rows = [(text, context) for kind, text, context in units if kind == ROW]
    assert rows == [
        ("Sandwich tray | 6 people | 42.00", "Prices Item | Serves | Price"),
        ("Cake | 20 people | 120.00", "Prices Item | Serves | Price"),
    ]
    assert (SENTENCE, "Orders are taken by email.", "Ordering") in units


def test_spans_point_into_the_text() -> None:
    for text in (TITLE_PAGE, MANUAL, HTML_LIKE, DOCX_LIKE):
        for unit in find_units(text, document_start=True):
            s, e = unit.span
            assert 0 <= s < e <= len(text) and text[s:e] == text[s:e].strip()
