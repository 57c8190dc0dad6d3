"""How the extractive answerer picks its sentences (pure logic, no model)."""

from __future__ import annotations

from index.models import Chunk, Hit
from index.sentences import split_sentences
from index.text_terms import terms
from rag.config import Settings
from rag.extractive import Candidate, ExtractiveConfig, choose
from rag.term_overlap import Coverage, coverage

DEFAULT = Settings().extractive_config()

TEXT = (
    "Experts worry about the consequences of this centralization. "
    "With the flow of information dwindling, policy may suffer. "
    "The weather was fine that day."
)
QUESTION = "What might dwindle as a consequence of the centralization?"


def _candidates(scores: list[float], lexical: float = 0.6) -> list[Candidate]:
    chunk = Chunk("c1", TEXT, "/d/a.txt", "a.txt", "a", None, 0, len(TEXT), 40, 0, "h")
    hit = Hit(chunk, 1.0, 1)
    spans = split_sentences(TEXT)
    cands = [Candidate(hit, span, 0.6, lexical, s) for span, s in zip(spans, scores, strict=True)]
    return sorted(cands, key=lambda c: -c.score)


def test_the_neighbour_that_completes_the_question_is_quoted_in_reading_order() -> None:
    chosen = choose(_candidates([0.70, 0.45, 0.40]), DEFAULT, terms(QUESTION))
    assert [c.sentence_text.split()[0] for c in chosen] == ["Experts", "With"]


def test_no_neighbour_without_the_question_terms_or_when_one_sentence_is_asked_for() -> None:
    assert len(choose(_candidates([0.70, 0.45, 0.40]), DEFAULT)) == 1  # no question terms given
    one = ExtractiveConfig(max_sentences=1)
    assert len(choose(_candidates([0.70, 0.45, 0.40]), one, terms(QUESTION))) == 1
    # a neighbour below the minimum score is never added
    assert len(choose(_candidates([0.70, 0.20, 0.40]), DEFAULT, terms(QUESTION))) == 1


def test_close_second_sentence_still_comes_by_score_and_weak_best_abstains() -> None:
    chosen = choose(_candidates([0.70, 0.65, 0.10]), DEFAULT, terms(QUESTION))
    assert [c.score for c in chosen] == [0.70, 0.65]
    assert choose(_candidates([0.25, 0.20, 0.10]), DEFAULT, terms(QUESTION)) == []


def test_closeness_in_meaning_is_no_support_for_a_question_about_unknown_things() -> None:
    # weak on shared words (lexical 0.2) but close in meaning (dense 0.6)
    cands = _candidates([0.70, 0.45, 0.40], lexical=0.2)
    assert choose(cands, DEFAULT, unknown=Coverage(0, 6))
    assert choose(cands, DEFAULT, unknown=Coverage(2, 6)) == []
    # one unknown word is a paraphrase ("nurture talent"), not a question about something else
    assert choose(cands, DEFAULT, unknown=Coverage(1, 3))
    # shared words support an answer whatever the rest of the question asks
    assert choose(_candidates([0.70, 0.45, 0.40], lexical=0.6), DEFAULT, unknown=Coverage(3, 6))


def test_coverage_counts_content_terms_only() -> None:
    vocabulary = {"china", "chip", "advanc", "ai"}
    question = ["which", "compani", "manufactur", "china", "advanc", "ai", "chip"]  # stemmed tokens
    assert coverage(question, vocabulary) == Coverage(2, 6)  # "which" is a stop word
    assert coverage(question, vocabulary).share == 2 / 6
    assert coverage(["what", "is"], vocabulary).share == 0.0
    assert coverage([], vocabulary) == Coverage(0, 0)
