"""Word-level text handling shared by the answerers: terms, stop words, overlap (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves s t don doesn didn isn wasn aren weren won shall may might must let us
    according say said says tell told please much many one
    """.split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    stemmer = _stemmer()
    if stemmer is None:
        return word
    return str(stemmer.stemWord(word))


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content words (stop words dropped), in order."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS]


def idf_weights(documents: Sequence[Iterable[str]]) -> dict[str, float]:
    """Smoothed inverse document frequency of each term over ``documents``."""
    n = len(documents)
    df: dict[str, int] = {}
    for doc in documents:
        for term in set(doc):
            df[term] = df.get(term, 0) + 1
    return {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}


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


def coverage(question_terms: Sequence[str], vocabulary: Container[str]) -> Coverage:
    """Which of the question's content terms occur nowhere in ``vocabulary`` (pure).

    ``question_terms`` are stemmed tokens (the index's own tokenizer); stop words are
    left out, as they say nothing about what the question is about.
    """
    stops = _stop_stems()
    content = {t for t in question_terms if t not in stops}
    return Coverage(sum(t not in vocabulary for t in content), len(content))


@lru_cache(maxsize=1)
def _stop_stems() -> frozenset[str]:
    return STOP_WORDS | frozenset(stem(w) for w in STOP_WORDS)
