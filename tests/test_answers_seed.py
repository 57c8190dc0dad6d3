"""The seed article's questions (the document the project started from), when the data folder has it.

The behaviours (citations, abstention, filters, streaming) are tested on the fixture article in
test_answers.py; this file measures the answerer on the seed article itself.
"""

from __future__ import annotations

import pytest

from rag import Assistant
from tests.conftest import SEED_FILE
from tests.test_answers import assert_cites

pytestmark = pytest.mark.needs_data("corpus/seed/000_7cc84e104f871c44.txt")

# question -> a phrase the cited sentence must contain (short expectations, not quotes).
ANSWERABLE = {
    "Who is Doug Fuller?": "Copenhagen Business School",
    "What did the Central Economic Work Conference identify as priorities?": "self-reliance and strength in technology",
    "Which emerging industries does the government plan to develop?": "quantum computing",
    "What new body was established under the Communist party's control?": "technology commission",
    "What concerns do some experts have about centralization?": "potential consequences",
    "How does the government view the centralization of tech policy?": "lowering coordination costs",
    "How will China nurture talent?": "first-class scientists",
    "What does the government's work report highlight?": "science and technology programs",
    "What is restricting exports of chips to China?": "trade tensions",
    "What is China positioning itself as?": "leader in the global technology landscape",
    "What problem might arise from dwindling information flow?": "information asymmetries",
    "What is China's goal in improving national security and economic resilience?":
        "reducing dependence on foreign suppliers",
    # the answer is the sentence after the one naming the consequences: both are quoted
    "What could dwindle because of this centralization?": "flow of necessary information",
}

UNANSWERABLE = [
    "What is the capital of France?",
    "How many electric cars did Tesla sell in 2023?",
    "What is the GDP growth target for this year?",
    "Who won the football world cup?",
    "What is the yearly budget of the technology commission?",  # a quantity the article never gives
    "Which firm manufactures the most advanced AI chips for China?",  # close in topic; no firm is named
]


@pytest.mark.parametrize(("question", "phrase"), list(ANSWERABLE.items()))
def test_answers_with_the_right_citation(seed_assistant: Assistant, question: str, phrase: str) -> None:
    assert_cites(seed_assistant.ask(question), phrase, SEED_FILE)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_abstains_when_the_article_has_no_answer(seed_assistant: Assistant, question: str) -> None:
    answer = seed_assistant.ask(question)
    assert answer.abstained and answer.citations == ()
