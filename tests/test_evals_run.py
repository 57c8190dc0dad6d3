"""The eval runner end to end with the real model and Chroma: the fixture set, CLI parity and gates, and
small SQuAD, BEIR and PubMedQA files made from the fixture documents; the seed set when the data folder has it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals import run_eval
from evals.metrics import distinct
from evals.runner import DEPTH
from rag import Settings

REPO = Path(__file__).resolve().parents[1]
SEED_SET = REPO / "evals" / "sets" / "seed.jsonl"
FIXTURE_SET = REPO / "tests" / "fixtures" / "sets" / "fixture.jsonl"
SEED_ARTICLE = "corpus/seed/000_7cc84e104f871c44.txt"
ACCURACY = ("hit@1", "hit@5", "mrr@10", "ndcg@10", "passage_hit@5", "passage_mrr@10", "em", "f1", "contained",
            "citation_precision", "citation_recall", "abstain_precision", "abstain_recall")

pytestmark = pytest.mark.slow


def _settings(tmp_path: Path, data_dir: Path | None = None, **kw: object) -> Settings:
    data = str(data_dir or tmp_path / "no-data")
    return Settings(index_dir=str(tmp_path / "unused-index"), data_dir=data, **kw)  # type: ignore[arg-type]


@pytest.mark.needs_data(SEED_ARTICLE)
def test_seed_set_accuracy(tmp_path: Path, data_dir: Path) -> None:
    result = run_eval("seed", settings=_settings(tmp_path, data_dir), out=None, cache=tmp_path / "cache").results[0]
    assert len(result.records) == 29 and result.counts["unanswerable"] == 6
    assert result.metrics["hit@5"] == 1.0  # one document: it is always found
    assert (result.metrics["passage_hit@5"] or 0) >= 0.9


def test_fixture_set_end_to_end(tmp_path: Path) -> None:
    report = run_eval(FIXTURE_SET, settings=_settings(tmp_path), out=tmp_path / "runs")
    result = report.results[0]
    assert len(result.records) == 23 and result.counts["unanswerable"] == 4
    assert (result.metrics["hit@1"] or 0) >= 0.9  # two documents: the right one comes first
    assert (result.metrics["passage_hit@5"] or 0) >= 0.9
    assert result.metrics["total_p50_ms"] is not None and result.metrics["total_p50_ms"] > 0
    assert report.out_dir is not None and report.out_dir.parent == tmp_path / "runs"
    data = json.loads((report.out_dir / "results.json").read_text())
    records = data["results"][0]["records"]
    assert len(records) == 23 and data["definitions"]["hit@5"]
    assert all(r["hits"] and {"chunk_id", "score", "rank"} <= set(r["hits"][0]) for r in records)
    assert {"em", "f1", "hit@5"} <= set(records[0]["metrics"])
    assert f"| hit@5 | {result.metrics['hit@5']:.3f} |" in (report.out_dir / "summary.md").read_text()
    html = (report.out_dir / "report.html").read_text()
    assert html.count("<svg") >= 3 and "<script" not in html and "http" not in html and "src=" not in html

    again = run_eval(FIXTURE_SET, settings=_settings(tmp_path), out=tmp_path / "runs", limit=3)
    assert again.results[0].ingest.startswith("0 added, 0 updated, 2 unchanged")  # the index is reused
    assert len(again.results[0].records) == 3 and again.out_dir != report.out_dir


def test_cli_equals_library_and_gates_fail_by_name(tmp_path: Path) -> None:
    args = [str(FIXTURE_SET), "--limit", "8", "--seed", "3", "--compare", "retrieval=dense,bm25", "--quiet",
            "--out", str(tmp_path / "cli"), "--min", "hit@5=0.5", "--min", "f1=0.99"]
    done = subprocess.run([sys.executable, "-m", "rag", "eval", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 3, done.stderr
    assert "FAILED: f1 = " in done.stderr and "below 0.99 (retrieval=dense)" in done.stderr
    assert "hit@5" not in done.stderr  # the gate that passed is not reported
    assert "| metric | retrieval=dense | retrieval=bm25 |" in done.stdout
    assert f"ranking depth {DEPTH};" in done.stdout  # the depth the run used, not a copy of it
    (folder,) = [p for p in (tmp_path / "cli").iterdir() if p.name != "cache"]
    cli = {r["label"]: r["metrics"] for r in json.loads((folder / "results.json").read_text())["results"]}

    report = run_eval(FIXTURE_SET, settings=_settings(tmp_path), compare="retrieval=dense,bm25",
                      limit=8, seed=3, out=None, cache=tmp_path / "cli" / "cache")
    assert report.out_dir is None
    assert report.results[0].ingest.startswith("0 added")  # the CLI's index, shared by both settings
    for result in report.results:
        assert {k: result.metrics[k] for k in ACCURACY} == {k: cli[result.label][k] for k in ACCURACY}
        # each setting embeds its questions itself: the second is not timed on the first one's cache
        assert all(r.timings["embed"] > 0.5 for r in result.records), result.label


def _fixture_paragraphs() -> list[tuple[str, str, list[dict[str, str]]]]:
    """(title, paragraph, [{id, question, answer}]) for each paragraph of the fixture documents."""
    cases = [json.loads(line) for line in FIXTURE_SET.read_text().splitlines() if line.startswith("{")]
    out = []
    for doc in sorted((REPO / "tests" / "fixtures" / "corpus").iterdir()):
        for paragraph in doc.read_text("utf-8").split("\n\n")[1:]:
            qas = [{"id": c["id"], "question": c["question"], "answer": c["answers"][0]}
                   for c in cases if c.get("answers") and c["answers"][0] in paragraph]
            out.append((doc.stem, paragraph.strip(), qas))
    return out


def _tiny_squad(tmp_path: Path) -> Path:
    articles: dict[str, list[dict[str, object]]] = {}
    for title, context, qas in _fixture_paragraphs():
        articles.setdefault(title, []).append({"context": context, "qas": [
            {"id": q["id"], "question": q["question"],
             "answers": [{"text": q["answer"], "answer_start": context.index(q["answer"])}]} for q in qas]})
    articles[next(iter(articles))].append({
        "context": "<script>alert(1)</script> The lighthouse of Pharos stood at Alexandria.",
        "qas": [{"id": "x1", "question": "Where did the lighthouse of Pharos stand?",
                 "answers": [{"text": "Alexandria", "answer_start": 61}]}],
    })
    path = tmp_path / "tiny-squad.json"
    data = [{"title": t, "paragraphs": p} for t, p in articles.items()]
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    return path


def test_squad_subset_with_workers(tmp_path: Path) -> None:
    import ir_measures

    path = _tiny_squad(tmp_path)
    report = run_eval(f"squad:{path}", settings=_settings(tmp_path, retrieval="bm25"),
                      limit=16, seed=1, workers=2, out=tmp_path / "runs")
    result = report.results[0]
    assert len(result.records) == 16 and result.settings["retrieval"] == "bm25"
    assert (result.metrics["hit@5"] or 0) >= 0.8 and (result.metrics["passage_hit@10"] or 0) >= 0.7
    assert result.metrics["em"] is not None and result.metrics["abstain_recall"] is None
    # trec_eval on the same run gives the same nDCG@10 and RR@10
    qrels = {r.id: r.gold for r in result.records}
    run = {r.id: {d: 100.0 - i for i, d in enumerate(distinct(h["display"] for h in r.hits))} for r in result.records}
    theirs = ir_measures.calc_aggregate([ir_measures.nDCG @ 10, ir_measures.RR @ 10], qrels, run)
    assert result.metrics["ndcg@10"] == pytest.approx(theirs[ir_measures.nDCG @ 10], abs=1e-9)
    assert result.metrics["mrr@10"] == pytest.approx(theirs[ir_measures.RR @ 10], abs=1e-9)
    assert report.out_dir is not None
    html = (report.out_dir / "report.html").read_text()
    assert "<script>" not in html  # passages and answers are escaped


def test_beir_and_pubmedqa_subsets(tmp_path: Path) -> None:
    paragraphs = _fixture_paragraphs()
    beir = tmp_path / "beir-mini"
    (beir / "qrels").mkdir(parents=True)
    corpus, queries, qrels = [], [], ["query-id\tcorpus-id\tscore"]
    for p, (title, context, qas) in enumerate(paragraphs):
        corpus.append(json.dumps({"_id": f"{title}-{p}", "title": title, "text": context}))
        for qa in qas:
            queries.append(json.dumps({"_id": qa["id"], "text": qa["question"]}))
            qrels.append(f"{qa['id']}\t{title}-{p}\t1")
    (beir / "corpus.jsonl").write_text("\n".join(corpus))
    (beir / "queries.jsonl").write_text("\n".join(queries))
    (beir / "qrels" / "test.tsv").write_text("\n".join(qrels))
    result = run_eval(f"beir:{beir}", settings=_settings(tmp_path), limit=10, out=None,
                      cache=tmp_path / "cache").results[0]
    assert len(result.records) == 10 and (result.metrics["hit@5"] or 0) >= 0.8
    assert result.metrics.get("f1") is None and result.metrics.get("passage_hit@5") is None  # no answers in BEIR

    # PubMedQA's shape: PMID -> the abstract's sections, a question, the conclusion as the long answer
    pubmed = {
        str(1000 + p): {"QUESTION": qas[0]["question"], "CONTEXTS": context.split(". "), "LABELS": [],
                        "MESHES": [], "YEAR": "2024", "final_decision": "yes",
                        "LONG_ANSWER": next(s for s in context.split(". ") if qas[0]["answer"] in s)}
        for p, (_title, context, qas) in enumerate(paragraphs) if qas
    }
    small = tmp_path / "pubmedqa-small.json"
    small.write_text(json.dumps(pubmed))
    result = run_eval(f"pubmedqa:{small}", settings=_settings(tmp_path), limit=8, out=None,
                      cache=tmp_path / "cache").results[0]
    assert len(result.records) == 8 and (result.metrics["hit@5"] or 0) >= 0.8
    assert result.metrics["f1"] is not None and result.metrics.get("passage_hit@5") is None
    assert result.metrics.get("contained") is None  # the conclusion is not a passage of the abstract
