"""The abstention signals of the extractive answerer (pure logic, no model): the measure a
question asks for, the paraphrase drop, and how ``decide`` combines them with ``choose``."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from evals.cases import EvalCase
from evals.perf.sweep_abstention import Ranked, measure
from index.models import Chunk, Hit
from index.sentences import split_sentences
from rag.abstention import missing_measure, missing_words, paraphrase_drop, without_each
from rag.config import Settings
from rag.extractive import decide
from rag.term_overlap import Coverage
from rag.unit_scores import Candidate

DEFAULT = Settings().extractive_config()


@pytest.mark.parametrize(
    ("question", "quoted", "missing"),
    [
        ("How much does the hydraulic brake bleed kit cost?", "| Put the brake bleed kit on the agenda | 11 May 2026 |",
         "money"),
        ("How much does the hydraulic brake bleed kit cost?", "The kit costs 45 euros.", None),
        ("What does the sandwich tray cost?", "Sandwich tray | 6 people | 42.00 | 1 day ahead", None),
        ("What is the salary range for a research technician?", "Halvard Marine Research Institute", "money"),
        ("How much do I have to pay up front?", "A deposit of 30 percent of the total is paid.", None),
        ("How deep is the pond on the site?", "The site has 96 plots and two water troughs.", "length"),
        ("How tall may fruit trees get?", "Fruit trees no taller than 2.5 metres", None),
        ("What is the phone number of the chairperson?", "a registered community society, number 30412R.", "phone"),
        ("What's the phone extension for the IT help desk?", "by phone on extension 4410 or by email", None),
        ("Which version of Ferrule first added the find command?", "`ferrule find TEXT` searches file names.",
         "version"),
        ("Which version of Python do I need?", "Ferrule needs Python 3.10 or newer.", None),
    ],
)
def test_a_question_asking_for_a_measure_needs_a_quote_holding_one(
    question: str, quoted: str, missing: str | None
) -> None:
    assert missing_measure(question, [quoted]) == missing


@pytest.mark.parametrize(
    "question",
    [
        "What is the title of the price list prepared in January 2026?",  # "price" names the document
        "How far in advance must I order the cheese platter?",  # a time, not a length
        "How much of my plot do I have to grow things on?",  # a share, no money word
        "Who wrote the policy?",
    ],
)
def test_questions_that_ask_for_no_measure(question: str) -> None:
    assert missing_measure(question, ["Nothing measurable here."]) is None


def test_missing_words_and_the_question_without_each() -> None:
    unit = "| `--gatekeeper USER:SECRET` | require this user name and secret before the status page opens |"
    question = "How do I add a password to the web status page?"
    missing = missing_words(question, unit)
    assert missing == ["add", "password", "web"]  # "status" and "page" are in the unit; stop words never count
    assert without_each(question, ["password"]) == ["How do I add a   to the web status page?"]
    assert without_each("Don't PASSWORD me", ["password"]) == ["Don't   me"]  # whole words, any case


def _unit(angle: float) -> list[float]:
    return [math.cos(angle), math.sin(angle), 0.0]


def test_paraphrase_drop_is_the_largest_fall_in_similarity() -> None:
    question, unit = _unit(0.0), _unit(0.5)
    closer, further = _unit(0.4), _unit(-0.5)
    base = math.cos(0.5)
    assert paraphrase_drop(question, unit, [further]) == pytest.approx(base - math.cos(1.0))
    assert paraphrase_drop(question, unit, [closer, further]) == pytest.approx(base - math.cos(1.0))
    assert paraphrase_drop(question, unit, [closer]) == 0.0  # leaving the term out brings them closer: no drop
    assert paraphrase_drop(question, unit, []) == 0.0


TEXT = "The status page opens after the user name and secret. The weather was fine that day."


def _candidates(dense: float, lexical: float, score: float) -> list[Candidate]:
    chunk = Chunk("c1", TEXT, "/d/a.txt", "a.txt", "a", None, 0, len(TEXT), 20, 0, "h")
    hit = Hit(chunk, 1.0, 1)
    first, second = split_sentences(TEXT)
    return [Candidate(hit, first, dense, lexical, score), Candidate(hit, second, 0.1, 0.0, 0.1)]


def test_decide_answers_a_paraphrase_the_unit_speaks_of_and_abstains_otherwise() -> None:
    weak = _candidates(dense=0.40, lexical=0.2, score=0.5)  # neither enough shared words nor close enough
    question = "How do I add a password to the status page?"
    asked: list[Candidate] = []

    def drop(best: Candidate) -> float:
        asked.append(best)
        return 0.13

    assert [c.sentence_text for c in decide(weak, DEFAULT, question, drop=drop)] == [TEXT.split(". ")[0] + "."]
    assert asked == [weak[0]]
    assert decide(weak, DEFAULT, question, drop=lambda best: DEFAULT.paraphrase_drop - 0.01) == []
    # a best unit below the minimum score is never rescued, and the drop is not even measured
    asked.clear()
    assert decide(_candidates(0.40, 0.2, score=0.2), DEFAULT, question, drop=drop) == [] and asked == []
    # nor is a question of two content terms: without either, half of it is gone whatever the unit says
    assert decide(weak, DEFAULT, "What supports the results?", drop=drop) == [] and asked == []
    # nor one of which half the terms or more occur nowhere in the index: it is about something else
    assert decide(weak, DEFAULT, question, Coverage(2, 4), drop=drop) == [] and asked == []
    assert decide(weak, DEFAULT, question, Coverage(1, 4), drop=drop) and asked == [weak[0]]


def test_decide_measures_the_drop_only_before_abstaining() -> None:
    strong = _candidates(dense=0.70, lexical=0.8, score=0.8)

    def drop(best: Candidate) -> float:
        raise AssertionError("the drop costs embeddings: only asked for before abstaining")

    assert decide(strong, DEFAULT, "When does the status page open?", drop=drop)


def test_decide_refuses_a_quote_without_the_measure_asked_for() -> None:
    strong = _candidates(dense=0.70, lexical=0.8, score=0.8)
    question = "How much does the status page cost?"
    assert decide(strong, DEFAULT, question) == []
    assert decide(strong, replace(DEFAULT, check_measures=False), question)


def test_the_sweep_measures_with_the_same_decision() -> None:
    case = EvalCase(id="q", question="How do I add a password to the status page?", answers=("secret",))
    weak = _candidates(dense=0.40, lexical=0.2, score=0.5)
    paraphrased = Ranked(case, weak, weak, Coverage(), drop=0.13)
    unanswerable = Ranked(EvalCase(id="u", question="How deep is the status page?", unanswerable=True),
                          _candidates(dense=0.70, lexical=0.8, score=0.8), [], Coverage(), drop=0.0)
    assert measure([paraphrased, unanswerable], DEFAULT) == (1.0, 1.0, 1.0)
    assert measure([paraphrased, unanswerable], replace(DEFAULT, paraphrase_drop=0.2)) == (0.5, 1.0, 0.0)


def test_an_extension_of_something_or_the_distance_between_genes_asks_for_no_measure() -> None:
    # covid-qa questions the first version of the table refused
    question = "What application is a natural extension of the ability to display sequences?"
    assert missing_measure(question, ["x"]) is None
    assert missing_measure("What is the distance between the p4.7 and p12.7 genes?", ["x"]) is None
