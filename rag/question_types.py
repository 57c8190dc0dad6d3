"""What a question asks for, as one readable table: its form -> the unit and evidence that answer it (pure).

"Who wrote ...?" wants a person, best from an author line; "What is the title ...?" the
title; "When ...?" a date or time; "How many / how much ...?" a quantity; "Which file
types ...?" a list; "How do I ...?" an instruction. The extractive answerer scores every
unit (``rag.answer_units``) by its closeness to the question and adds the bonus this
table gives for the right kind of unit and for holding the evidence asked for. Where a
type ``requires`` its evidence (a date for "when", a number for "how many"), units
without it are not quoted at all, as ``rag.answer_types`` always did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer_types import can_answer, expected_type
from rag.answer_units import CODE, DEFINITION, FIELD, ITEM, LIST, ROW, SECTION, SENTENCE, TITLE

_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -](?:[A-Z]\.|[A-Z][a-z]+))+")
_AUTHOR_WORDS = re.compile(r"\b(?:author|authors|by|written|wrote|edited|editor|prepared|compiled|minutes"
                           r"|autor|autorin|verfasst|geschrieben|herausgegeben|auteur|écrit)\b", re.I)
# a title-page line naming a person ("0. Auflage, 31. Dezember 2016 Martin Thoma"): its author, by convention
_PERSON = re.compile(r"\b[A-ZÄÖÜ][a-zäöüßéè]+(?:\s+[A-Z]\.)?\s+[A-ZÄÖÜ][a-zäöüßéè]+\s*$")
_INSTRUCTION = re.compile(r"`[^`]+`|(?:^|\s)--?[a-z][\w-]+|^(?:[-*+]\s+)?[A-Z][a-z]+\s+(?:your|the|a|an|it)\b")
_PLACE = re.compile(
    r"[~/\\][\w./-]+|@|\b(?:at|in|on|from)\s+(?:the\s+)?[A-Z~/`]|\b(?:room|street|lane|road|folder)\b", re.I
)
_IMPERATIVE = re.compile(r"(?:[-*+]\s+)?(?:stop|delete|remove|run|restart|start|add|use|set|open|close|check|install"
                         r"|upgrade|lower|raise|type|press|click|choose|select|write|send|call|ask|contact)\b", re.I)
_ASKS = re.compile(r"(?:how|what|which|who|whom|whose|when|where|why|can|could|do|does|is|are|will|should|may)\b", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|only|cannot|must|may)\b", re.I)


@dataclass(frozen=True)
class QuestionType:
    """One row of the table: how to recognise the question, and what answers it."""

    name: str
    question: re.Pattern[str]
    units: frozenset[str]  # unit kinds that answer this form best
    evidence: re.Pattern[str] | None = None  # what a good answer holds
    requires: str | None = None  # an ``answer_types`` kind the unit must hold, or None
    evidence_required: bool = False  # units without the evidence cannot answer ("who wrote" needs "by ...")


def _q(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


TABLE: tuple[QuestionType, ...] = (
    QuestionType("title", _q(r"\b(?:what|which)\s+is\s+the\s+(?:title|name)\s+of\s+the\s+"
                             r"(?:document|text|book|report|policy|list|price\s+list|handbook|manual|notes|minutes|"
                             r"paper|article|guide|page)\b|\bwhat\s+is\s+\w+(?:\s+\w+)?\s+called\b|\btitled?\b"),
                 frozenset({TITLE})),
    QuestionType("author", _q(r"^\s*who\b.*\b(?:author|wrote|written|write|edited|edit|prepared|prepare|compiled|"
                              r"signed|minutes|drafted)\b|\bwho\s+is\s+the\s+(?:author|editor)\b"),
                 frozenset({FIELD, SENTENCE}), _AUTHOR_WORDS, evidence_required=True),
    QuestionType("time", _q(r"^\s*(?:when\b|what\s+time\b|(?:in|by|since|until|from)?\s*(?:what|which)\s+"
                            r"(?:year|years|decade|century|month|date|day|period|era)\b)"),
                 frozenset({SENTENCE, FIELD, ROW, ITEM, SECTION}), None, "time"),
    QuestionType("quantity", _q(r"^\s*how\s+(?:many|much|long|old|far|big|large|high|often|deep|wide)\b"
                                r"|\b(?:what|which)\s+(?:percentage|percent|proportion|number|amount|fraction|share)\b"
                                r"|\bwhat\s+(?:does|do|did|will)\s+.+\b(?:cost|pay|charge)\b|\bhow\s+much\b|\bwhat\s+is\s+the\s+"
                                r"(?:\w+\s+)?(?:budget|cost|price|fee|rent|charge|deposit)\b"),
                 frozenset({SENTENCE, ROW, SECTION, ITEM, FIELD}), None, "quantity"),
    QuestionType("who", _q(r"^\s*(?:who|whom|whose)\b|\b(?:which|what)\s+(?:person|people|organi[sz]ation|"
                           r"company|institute|society|group|team|body)\b"),
                 frozenset({FIELD, SENTENCE, ROW, ITEM}), _NAME),
    QuestionType("list", _q(r"^\s*(?:what|which)\s+(?:\w+\s+){0,2}(?:types|kinds|formats|tools|items|things|options|"
                            r"topics|steps|decisions|rules|members|attendees)\b|\blist\b|^\s*what\s+are\s+the\b"
                            r"|^\s*(?:what|which)\s+.*\b(?:can|may)\s+\w+\s+(?:borrow|grow|keep|use|archive)\b"),
                 frozenset({LIST, ITEM, SENTENCE, FIELD})),
    QuestionType("where", _q(r"^\s*where\b|\bwhich\s+(?:email|address|folder|file|directory|place|room)\b"),
                 frozenset({SENTENCE, FIELD, ROW, CODE}), _PLACE),
    QuestionType("howto", _q(r"^\s*how\s+(?:do|can|should|would|could)\s+(?:i|we|you|one)\b|^\s*how\s+to\b"
                             r"|\bwhat\s+(?:do|should)\s+i\s+do\b|\bwhat\s+can\s+i\s+do\b|\bwhat\s+is\s+the\s+first\s+step\b"),
                 frozenset({ROW, ITEM, SENTENCE, CODE, SECTION}), _INSTRUCTION),
    QuestionType("yesno", _q(r"^\s*(?:can|could|may|is|are|does|do|did|will|should|has|have|am)\b"),
                 frozenset({SENTENCE, ITEM, ROW}), _NEGATION),
    QuestionType("definition", _q(r"^\s*what\s+(?:is|are)\s+(?:an?\s+|the\s+)?[\w-]+(?:\s+[\w-]+)?\s*\??\s*$"),
                 frozenset({DEFINITION, SENTENCE})),
)

GENERAL = QuestionType("general", re.compile(r""), frozenset({SENTENCE, DEFINITION, FIELD, ROW, ITEM, SECTION}))


def question_type(question: str) -> QuestionType:
    """The first row of ``TABLE`` whose pattern the question matches, else ``GENERAL``.

    >>> question_type("Who is the author of the handbook?").name
    'author'
    """
    question = asked_part(question)
    kind = expected_type(question)  # the older time and quantity rules still hold
    for row in TABLE:
        if row.question.search(question) or (kind is not None and row.requires == kind):
            return row
    return GENERAL


def asked_part(question: str) -> str:
    """The sentence of ``question`` that asks: "I get an error. How do I fix it?" -> "How do I fix it?".

    >>> asked_part("The index is locked. How do I fix it?")
    'How do I fix it?'
    """
    parts = [p for p in re.split(r"(?<=[.!])\s+(?=[A-Z])", question.strip()) if p]
    asking = [p for p in parts if p.rstrip().endswith("?")]
    return asking[-1] if len(parts) > 1 and asking and _ASKS.match(asking[-1]) else question


def is_instruction(text: str) -> bool:
    """Whether ``text`` tells the reader what to do: a flag, a command, an imperative ("Stop it, ...")."""
    return _INSTRUCTION.search(text) is not None or _IMPERATIVE.match(text) is not None


def fits(qtype: QuestionType, kind: str, text: str) -> bool:
    """Whether a unit may answer at all: it holds what the type requires (a date, a number)."""
    if kind == TITLE:
        return qtype.name == "title"
    named = qtype.name == "author" and kind == FIELD and _PERSON.search(text) is not None
    if qtype.evidence_required and qtype.evidence is not None and not qtype.evidence.search(text) and not named:
        return False
    return can_answer(text, qtype.requires)


def type_bonus(qtype: QuestionType, kind: str, text: str) -> float:
    """0..1: how well a unit's kind and content fit the question's form (pure)."""
    score = 0.5 if kind in qtype.units else 0.0
    if qtype.evidence is not None and qtype.evidence.search(text):
        score += 0.5
    elif qtype.evidence is None and kind in qtype.units:
        score += 0.25
    return score
