"""How the extractive answerer picks its sentences (pure logic, no model)."""

from __future__ import annotations

from index.models import Chunk, Hit
from index.sentences import split_sentences
from index.text_terms import terms
from rag.answer_units import SENTENCE, Unit
from rag.config import Settings
from rag.extractive import choose
from rag.term_overlap import Coverage, coverage
from rag.unit_scores import Candidate, ExtractiveConfig, novelty, score_candidates

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


# -- novelty: a unit that only restates the question ranks below one that says more ------------

def test_novelty_counts_the_distinct_terms_the_question_lacks_up_to_a_limit() -> None:
    question = terms("When does the workshop open on Saturdays?")
    assert novelty(question, terms("The workshop opens on Saturdays."), 3) == 0.0
    assert novelty(question, terms("The workshop opens earlier on Saturdays."), 3) == 1 / 3
    assert novelty(question, terms("It opens at 08:30 on Saturdays from March, as a trial."), 3) == 1.0
    assert novelty(question, terms("anything at all"), 0) == 0.0


def test_the_unit_that_says_more_than_the_question_is_quoted_first() -> None:
    text = "The workshop opens earlier on Saturdays. The workshop opens at 08:30 on Saturdays from March."
    chunk = Chunk("c1", text, "/d/a.txt", "a.txt", "a", None, 5, 5 + len(text), 20, 1, "h")
    hit = Hit(chunk, 1.0, 1)
    units = [(hit, Unit(SENTENCE, span)) for span in split_sentences(text)]
    vector = [1.0, 0.0]
    one = ExtractiveConfig(max_sentences=1)
    # the same closeness in meaning and the same shared words: only what the unit adds tells them apart
    scored = score_candidates("When does the workshop open on Saturdays?", units, vector, [vector, vector], one)
    assert "08:30" in scored[0].sentence_text
    assert scored[0].novelty > scored[1].novelty
    assert "08:30" in choose(scored, one)[0].sentence_text


def test_whether_to_answer_is_judged_without_the_novelty_term() -> None:
    chunk = Chunk("c1", TEXT, "/d/a.txt", "a.txt", "a", None, 0, len(TEXT), 40, 0, "h")
    hit = Hit(chunk, 1.0, 1)
    spans = split_sentences(TEXT)
    # support 0.25 is below min_score (0.30); novelty lifts the score above it, yet the answerer abstains
    lifted = Candidate(hit, spans[0], 0.6, 0.6, 0.45, novelty=0.2)
    assert choose([lifted], DEFAULT) == []
    # the unit that says more is quoted first; the one that matches best decides that there is an answer
    says_more = Candidate(hit, spans[1], 0.3, 0.1, 0.60, novelty=0.2)  # too weak on its own words
    matches = Candidate(hit, spans[0], 0.6, 0.6, 0.55)
    chosen = choose([says_more, matches], DEFAULT)
    assert chosen and chosen[0] is says_more
    assert choose([says_more], DEFAULT) == []
