"""Two signals that decide whether the extractive answer is "not found" (pure).

The answerer's first test is how well its best unit matches the question: the share of
the question's terms it holds (``min_lexical``) or its closeness in meaning
(``strong_dense``). On questions worded the way people ask, neither separates a
paraphrase ("How do I add a password ...?" for a line about ``--gatekeeper USER:SECRET``)
from a question the documents never answer ("How deep is the pond ...?" next to a
sentence about the site's water troughs). These two signals do better on both sides:

- **The measure asked for** (``missing_measure``): a question that asks for a price, a
  length, a phone number or a version needs a quoted unit that holds one. "How much does
  the brake bleed kit cost?" is not answered by the action item that mentions the kit,
  whatever words they share.
- **A paraphrased term** (``without_each``, ``paraphrase_drop``): for each question term
  the best unit lacks, the question is embedded again without it. When leaving a term out
  makes the question clearly *less* similar to the unit, the unit speaks of that term in
  other words (password -> secret, commute -> travel between home and campus), so the
  unit supports an answer although it shares few words with the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.text_terms import ANSWER_STOP_WORDS, stem, terms, words


@dataclass(frozen=True)
class Measure:
    """Something a question asks for and what a unit holding it looks like (``rag.question_focus`` too)."""

    name: str
    question: re.Pattern[str]
    evidence: re.Pattern[str]


def ignoring_case(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_i = ignoring_case  # short, for the table below


_MONEY_WORD = (
    r"(?:cost|costs|price|prices|priced|salary|salaries|wages?|income|revenue|fees?|charge|rent|allowance|budget)"
)

MEASURES: tuple[Measure, ...] = (
    Measure(
        "money",
        # "how much ... cost/fee/rent", "what does X cost", "what is the (yearly) price of" (not "the price list")
        _i(rf"^\s*how\s+much\b.*\b(?:{_MONEY_WORD}|pay)\b|\bwhat\s+(?:does|do|did|will)\b.*\b(?:cost|pay)\b"
           rf"|\bwhat\s+(?:is|was|are|were)\s+(?:the|its|their)\s+(?:\w+\s+)?{_MONEY_WORD}s?\b(?!\s+list)"),
        _i(r"[€£$¥]|\b(?:euros?|pounds?|dollars?|eur|usd|gbp|pence|cents?|francs?|yen|marks?|million|billion|percent)\b"
           r"|%|\d+[.,]\d\d\b"),
    ),
    Measure(
        "length",
        _i(r"^\s*how\s+(?:deep|tall|high|wide|far(?!\s+(?:in\s+advance|ahead|back)))\b"
           r"|\bwhat\s+is\s+the\s+(?:depth|height|width)\b"),  # not "length" or "distance": of a stay, of genes
        _i(r"\b(?:mm|cm|m|km|metres?|meters?|(?:centi|milli|kilo)met(?:re|er)s?|feet|foot|ft|inch(?:es)?|miles?|yards?)\b"),
    ),
    Measure(
        "phone",
        _i(r"\b(?:phone|telephone|fax)\s+(?:number|extension)s?\b|\bextension\s+number\b"),  # not "an extension of"
        _i(r"\bextension\s+\d|\+?\d[\d ()-]{6,}\d|\b(?:tel|phone)\b[^.]*\d"),
    ),
    Measure("version", _i(r"\b(?:which|what)\s+version\b"), _i(r"\b\d+(?:\.\d+)+\b|\bversion\s+\d|\bv\d")),
)


def missing_measure(question: str, quoted: Sequence[str]) -> str | None:
    """The measure ``question`` asks for that none of the ``quoted`` texts holds, or None.

    >>> missing_measure("How much does the bleed kit cost?", ["Put the bleed kit on the agenda, 11 May"])
    'money'
    >>> missing_measure("How much does the bleed kit cost?", ["The kit costs 45 euros."]) is None
    True
    """
    for measure in MEASURES:
        if measure.question.search(question) and not any(measure.evidence.search(t) for t in quoted):
            return measure.name
    return None


def missing_words(question: str, unit: str) -> list[str]:
    """The question's content words (in order, once each) whose stem ``unit`` does not hold."""
    held = set(terms(unit))
    out: list[str] = []
    for word in words(question):
        if word not in ANSWER_STOP_WORDS and stem(word) not in held and word not in out:
            out.append(word)
    return out


def without_each(question: str, missing: Sequence[str]) -> list[str]:
    """``question`` once without each of the ``missing`` words (whole words, any case).

    >>> without_each("How do I add a password?", ["password"])
    ['How do I add a  ?']
    """
    return [re.sub(rf"(?<!\w){re.escape(w)}(?!\w)", " ", question, flags=re.IGNORECASE) for w in missing]


def paraphrase_drop(
    question_vector: Sequence[float], unit_vector: Sequence[float], variant_vectors: Sequence[Sequence[float]]
) -> float:
    """How much the question's similarity to the unit falls, at most, when one missing term is left out.

    0.0 when no variant is given or none lowers it; vectors are unit length (cosine = dot).
    """
    base = _dot(question_vector, unit_vector)
    return max([0.0, *(base - _dot(v, unit_vector) for v in variant_vectors)])


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b, strict=True)))
