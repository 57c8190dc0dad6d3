"""Questions about the seed article, answered with the real model over real Chroma."""

from __future__ import annotations

import pytest

from rag import Answer, Assistant
from tests.conftest import SEED_FILE

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


def _assert_cites(answer: Answer, phrase: str) -> None:
    assert not answer.abstained, f"abstained on {answer.question!r}"
    cited = [c.sentence for c in answer.citations]
    assert any(phrase in s for s in cited), f"{answer.question!r}: no cited sentence has {phrase!r}: {cited}"
    article = SEED_FILE.read_text(encoding="utf-8").strip()
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text
        assert c.chunk.source == str(SEED_FILE)
        start, end = c.document_span
        assert article[start:end] == c.sentence, "citation span must point at the exact passage"
        assert c.chunk.text[c.span[0] : c.span[1]] == c.sentence


@pytest.mark.parametrize(("question", "phrase"), list(ANSWERABLE.items()))
def test_answers_with_the_right_citation(seed_assistant: Assistant, question: str, phrase: str) -> None:
    answer = seed_assistant.ask(question)
    _assert_cites(answer, phrase)
    assert len(answer.citations) <= 2
    assert answer.hits and [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))
    assert all(a.score >= b.score for a, b in zip(answer.hits, answer.hits[1:], strict=False))
    assert {"embed", "retrieve", "answer", "total"} <= set(answer.timings)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_abstains_when_the_article_has_no_answer(seed_assistant: Assistant, question: str) -> None:
    answer = seed_assistant.ask(question)
    assert answer.abstained
    assert answer.citations == ()
    assert "not found in the indexed documents" in answer.text.lower()
    assert answer.hits, "the retrieved hits are still reported for inspection"


def test_answer_quotes_the_best_sentence_first(seed_assistant: Assistant) -> None:
    answer = seed_assistant.ask("Who is Doug Fuller?")
    assert answer.text.startswith(" ".join(answer.citations[0].sentence.split()))
    assert answer.citations[0].n == 1


def test_top_k_and_source_filter(seed_assistant: Assistant) -> None:
    assert len(seed_assistant.ask("quantum computing", top_k=1).hits) == 1
    filtered = seed_assistant.ask("Who is Doug Fuller?", sources="*.pdf")
    assert filtered.abstained and filtered.hits == ()
    kept = seed_assistant.ask("Who is Doug Fuller?", sources="000_*.txt")
    _assert_cites(kept, "Copenhagen Business School")


def test_stream_yields_text_then_the_answer(seed_assistant: Assistant) -> None:
    parts = list(seed_assistant.stream("Who is Doug Fuller?"))
    final = parts[-1]
    assert isinstance(final, Answer)
    assert "".join(p for p in parts[:-1] if isinstance(p, str)) == final.text


def test_empty_question_is_a_clear_error(seed_assistant: Assistant) -> None:
    from rag import RagError

    with pytest.raises(RagError, match="question is empty"):
        seed_assistant.ask("   ")
