"""Questions about the fixture article (tests/fixtures/corpus/), answered with the real model over real Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import Answer, Assistant
from tests.conftest import ARTICLE

# question -> a phrase the cited sentence must contain (short expectations, not quotes).
ANSWERABLE = {
    "Who is Ilse Varga?": "chief water engineer",
    "When did construction of the water scheme start?": "14 March 2024",
    "What budget did the city council approve?": "412 million crowns",
    "Which contractor is digging the tunnel?": "Brennmoor Tunnelling",
    "What have the workers named the boring machine?": "Gertrud",
    "Where does Harrowmere draw most of its water today?": "Ousel",
    "How long did the hosepipe ban last?": "eleven weeks",
    "How many signatures has Friends of Tolland Gap collected?": "9,000 signatures",
    "What did the auditor Oren Blackwood warn about?": "run over budget",
    "How much water is lost from leaking mains?": "31 percent",
    "When is the first water expected to reach homes?": "autumn of 2028",
    "How high is the earth dam?": "46 metres",
    "Who designed the dam?": "Halloway & Prest",
}

UNANSWERABLE = [
    "What is the capital of France?",
    "How many electric cars did Tesla sell in 2023?",
    "Who won the football world cup?",
    "What is the yearly salary of the chief water engineer?",  # a quantity the article never gives
    "Which bank lent the money for the tunnel?",  # close in topic; no bank is named
]


def assert_cites(answer: Answer, phrase: str, document: Path = ARTICLE) -> None:
    """Not abstained, some cited sentence holds ``phrase``, and every citation points at its exact passage."""
    assert not answer.abstained, f"abstained on {answer.question!r}"
    cited = [c.sentence for c in answer.citations]
    assert any(phrase in s for s in cited), f"{answer.question!r}: no cited sentence has {phrase!r}: {cited}"
    article = document.read_text(encoding="utf-8").strip()
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text
        assert c.chunk.source == str(document)
        start, end = c.document_span
        assert article[start:end] == c.sentence, "citation span must point at the exact passage"
        assert c.chunk.text[c.span[0] : c.span[1]] == c.sentence


@pytest.mark.parametrize(("question", "phrase"), list(ANSWERABLE.items()))
def test_answers_with_the_right_citation(article_assistant: Assistant, question: str, phrase: str) -> None:
    answer = article_assistant.ask(question)
    assert_cites(answer, phrase)
    assert len(answer.citations) <= 2
    assert answer.hits and [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))
    assert all(a.score >= b.score for a, b in zip(answer.hits, answer.hits[1:], strict=False))
    assert {"embed", "retrieve", "answer", "total"} <= set(answer.timings)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_abstains_when_the_article_has_no_answer(article_assistant: Assistant, question: str) -> None:
    answer = article_assistant.ask(question)
    assert answer.abstained
    assert answer.citations == ()
    assert "not found in the indexed documents" in answer.text.lower()
    assert answer.hits, "the retrieved hits are still reported for inspection"


def test_answer_quotes_the_best_sentence_first(article_assistant: Assistant) -> None:
    answer = article_assistant.ask("Who is Ilse Varga?")
    assert answer.text.startswith(" ".join(answer.citations[0].sentence.split()))
    assert answer.citations[0].n == 1


def test_top_k_and_source_filter(article_assistant: Assistant) -> None:
    assert len(article_assistant.ask("boring machine", top_k=1).hits) == 1
    filtered = article_assistant.ask("Who is Ilse Varga?", sources="*.pdf")
    assert filtered.abstained and filtered.hits == ()
    kept = article_assistant.ask("Who is Ilse Varga?", sources="harrowmere-*.txt")
    assert_cites(kept, "chief water engineer")


def test_stream_yields_text_then_the_answer(article_assistant: Assistant) -> None:
    parts = list(article_assistant.stream("Who is Ilse Varga?"))
    final = parts[-1]
    assert isinstance(final, Answer)
    assert "".join(p for p in parts[:-1] if isinstance(p, str)) == final.text


def test_empty_question_is_a_clear_error(article_assistant: Assistant) -> None:
    from rag import RagError

    with pytest.raises(RagError, match="question is empty"):
        article_assistant.ask("   ")
