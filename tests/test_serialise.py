"""One serialiser (rag.serialise): the CLI's --json, the UI's API and an eval's records say the same of one Answer."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

import rag.cli
from evals.cases import EvalCase
from evals.runner import score
from index.models import Chunk, DocumentRecord, FileFailure, Hit, IngestReport
from rag import Answer, Assistant, Citation
from rag.models import SentenceSupport
from rag.serialise import citation_summary, hit_summary, to_dict
from tests.conftest import ARTICLE
from ui.handlers import Handlers

QUESTION = "Who is Ilse Varga?"


def _answer() -> Answer:
    chunk = Chunk(id="c1", text="Intro. Pim eats seeds daily.", source="/d/pim.md", display="pim.md", title="Pim",
                  page=3, start=100, end=128, tokens=7, position=0, doc_hash="h", tags=("birds",))
    hit = Hit(chunk=chunk, score=0.8765432, rank=1, dense=0.5, lexical=1.25)
    citation = Citation(n=1, chunk=chunk, span=(7, 28), score=0.912345678, sentences=(0,))
    support = SentenceSupport(text="Pim eats seeds daily. [1]", span=(0, 25), cited=(1,), score=1.0, supported=True,
                              source=1, evidence=(7, 28))
    return Answer(question="What does Pim eat?", text="Pim eats seeds daily. [1]", citations=(citation,),
                  hits=(hit,), abstained=False, timings={"embed": 1.23456, "total": 10.06}, sentences=(support,))


def test_an_answer_keeps_the_field_names_and_values_of_rag_ask_json() -> None:
    chunk = {"id": "c1", "text": "Intro. Pim eats seeds daily.", "source": "/d/pim.md", "display": "pim.md",
             "title": "Pim", "page": 3, "start": 100, "end": 128, "tokens": 7, "position": 0, "doc_hash": "h",
             "tags": ["birds"]}
    expected = {
        "question": "What does Pim eat?",
        "text": "Pim eats seeds daily. [1]",
        "citations": [{"n": 1, "chunk": chunk, "span": [7, 28], "score": 0.912345678, "sentences": [0],
                       "sentence": "Pim eats seeds daily.", "document_span": [107, 128], "location": "pim.md, page 3"}],
        "hits": [{"chunk": chunk, "score": 0.8765432, "rank": 1, "dense": 0.5, "lexical": 1.25}],
        "abstained": False,
        "timings": {"embed": 1.2, "total": 10.1},
        "sentences": [{"text": "Pim eats seeds daily. [1]", "span": [0, 25], "cited": [1], "score": 1.0,
                       "supported": True, "source": 1, "evidence": [7, 28], "claim": True}],
        "removed_citations": [],
        "uncited": False,
        "standalone_question": "",
        "backend": "extractive",
    }
    data = to_dict(_answer())
    assert json.loads(json.dumps(data)) == expected
    assert list(data) == list(expected) and list(data["citations"][0]) == list(expected["citations"][0])


def test_reports_records_and_summaries() -> None:
    report = IngestReport(added=("a.md",), failed=(FileFailure("b.pdf", "encrypted"),), chunks_written=4)
    assert to_dict(report) == {
        "added": ["a.md"], "updated": [], "unchanged": [], "failed": [{"file": "b.pdf", "reason": "encrypted"}],
        "skipped": [], "chunks_written": 4, "summary": report.summary(), "ok": False,
    }
    record = DocumentRecord("/d/a.md", "a.md", "A", "h", 2, 0, 10, 1.5)
    assert to_dict(record) == asdict(record)
    answer = _answer()
    assert citation_summary(answer.citations[0]) == {
        "n": 1, "display": "pim.md", "chunk_id": "c1", "page": 3, "sentence": "Pim eats seeds daily.", "score": 0.9123}
    assert hit_summary(answer.hits[0]) == {
        "rank": 1, "chunk_id": "c1", "display": "pim.md", "page": 3, "score": 0.87654, "dense": 0.5, "lexical": 1.25}
    with pytest.raises(TypeError, match="not dict"):
        to_dict({"a": 1})


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_cli_ui_and_evals_give_the_same_dict_for_one_answer(
    article_assistant: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One real Answer through `rag ask --json`, the UI's /ask API and an eval's record."""
    answer = article_assistant.ask(QUESTION)
    assert answer.citations and not answer.abstained
    # every front end gets this very Answer from the assistant (the timings would differ between two asks)
    monkeypatch.setattr(article_assistant, "ask", lambda *a, **k: answer)
    monkeypatch.setattr(article_assistant, "chat_stream", lambda *a, **k: iter([answer]))
    monkeypatch.setattr(rag.cli.Assistant, "open", lambda **k: article_assistant)
    monkeypatch.setattr(rag.cli, "configure_logging", lambda verbose: None)

    assert rag.cli.run(["ask", QUESTION, "--json", "--index", str(tmp_path / "index")]) == 0
    cli = json.loads(capsys.readouterr().out)

    ui, _ = Handlers(article_assistant, uploads_dir=tmp_path / "uploads").ask(QUESTION, 5, "", ())
    assert ui.pop("markdown") == answer.to_markdown() and ui.pop("turn") == 1 and ui.pop("history") == [QUESTION]

    assert cli == _plain(ui) == _plain(to_dict(answer))

    case = EvalCase(id="q", question=QUESTION, answers=("Ilse Varga",), gold={ARTICLE.name: 1})
    record = score(case, answer, answer.hits)
    assert [{k: v for k, v in c.items() if k != "correct"} for c in record.citations] == [
        {"n": c["n"], "display": c["chunk"]["display"], "chunk_id": c["chunk"]["id"], "page": c["chunk"]["page"],
         "sentence": c["sentence"], "score": round(c["score"], 4)} for c in cli["citations"]
    ]
    assert [{k: v for k, v in h.items() if k not in ("gold", "text")} for h in record.hits] == [
        {"rank": h["rank"], "chunk_id": h["chunk"]["id"], "display": h["chunk"]["display"], "page": h["chunk"]["page"],
         "score": round(h["score"], 5), "dense": h["dense"], "lexical": h["lexical"]} for h in cli["hits"]
    ]
