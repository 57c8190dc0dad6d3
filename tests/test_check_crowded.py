"""`rag check` tells a chunk hidden behind copies of one text from a damaged one (pure logic).

The real case (hundreds of equal vectors in a real Chroma index, the real model) is
``test_dedup.test_a_file_of_one_repeated_word_is_embedded_a_few_times_not_per_chunk``.
"""

from __future__ import annotations

from index.check import SELF_QUERY_TOP_K, crowded_note, crowded_out
from index.models import Chunk, Hit


def hit(text: str, rank: int) -> Hit:
    chunk = Chunk(
        id=f"c{rank}", text=text, source="/d/a.txt", display="a.txt", title="a", page=None,
        start=0, end=len(text), tokens=1, position=rank, doc_hash="h",
    )
    return Hit(chunk=chunk, score=1.0, rank=rank)


COPIES = [hit("word word word", r) for r in range(1, SELF_QUERY_TOP_K + 1)]
VECTOR = [0.6, 0.8, 0.0]


def test_a_chunk_stored_right_behind_copies_of_one_text_is_crowded_out() -> None:
    assert crowded_out(COPIES, VECTOR, VECTOR)
    assert crowded_out(COPIES, [0.6, 0.8, 0.001], VECTOR)  # batch rounding


def test_a_chunk_whose_stored_vector_is_not_its_texts_is_a_problem() -> None:
    assert not crowded_out(COPIES, [0.0, 0.0, 1.0], VECTOR)
    assert not crowded_out(COPIES, None, VECTOR)  # no vector stored at all


def test_half_the_hits_copies_of_one_text_is_crowding() -> None:
    half = [*COPIES[:5], *(hit(f"passage {r}", r) for r in range(6, SELF_QUERY_TOP_K + 1))]
    assert crowded_out(half, VECTOR, VECTOR)


def test_varied_or_few_hits_are_not_crowding() -> None:
    varied = [*COPIES[:4], *(hit(f"passage {r}", r) for r in range(5, SELF_QUERY_TOP_K + 1))]
    assert not crowded_out(varied, VECTOR, VECTOR)
    assert not crowded_out(COPIES[:3], VECTOR, VECTOR)


def test_the_note_names_a_few_chunks_and_counts_the_rest() -> None:
    note = crowded_note([f"chunk {i} of a.txt" for i in range(5)])
    assert note.startswith("dense search does not reach 5 chunk(s)")
    assert "chunk 0 of a.txt, chunk 1 of a.txt, chunk 2 of a.txt and 2 more" in note
    assert "nothing to repair" in note
