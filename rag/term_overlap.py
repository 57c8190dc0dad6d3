"""How much of a question a passage covers, in terms of ``index.text_terms`` (pure).

The answer-side logic on top of the shared terms: the idf-weighted overlap between a
question and a sentence, and the share of a question's terms the index has never seen.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass

from index.text_terms import answer_stop_stems


def weighted_overlap(query: Sequence[str], passage: Iterable[str], idf: dict[str, float]) -> float:
    """Share of the query's idf weight whose terms appear in ``passage`` (0..1)."""
    wanted = set(query)
    if not wanted:
        return 0.0
    default = max(idf.values(), default=1.0)
    total = sum(idf.get(t, default) for t in wanted)
    present = wanted & set(passage)
    return sum(idf.get(t, default) for t in present) / total if total else 0.0


@dataclass(frozen=True)
class Coverage:
    """How many of a question's content terms the index has never seen."""

    unknown: int = 0
    total: int = 0

    @property
    def share(self) -> float:
        return self.unknown / self.total if self.total else 0.0


def coverage(question_tokens: Sequence[str], vocabulary: Container[str]) -> Coverage:
    """Which of the question's content terms occur nowhere in ``vocabulary`` (pure).

    ``question_tokens`` are the index's own tokens (``index_tokens``), so they can be
    looked up in its vocabulary; the answer stop words (and their stems) are left out
    as well, as they say nothing about what the question is about.
    """
    stops = answer_stop_stems()
    content = {t for t in question_tokens if t not in stops}
    return Coverage(sum(t not in vocabulary for t in content), len(content))
