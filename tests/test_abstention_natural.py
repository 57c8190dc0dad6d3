"""Paraphrased questions are answered and unanswerable ones refused, with the real model over
real Chroma, on the natural-set documents (tests/fixtures/natural/)."""

from __future__ import annotations

import pytest

from rag import Assistant

# worded differently from the text that answers them -> what the answer must quote
PARAPHRASED = {
    "How do I add a password to the web status page?": "--gatekeeper",  # the manual says "user name and secret"
    "Will I be paid back for my commute to the office?": "not reimbursed",  # "travel between home and campus"
}

# the documents name the things asked about, never the answer
UNANSWERABLE = (
    "How much does the hydraulic brake bleed kit cost?",  # the kit is only put on the next agenda
    "How deep is the pond on the Quarry Road allotment site?",  # the site has water troughs, no pond
    "What is the salary range for a research technician at the Halvard institute?",
)



@pytest.mark.parametrize(("question", "phrase"), list(PARAPHRASED.items()))
def test_a_paraphrased_question_is_answered(natural_assistant: Assistant, question: str, phrase: str) -> None:
    answer = natural_assistant.ask(question)
    assert not answer.abstained, question
    assert phrase in answer.text, answer.text


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_a_question_the_documents_do_not_answer_is_refused(natural_assistant: Assistant, question: str) -> None:
    answer = natural_assistant.ask(question)
    assert answer.abstained, answer.text
    assert answer.citations == ()
