"""Two rules that reshape the chosen units to fit what the question asks for (pure).

They run after the answerer has decided to answer (``rag.extractive.decide``):

- **The fix after the problem.** A "how do I" question whose best unit names the problem but
  says nothing to do ("**"index is locked"**: another process is running ...") is answered with
  the sentence right after it that does ("Stop it, or ... delete the stale `ferrule.pid` file").
- **The cheapest row.** "What is the cheapest item ...?" chosen a row of a price table is
  answered by the row of that table with the lowest price (``rag.superlative``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from index.models import Hit
from index.sentences import split_sentences
from rag.answer_units import ROW
from rag.question_types import is_instruction, question_type
from rag.superlative import asks_extreme_price, extreme


class Quoted(Protocol):
    """What these rules read of a scored unit (``rag.unit_scores.Candidate``)."""

    @property
    def hit(self) -> Hit: ...
    @property
    def span(self) -> tuple[int, int]: ...
    @property
    def kind(self) -> str: ...
    @property
    def context(self) -> str: ...
    @property
    def sentence_text(self) -> str: ...


Q = TypeVar("Q", bound=Quoted)


def reshape(question: str, chosen: list[Q], pool: Sequence[Q], max_units: int) -> list[Q]:
    """``chosen`` with the two rules above applied; ``pool`` holds every scored unit (pure)."""
    if len(chosen) == 1 and max_units > 1 and question_type(question).name == "howto":
        extra = instruction_after(chosen[0], pool)
        chosen = [chosen[0], extra] if extra is not None else chosen
    direction = asks_extreme_price(question)
    if chosen and direction is not None and chosen[0].kind == ROW:
        first = chosen[0]
        same = (first.hit.chunk.id, first.context)
        table = [c for c in pool if c.kind == ROW and (c.hit.chunk.id, c.context) == same]
        pick = extreme(direction, [(c.sentence_text, c.context) for c in table])
        chosen = [table[pick]] if pick is not None else chosen
    return chosen


def instruction_after(best: Q, candidates: Sequence[Q]) -> Q | None:
    """The sentence right after ``best`` in its chunk that says what to do, when ``best`` does not (pure)."""
    if is_instruction(best.sentence_text):
        return None
    spans = split_sentences(best.hit.chunk.text)
    if best.span not in spans:
        return None
    i = spans.index(best.span)
    if i + 1 >= len(spans):
        return None
    after = spans[i + 1]
    for cand in candidates:
        if cand.hit.chunk.id == best.hit.chunk.id and cand.span == after and is_instruction(cand.sentence_text):
            return cand
    return None
