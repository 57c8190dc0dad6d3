"""The held-out natural-question set: questions written before the abstention signals were tuned
(on evals/sets/natural.jsonl), over the same committed documents (fast, no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.datasets import EvalSet, load_jsonl
from evals.metrics import contains, normalize_answer
from index.loaders import load_file

REPO = Path(__file__).resolve().parents[1]
SETS = REPO / "evals" / "sets"
FIXTURES = REPO / "tests" / "fixtures" / "natural"


@pytest.fixture(scope="module")
def heldout() -> EvalSet:
    return load_jsonl(SETS / "natural-heldout.jsonl")  # no shared_dir: runs from a plain clone


def test_same_documents_as_the_natural_set_and_the_mix_of_questions(heldout: EvalSet) -> None:
    assert heldout.corpus == load_jsonl(SETS / "natural.jsonl").corpus
    assert all(p.parent == FIXTURES and p.is_file() for p in heldout.corpus)
    unanswerable = [c for c in heldout.cases if c.unanswerable]
    assert len(heldout.cases) >= 30 and len(unanswerable) >= 8
    sources = {s for c in heldout.cases for s in c.gold}
    assert sources == {p.name for p in heldout.corpus}


def test_no_question_is_taken_from_the_tuning_set(heldout: EvalSet) -> None:
    tuning = {normalize_answer(c.question) for c in load_jsonl(SETS / "natural.jsonl").cases}
    assert not [c.id for c in heldout.cases if normalize_answer(c.question) in tuning]


def test_every_answer_is_in_its_source_and_no_question_quotes_it(heldout: EvalSet) -> None:
    texts = {p.name: load_file(p, 50_000_000).text for p in heldout.corpus}
    missing = [(c.id, a) for c in heldout.cases for s in c.gold for a in c.answers if not contains(texts[s], a)]
    assert not missing
    asked = {c.id: normalize_answer(c.question) for c in heldout.cases}
    assert not [c.id for c in heldout.cases if any(normalize_answer(a) in asked[c.id] for a in c.answers)]
