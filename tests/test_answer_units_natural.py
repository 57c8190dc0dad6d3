"""Questions whose answer is a title, an author line, a list, a table row or a section, over the
natural-set documents (tests/fixtures/natural/), with the real model over real Chroma."""

from __future__ import annotations

import pytest

from rag import Assistant

# question -> what the first quoted unit must hold
QUOTES = {
    "What is the title of the document approved on October 14, 2025?": "Remote Work and Equipment Policy",
    "What is the title of the price list prepared in January 2026?": "Catering Price List 2026",
    "Who is the author of the remote working policy?": "Dr. Imke Sorensen",
    "What does the sandwich tray cost?": "Sandwich tray | 6 people | 42.00",
    "How much is a cake for a big party?": "120.00",
    "How do I keep it running so new files get picked up automatically?": "--watch",
    "How big is a half plot?": "125 square metres",
    "Which version of the remote work policy is this?": "version 3.2",
    # the answer is not among the eight units the lexical pre-score ranks first: ten are embedded
    "How can I check all my archives for corruption?": "ferrule verify --all",
}



@pytest.mark.parametrize(("question", "phrase"), list(QUOTES.items()))
def test_the_first_quote_is_the_unit_asked_for(natural_assistant: Assistant, question: str, phrase: str) -> None:
    answer = natural_assistant.ask(question)
    assert not answer.abstained, question
    first = answer.citations[0]
    assert phrase in first.sentence, (question, [c.sentence for c in answer.citations])
    # the citation still points at exactly the quoted text
    assert first.chunk.text[first.span[0] : first.span[1]] == first.sentence


def test_a_heading_is_never_the_answer(natural_assistant: Assistant) -> None:
    for question in ("What happens if I don't look after my plot?", "Which tools can plot holders borrow?",
                     "What file types can Ferrule archive?"):
        answer = natural_assistant.ask(question)
        quoted = [c.sentence.lstrip("#").strip() for c in answer.citations]
        assert not {"Keeping your plot in good order", "The tool shed", "Supported file types"} & set(quoted)
