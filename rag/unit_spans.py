"""Where the quotable units of overlapping chunks lie in their document (pure).

Chunks overlap (``chunk_overlap`` tokens) and are cut wherever the token budget ends, so a
chunk that starts inside a sentence begins with a piece of it, and a chunk that ends inside
one ends with a piece. When the chunk before (or after) was retrieved too, the whole
sentence is a candidate as well; the piece only repeats part of it, and where it scores
higher it is quoted cut short, losing the words the question asked about
("... are beginning to be understood at the molecular level" without the "While data on
influenza virus human cell adaptation" it began with).
"""

from __future__ import annotations

from collections.abc import Sequence

from index.models import Hit
from rag.answer_units import DEFINITION, SENTENCE, Unit

PROSE = frozenset({SENTENCE, DEFINITION})


def document_span(hit: Hit, unit: Unit) -> tuple[int, int]:
    """The unit's characters as offsets into its whole document."""
    return hit.chunk.start + unit.span[0], hit.chunk.start + unit.span[1]


def without_pieces(units: Sequence[tuple[Hit, Unit]]) -> list[tuple[Hit, Unit]]:
    """``units`` less each sentence that lies inside a longer sentence of another chunk of its document.

    Only prose counts: a list item inside a list, or a line inside a section, is a unit of its
    own kind on purpose (``rag.answer_units``), and units of one chunk never overlap by accident.
    """
    prose: dict[str, list[tuple[int, int, str]]] = {}
    for hit, unit in units:
        if unit.kind in PROSE:
            start, end = document_span(hit, unit)
            prose.setdefault(hit.chunk.source, []).append((start, end, hit.chunk.id))
    kept = []
    for hit, unit in units:
        if unit.kind in PROSE:
            start, end = document_span(hit, unit)
            inside = any(
                chunk != hit.chunk.id and s <= start and end <= e and e - s > end - start
                for s, e, chunk in prose[hit.chunk.source]
            )
            if inside:
                continue
        kept.append((hit, unit))
    return kept

