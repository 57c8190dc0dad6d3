"""The narrow thing a question's wh-phrase names, and what a unit holding it looks like (pure).

``rag.question_types`` knows that "When ...?" wants a time and "Who ...?" a name. Some
questions say more precisely what they want: "What *time* does it open?" wants a clock
time, not a weekday; "From what *date* ...?" a day and month, not any number; "Which
*organisation* ...?" the name of an organisation, not of a person; "What is the
*reference number* ...?" a code ("HR-POL-017"); "Who do I *talk to* about ...?" a person
to contact. When one of the retrieved units holds that evidence, only such units are
quoted; when none does, the question's type alone decides, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.abstention import Measure, ignoring_case

Focus = Measure  # one row: the wording that names the focus, and the evidence a unit answering it holds
_i = ignoring_case


_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_NAME = r"\b[A-Z][a-z]+(?:[ -](?:[A-Z]\.|[A-Z][a-z]+))+"

FOCI: tuple[Focus, ...] = (
    Focus("clock",  # "at what time", not "what time period" or "what time of year"
          _i(r"\bwhat\s+time\b(?!\s+(?:period|frame|span|zone|scale|of\s+(?:the\s+)?(?:year|day|month)))"),
          _i(r"\b\d{1,2}[:.]\d\d\b|\b\d{1,2}\s*(?:am|pm|a\.m\.|p\.m\.|o'clock)|\b(?:noon|midday|midnight)\b")),
    Focus("date",
          _i(r"\b(?:what|which)\s+(?:date|day)\b(?!\s+(?:of\s+the\s+week))"),
          _i(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b|\b{_MONTH}\s+\d{{1,2}}\b|\b{_MONTH}\s+\d{{4}}\b"
             r"|\b\d{4}-\d\d-\d\d\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")),
    # a name ending in a word only organisations carry ("Halvard Marine Research Institute"); companies
    # ("Virgin Media") and universities are named too many ways to be told by their words, so not asked about here
    Focus("organisation",
          _i(r"\b(?:which|what)\s+(?:organi[sz]ation|institute|institution|society|association|club|charity)\b"),
          re.compile(r"\b[A-Z][\w'-]+\s+(?:[A-Z][\w'-]+\s+){0,4}(?:Institute|Institution|Society|Association"
                     r"|Foundation|Co-op|Cooperative|Trust|Club|Charity|League|Ltd|Inc|GmbH)\b")),
    Focus("code",
          _i(r"\b(?:reference|registration|serial|policy|document|order|case|form|account|invoice|ticket|model|part)"
             r"\s+(?:number|code|no\b|id\b)|\breference\b"),
          re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)+\b|\b[A-Z]{1,5}\d{2,}\b"
                     r"|\b\d{3,}[A-Z]{1,3}\b|\b[Nn]umber\s+\d{3,}")),
    Focus("contact",
          _i(r"^\s*who\s+(?:do|should|can|must|would)\s+(?:i|we|you)\s+(?:talk|speak|ask|contact|write|turn|go|email"
             r"|call|report|complain|pay)\b|\bwho\s+(?:is|are)\s+(?:responsible|in\s+charge)\b|\bwho\s+to\s+(?:ask|contact)\b"),
          re.compile(rf"{_NAME}|@|\+?\d[\d ()-]{{6,}}\d")),
)


def focus_of(question: str) -> Focus | None:
    """The first row of ``FOCI`` whose wording the question uses, else None.

    >>> focus_of("What time does the workshop open on Saturdays?").name
    'clock'
    >>> focus_of("What time period does the report cover?") is None
    True
    """
    for focus in FOCI:
        if focus.question.search(question):
            return focus
    return None


def holds(focus: Focus | None, text: str) -> bool:
    """Whether ``text`` holds the evidence ``focus`` asks for (always True without a focus)."""
    return focus is None or focus.evidence.search(text) is not None


# "how big", "how long": the adjective asks for a measure; the answer says "6 by 4 feet", not "big"
_HOW_ADJECTIVE = _i(r"\bhow\s+(big|large|small|long|short|old|far|high|tall|deep|wide|often|soon|heavy|fast)\b")


def without_form(question: str, *, focus_held: bool = False) -> str:
    """``question`` without the words that name the form of its answer rather than its topic (pure).

    "How big a shed can I build?" is answered by "6 by 4 feet", and "Which organisation does the
    policy belong to?" by "Halvard Marine Research Institute", which never says "organisation".
    Such words are what the answer *is*, not what it contains, so they count neither as terms a
    unit should hold nor as things the documents never mention. The focus noun ("organisation")
    is left out only when ``focus_held``: some retrieved unit holds its evidence. Otherwise the
    documents may well never name one ("Which company makes ...?" over a text naming none).

    >>> without_form("How big a shed can I build?")
    'How  a shed can I build?'
    """
    out = _HOW_ADJECTIVE.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)], question)
    focus = focus_of(out)
    if focus_held and focus is not None and focus.name != "contact":  # "talk to", "ask" still say what is wanted
        out = focus.question.sub(lambda m: _wh_only(m.group(0)), out, count=1)
    return out


def asked(question: str, texts: Iterable[str]) -> str:
    """``without_form(question)``, leaving out the focus noun when one of ``texts`` holds its evidence."""
    focus = focus_of(question)
    held = focus is not None and any(holds(focus, t) for t in texts)
    return without_form(question, focus_held=held)


def _wh_only(phrase: str) -> str:
    """The wh-word of a matched focus phrase, without the noun that names the focus."""
    match = re.match(r"\s*(?:\w+\s+)?(?:what|which|who)\b", phrase, re.IGNORECASE)
    return match.group(0) if match else ""
