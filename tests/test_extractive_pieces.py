"""Pieces of sentences cut by overlapping chunks are not quoted when the whole sentence is there (issue 12)."""

from __future__ import annotations

import pytest

from index.embedding import Embedder
from index.models import Chunk, Hit
from rag.answer_units import ITEM, LIST, SENTENCE, Unit
from rag.config import Settings
from rag.extractive import ExtractiveAnswerer
from rag.unit_scores import candidate_units
from rag.unit_spans import without_pieces

# A paper-like document of three paragraphs, written for this test.
FIRST = (
    "Nasal swabs were taken from forty adults at two rural clinics during the winter season. "
    "While the binding of the virus to airway cells is now described in detail, "
    "the way it spreads efficiently from one person to another remains unclear. "
)
SECOND = "Further work in ferrets is planned for the coming year."
DOCUMENT = FIRST + SECOND
CUT = DOCUMENT.index("binding of the virus")  # where an overlapping chunk begins, inside a sentence


def _chunk(cid: str, start: int, end: int) -> Chunk:
    text = DOCUMENT[start:end]
    return Chunk(cid, text, "/papers/swabs.txt", "swabs.txt", "swabs", None, start, end, 60, 0, "h")


def _hits() -> list[Hit]:
    # the chunk that begins inside the sentence (three words in) is retrieved first
    return [Hit(_chunk("late", CUT, len(DOCUMENT)), 1.0, 1), Hit(_chunk("early", 0, len(FIRST)), 0.6, 2)]


def _texts(units: list[tuple[Hit, Unit]]) -> list[str]:
    return [h.chunk.text[u.span[0] : u.span[1]] for h, u in units]


def test_a_piece_of_a_sentence_whose_whole_another_chunk_holds_is_left_out() -> None:
    texts = _texts(candidate_units(_hits(), 3))
    assert not any(t.startswith("binding of the virus") for t in texts)
    assert any(t.startswith("While the binding") for t in texts)
    assert any(t.startswith("Further work") for t in texts)
    # with only the late chunk retrieved, its piece is all there is of that sentence: it stays
    alone = _texts(candidate_units(_hits()[:1], 3))
    assert alone[0].startswith("binding of the virus")


def test_only_prose_inside_prose_of_another_chunk_is_a_piece() -> None:
    text = "- ginger tea\n- lemon water\n"
    chunk = Chunk("a", text, "/d/l.md", "l.md", "l", None, 0, len(text), 9, 0, "h")
    other = Chunk("b", text, "/d/l.md", "l.md", "l", None, 0, len(text), 9, 1, "h")
    a, b = Hit(chunk, 1.0, 1), Hit(other, 0.9, 2)
    item, whole = Unit(ITEM, (0, 12)), Unit(LIST, (0, len(text.rstrip())))
    units = [(a, item), (a, whole), (b, item)]
    assert without_pieces(units) == units  # a list item inside a list is a unit of its own
    sentence, longer = Unit(SENTENCE, (2, 12)), Unit(SENTENCE, (0, 25))
    assert without_pieces([(a, sentence), (a, longer)]) == [(a, sentence), (a, longer)]  # one chunk: kept
    assert without_pieces([(a, sentence), (b, longer)]) == [(b, longer)]
    elsewhere = Chunk("c", text, "/d/other.md", "other.md", "o", None, 0, len(text), 9, 0, "h")
    assert without_pieces([(a, sentence), (Hit(elsewhere, 1.0, 3), longer)]) == [
        (a, sentence), (Hit(elsewhere, 1.0, 3), longer)
    ]


@pytest.mark.slow
def test_the_answer_quotes_the_whole_sentence_not_the_piece_a_chunk_boundary_cut(embedder: Embedder) -> None:
    """With the real model: the piece, in the better-ranked chunk, was quoted ("binding of the virus
    to airway cells is now ..."), its sentence cut short, though the other chunk holds all of it."""
    answerer = ExtractiveAnswerer(embedder, Settings(answer_sentences=1).extractive_config())
    question = "Is the way the virus spreads from one person to another understood?"
    vector = embedder.embed_query(question)
    answer = answerer.quote(question, _hits(), vector)
    assert not answer.abstained
    assert answer.text.startswith("While the binding of the virus to airway cells is now described in detail")
