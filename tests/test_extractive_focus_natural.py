"""The question's wording picks the unit quoted, with the real model over real Chroma, on the
natural-set documents (tests/fixtures/natural/)."""

from __future__ import annotations

import pytest

from rag import Assistant

# question -> what the answer must quote (each quoted a neighbouring line of the wrong kind before)
FOCUSED = {
    "What time does the bike workshop open on Saturdays now?": "08:30",  # a clock time, not "on Saturdays"
    "From what date does the remote work policy apply?": "1 November 2025",  # a date, not "six-month"
    "Which organisation does the remote work policy belong to?": "Halvard Marine Research Institute",
    "What is the reference number of the home working policy?": "HR-POL-017",
    "How big a shed can I build?": "6 by 4 feet",  # "big" names the measure, not something missing
    "I get an error that the index is locked. How do I fix it?": "ferrule.pid",  # the fix after the problem
    "What is the cheapest item on the catering menu?": "Vegan lunch box",  # the row with the lowest price
}



@pytest.mark.parametrize(("question", "phrase"), list(FOCUSED.items()))
def test_the_unit_holding_what_the_question_asks_for_is_quoted(
    natural_assistant: Assistant, question: str, phrase: str
) -> None:
    answer = natural_assistant.ask(question)
    assert not answer.abstained, question
    assert phrase in answer.text, answer.text
    assert any(phrase in c.sentence for c in answer.citations)  # the citation highlights it too



# the documents name the things asked about, never the answer; a term the unit's heading already holds
# ("bike co-op" in the meeting's title, "price" in the table's header) is no sign of a paraphrase
REFUSED = (
    "Who won the bike co-op's summer raffle?",
    "What is the price of the community kitchen's three-course dinner menu?",
)


@pytest.mark.parametrize("question", REFUSED)
def test_a_unit_framed_by_the_question_words_does_not_answer_a_question_about_something_else(
    natural_assistant: Assistant, question: str
) -> None:
    answer = natural_assistant.ask(question)
    assert answer.abstained, answer.text
