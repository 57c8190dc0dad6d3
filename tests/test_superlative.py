"""The cheapest or dearest row of a price table (pure logic)."""

from __future__ import annotations

from index.models import Chunk, Hit
from rag.answer_units import find_units
from rag.config import Settings
from rag.extractive import decide
from rag.superlative import asks_extreme_price, cells, extreme, price, price_column, priced_table, without_extreme
from rag.unit_scores import Candidate

HEADER = "Prices Item | Serves | Price (EUR) | Order at least"  # the heading above the table, then its header row
TABLE = (
    "## Prices\n\nItem | Serves | Price (EUR) | Order at least\n"
    "Breakfast platter | 10 people | 85.00 | 2 days ahead\n"
    "Vegan lunch box | 1 person | 11.50 | 2 days ahead\n"
    "Large celebration cake | 20 people | 120.00 | 5 days ahead\n"
    "Sandwich tray | 6 people | 42.00 | 1 day ahead\n"
)


def test_the_question_forms() -> None:
    assert asks_extreme_price("What is the cheapest item on the menu?") == "min"
    assert asks_extreme_price("Which dish is the most expensive?") == "max"
    assert asks_extreme_price("Is the cake expensive?") is None
    assert "cheapest" not in without_extreme("What is the cheapest item?")


def test_cells_and_the_price_column() -> None:
    assert cells("| `--seal` | encrypt each archive |") == ["`--seal`", "encrypt each archive"]
    assert price_column(HEADER, 4) == 2  # "Prices" in the first cell is the heading, not a column
    assert price_column(HEADER, 3) is None  # a row of another width belongs to another table
    assert price_column("Who | By", 2) is None
    assert price("Vegan lunch box | 1 person | 11.50 | 2 days ahead", HEADER) == 11.5
    assert not priced_table([("Jonas Amberg | 23 February 2026", "What | Who")])


def test_the_extreme_row() -> None:
    rows = [(line, HEADER) for line in TABLE.splitlines()[3:]]
    assert rows[extreme("min", rows)][0].startswith("Vegan lunch box")  # type: ignore[index]
    assert rows[extreme("max", rows)][0].startswith("Large celebration cake")  # type: ignore[index]
    assert extreme("min", [("a | b", "What | Who")]) is None


def test_the_cheapest_row_replaces_the_row_that_scored_best() -> None:
    chunk = Chunk("c1", TABLE, "/d/p.docx", "p.docx", "p", None, 0, len(TABLE), 60, 0, "h")
    hit = Hit(chunk, 1.0, 1)
    units = [u for u in find_units(TABLE) if u.kind == "row"]
    cands = [Candidate(hit, u.span, 0.6, 0.6, 0.9 - 0.01 * i, u.kind, context=u.context) for i, u in enumerate(units)]
    config = Settings().extractive_config()
    chosen = decide(cands, config, "What is the cheapest item on the catering menu?")
    assert [c.sentence_text.split(" |")[0] for c in chosen] == ["Vegan lunch box"]
    plain = decide(cands, config, "What is on the catering menu?")
    assert plain[0].sentence_text.startswith("Breakfast platter")
