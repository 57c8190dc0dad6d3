"""The cheapest or dearest row of a retrieved price table, for a question that asks for it (pure).

"What is the cheapest item on the catering menu?" is answered by no sentence: the answer is the
row of the price table with the lowest price. No row says "cheapest", and every row is about
as close to the question as the others, so scoring alone picks any of them. When a question
asks for the cheapest (or most expensive) thing and the unit chosen to answer it is a row of a
table with a price column, the row of that table with the lowest (highest) price is quoted
instead. The table's header row is the row's ``context`` (``rag.answer_units``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_CHEAPEST = re.compile(r"\b(?:cheapest|least\s+expensive|lowest[- ]priced|lowest\s+price)\b", re.IGNORECASE)
_DEAREST = re.compile(r"\b(?:most\s+expensive|dearest|priciest|highest[- ]priced|highest\s+price)\b", re.IGNORECASE)
_PRICE_HEADER = re.compile(r"\b(?:price|prices|cost|fee|eur|usd|gbp)\b|[€$£]", re.IGNORECASE)
_AMOUNT = re.compile(r"\d+(?:[.,]\d+)?")


def asks_extreme_price(question: str) -> str | None:
    """ "min" for "the cheapest ...", "max" for "the most expensive ...", else None.

    >>> asks_extreme_price("What is the cheapest item?"), asks_extreme_price("What is cheap?")
    ('min', None)
    """
    if _CHEAPEST.search(question):
        return "min"
    if _DEAREST.search(question):
        return "max"
    return None


def without_extreme(question: str) -> str:
    """``question`` without its "cheapest" / "most expensive": what the answer is, not a word it holds."""
    return _DEAREST.sub(" ", _CHEAPEST.sub(" ", question))


def cells(row: str) -> list[str]:
    """The cells of a table row as the loaders write it (``a | b | c`` or ``| a | b |``)."""
    parts = [p.strip() for p in row.strip().split("|")]
    if parts and not parts[0]:
        parts = parts[1:]
    if parts and not parts[-1]:
        parts = parts[:-1]
    return parts


def price_column(header: str, width: int) -> int | None:
    """The index of the price column of a header row of ``width`` cells, or None."""
    head = cells(header)
    if len(head) != width:
        return None
    found = [i for i, cell in enumerate(head) if _PRICE_HEADER.search(cell)]
    if len(found) > 1 and found[0] == 0:  # the first cell also holds the heading above the table ("Prices Item")
        found = found[1:]
    return found[0] if len(found) == 1 else None


def price(row: str, header: str) -> float | None:
    """The amount in ``row``'s price column (``header`` names the columns), or None."""
    row_cells = cells(row)
    column = price_column(header, len(row_cells))
    if column is None:
        return None
    match = _AMOUNT.search(row_cells[column])
    return float(match.group(0).replace(",", ".")) if match else None


def priced_table(rows: Sequence[tuple[str, str]]) -> bool:
    """Whether any of ``rows`` (text, header) has a price column."""
    return any(price(text, header) is not None for text, header in rows)


def extreme(direction: str, rows: Sequence[tuple[str, str]]) -> int | None:
    """The index of the cheapest ("min") or dearest ("max") of ``rows`` (text, header), or None.

    >>> header = "Item | Serves | Price (EUR)"
    >>> extreme("min", [("Tray | 6 people | 42.00", header), ("Box | 1 person | 11.50", header)])
    1
    """
    priced = [(p, i) for i, (text, header) in enumerate(rows) if (p := price(text, header)) is not None]
    if not priced:
        return None
    return (min(priced) if direction == "min" else max(priced))[1]
