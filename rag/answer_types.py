"""What kind of answer a question asks for, and whether a sentence can hold one (pure).

"When ..." wants a time; "How many ..." and "What is the budget of ..." a quantity. A sentence with no time or
number in it cannot answer those, however many words it shares with the question;
the extractive answerer skips such sentences, and abstains when none is left.
"""

from __future__ import annotations

import re

_TIME_QUESTION = re.compile(
    r"^\s*(?:when\b|(?:in|by|since|until)?\s*(?:what|which)\s+(?:year|years|decade|century|month|date|day|period|era)\b)",
    re.IGNORECASE,
)
_QUANTITY_QUESTION = re.compile(
    r"^\s*(?:how\s+(?:many|much|long|old|far|big|large|high|often)\b)"
    r"|\b(?:what|which)\s+(?:percentage|percent|proportion|number|amount|fraction|share)\b"
    # "What is the annual budget of ...": a measure asked for by name is a quantity too
    r"|^\s*what\s+(?:is|was|are|were|will\s+be)\s+(?:the|its|their|his|her)\s+(?:\w+\s+)?"
    r"(?:budget|cost|price|population|revenue|salary|income|height|length|width|depth|weight|area"
    r"|speed|temperature|capacity|distance|turnover)s?(?:\s+(?:of|for|in|per|at)\b|\s*\?|\s*$)",
    re.IGNORECASE,
)
_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_TIME_WORDS = (
    "century centuries decade decades year years month months week weeks day days ago today yesterday "
    "tomorrow recently recent currently now later earlier early late since until before after during "
    "when while then once season spring summer autumn fall winter morning evening night era age period "
    "noon midnight dawn dusk sunrise sunset hour hours minute minutes am pm daily weekly monthly annually yearly "
    "monday tuesday wednesday thursday friday saturday sunday bc ad bce ce dynasty reign"
)
_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred "
    "hundreds thousand thousands million millions billion billions trillion dozen dozens half quarter "
    "third single double twice triple several percent percentage majority minority"
)
_TIME_TOKEN = re.compile(rf"\d|\b(?:{'|'.join((_MONTHS + ' ' + _TIME_WORDS).split())})\b", re.IGNORECASE)
_QUANTITY_TOKEN = re.compile(rf"\d|%|\b(?:{'|'.join(_NUMBER_WORDS.split())})\b", re.IGNORECASE)


def expected_type(question: str) -> str | None:
    """ "time", "quantity", or None when the question's form says nothing about its answer.

    >>> expected_type("When was it founded?"), expected_type("How many cores?"), expected_type("Who?")
    ('time', 'quantity', None)
    """
    if _TIME_QUESTION.search(question):
        return "time"
    if _QUANTITY_QUESTION.search(question):
        return "quantity"
    return None


def can_answer(sentence: str, kind: str | None) -> bool:
    """Whether ``sentence`` holds something of the ``kind`` asked for (always True for None)."""
    if kind == "time":  # "at six" is a time too
        return _TIME_TOKEN.search(sentence) is not None or _QUANTITY_TOKEN.search(sentence) is not None
    if kind == "quantity":
        return _QUANTITY_TOKEN.search(sentence) is not None
    return True
