"""The focus of a question's wh-phrase and the evidence that answers it (pure logic)."""

from __future__ import annotations

import pytest

from rag.question_focus import FOCI, asked, focus_of, holds, without_form


@pytest.mark.parametrize(
    ("question", "name", "answer", "not_an_answer"),
    [
        ("What time does the bike workshop open on Saturdays now?", "clock",
         "The meeting agreed to open at 08:30 on Saturdays.", "Members asked for it to open earlier on Saturdays."),
        ("From what date does the policy apply?", "date",
         "Effective from 1 November 2025", "Staff may apply after their six-month probation period."),
        ("Which organisation does the policy belong to?", "organisation",
         "Halvard Marine Research Institute", "Author: Dr. Imke Sorensen, Head of Operations"),
        ("What is the reference number of the home working policy?", "code",
         "Policy HR-POL-017, version 3.2", "It replaces the interim guidance issued in 2021."),
        ("Who do I talk to about paying my rent?", "contact",
         "Rent and the water charge: Bernadette Oyelaran, treasurer", "Sign the agreement and pay the yearly rent."),
    ],
)
def test_each_focus_is_recognised_and_held_only_by_its_evidence(
    question: str, name: str, answer: str, not_an_answer: str
) -> None:
    focus = focus_of(question)
    assert focus is not None and focus.name == name
    assert holds(focus, answer)
    assert not holds(focus, not_an_answer)


@pytest.mark.parametrize(
    "question",
    [
        "What time period does the report cover?",  # a span, not a clock time
        "Who wrote the handbook?",  # an author, not somebody to contact
        "When does the workshop open?",  # any time will do
        "How much is the rent?",
    ],
)
def test_questions_without_a_narrow_focus(question: str) -> None:
    assert focus_of(question) is None
    assert holds(None, "anything at all")


def test_every_focus_is_named_once() -> None:
    names = [f.name for f in FOCI]
    assert len(names) == len(set(names))


def test_the_adjective_of_how_big_is_not_a_topic_word() -> None:
    assert "big" not in without_form("How big a shed can I build?")
    assert "shed" in without_form("How big a shed can I build?")
    assert without_form("How many plots are there?") == "How many plots are there?"


def test_the_focus_noun_is_left_out_only_when_a_unit_holds_its_evidence() -> None:
    question = "Which organisation does the remote work policy belong to?"
    assert "organisation" not in asked(question, ["Halvard Marine Research Institute"])
    # nothing retrieved names an organisation: the question may be about something the documents lack
    assert "organisation" in asked(question, ["China aims to become self-reliant in chips."])
    assert "talk" in without_form("Who do I talk to about rent?", focus_held=True)
