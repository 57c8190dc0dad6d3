"""The answer-type check of the extractive answerer (pure)."""

from __future__ import annotations

import pytest

from rag.answer_types import can_answer, expected_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When was the commission founded?", "time"),
        ("In what year did the programme start?", "time"),
        ("Which century saw the first printing press?", "time"),
        ("How many scientists were hired?", "quantity"),
        ("How much did the chips cost?", "quantity"),
        ("What percentage of exports are chips?", "quantity"),
        ("What is the annual budget of the commission?", "quantity"),
        ("What was the population of the city in 1900?", "quantity"),
        ("What is the price of a ticket?", "quantity"),
        ("What is the budget committee for?", None),  # "budget" here names a committee
        ("What is the commission's main task?", None),
        ("Who is Doug Fuller?", None),
        ("What did the conference identify as a priority?", None),
        ("Where does the ferry leave from?", None),
    ],
)
def test_expected_type(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


def test_a_sentence_must_hold_the_kind_asked_for() -> None:
    assert can_answer("The school opened in 1917.", "time")
    assert can_answer("It was founded in the nineteenth century.", "time")
    assert can_answer("The ferry leaves at noon.", "time")
    assert can_answer("The bakery opens at six.", "time")
    assert not can_answer("A researcher with the business school said so.", "time")
    assert can_answer("Twelve teams and 40% of the budget.", "quantity")
    assert can_answer("Several hundred engineers joined.", "quantity")
    assert not can_answer("China operates quantum computers for research.", "quantity")
    assert can_answer("Anything at all.", None)
