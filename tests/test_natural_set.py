"""The natural-question eval set: its shape, and that every answer is in its document (fast).

These run from a plain clone: the set's documents are committed under tests/fixtures/natural/.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from evals.datasets import EvalSet, load_jsonl
from evals.metrics import contains, normalize_answer
from index.loaders import load_file

REPO = Path(__file__).resolve().parents[1]
SET = REPO / "evals" / "sets" / "natural.jsonl"
FIXTURES = REPO / "tests" / "fixtures" / "natural"
MAX_BYTES = 50_000_000


@pytest.fixture(scope="module")
def natural() -> EvalSet:
    return load_jsonl(SET)  # no shared_dir: the corpus must not depend on /work/shared


@pytest.fixture(scope="module")
def texts(natural: EvalSet) -> dict[str, str]:
    return {path.name: load_file(path, MAX_BYTES).text for path in natural.corpus}


def _records() -> list[dict[str, object]]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_corpus_is_the_five_committed_documents(natural: EvalSet) -> None:
    assert sorted(p.suffix for p in natural.corpus) == [".docx", ".html", ".md", ".md", ".pdf"]
    for path in natural.corpus:
        assert path.is_file() and path.parent == FIXTURES, path


def test_size_and_mix_of_questions(natural: EvalSet) -> None:
    answerable = [c for c in natural.cases if not c.unanswerable]
    assert len(natural.cases) >= 80
    assert len(natural.cases) - len(answerable) >= 10
    tags = Counter(t for r in _records() for t in r.get("tags", []))  # type: ignore[attr-defined]
    assert tags["title"] + tags["author"] + tags["list"] + tags["table"] >= 15, tags
    per_document = Counter(source for c in answerable for source in c.gold)
    assert set(per_document) == {p.name for p in natural.corpus}
    assert min(per_document.values()) >= 10, per_document


def test_every_answer_is_in_the_extracted_text_of_its_source(natural: EvalSet, texts: dict[str, str]) -> None:
    missing = [
        (case.id, answer, source)
        for case in natural.cases
        for source in case.gold
        for answer in case.answers
        if not contains(texts[source], answer)
    ]
    assert not missing


def test_questions_do_not_quote_their_answers(natural: EvalSet) -> None:
    quoting = [
        case.id for case in natural.cases
        if any(normalize_answer(a) in normalize_answer(case.question) for a in case.answers)
    ]
    assert not quoting


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("natural_build", FIXTURES / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_pdf_and_docx_match_their_generator(tmp_path: Path) -> None:
    build = _build_module()
    build.build_policy_pdf(tmp_path / "remote-work-policy.pdf")
    build.build_price_docx(tmp_path / "catering-price-list.docx")
    for name in ("remote-work-policy.pdf", "catering-price-list.docx"):
        fresh = load_file(tmp_path / name, MAX_BYTES)
        committed = load_file(FIXTURES / name, MAX_BYTES)
        assert fresh.text == committed.text, name
    policy = load_file(FIXTURES / "remote-work-policy.pdf", MAX_BYTES)
    assert policy.pages[0][0] == 1 and "Dr. Imke Sorensen" in policy.text[: policy.pages[0][2]]
