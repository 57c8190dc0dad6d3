"""The eval runner end to end with the real model and Chroma: seed set, CLI parity and gates, and
small subsets of SQuAD (xquad-en), BEIR and PubMedQA."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals import run_eval
from evals.metrics import distinct
from rag import Settings

REPO = Path(__file__).resolve().parents[1]
SEED_SET = REPO / "evals" / "sets" / "seed.jsonl"
ACCURACY = ("hit@1", "hit@5", "mrr@10", "ndcg@10", "passage_hit@5", "passage_mrr@10", "em", "f1", "contained",
            "citation_precision", "citation_recall", "abstain_precision", "abstain_recall")

pytestmark = pytest.mark.slow


def _settings(tmp_path: Path, shared_dir: Path, **kw: object) -> Settings:
    return Settings(index_dir=str(tmp_path / "unused-index"), shared_dir=str(shared_dir), **kw)  # type: ignore[arg-type]


def test_seed_set_end_to_end(tmp_path: Path, shared_dir: Path) -> None:
    report = run_eval(SEED_SET, settings=_settings(tmp_path, shared_dir), out=tmp_path / "runs")
    result = report.results[0]
    assert len(result.records) == 29 and result.counts["unanswerable"] == 6
    assert result.metrics["hit@5"] == 1.0  # one document: it is always found
    assert (result.metrics["passage_hit@5"] or 0) >= 0.9
    assert result.metrics["total_p50_ms"] is not None and result.metrics["total_p50_ms"] > 0
    assert report.out_dir is not None and report.out_dir.parent == tmp_path / "runs"
    data = json.loads((report.out_dir / "results.json").read_text())
    records = data["results"][0]["records"]
    assert len(records) == 29 and data["definitions"]["hit@5"]
    assert all(r["hits"] and {"chunk_id", "score", "rank"} <= set(r["hits"][0]) for r in records)
    assert {"em", "f1", "hit@5"} <= set(records[0]["metrics"])
    assert "| hit@5 | 1.000 |" in (report.out_dir / "summary.md").read_text()
    html = (report.out_dir / "report.html").read_text()
    assert html.count("<svg") >= 3 and "<script" not in html and "http" not in html and "src=" not in html

    again = run_eval(SEED_SET, settings=_settings(tmp_path, shared_dir), out=tmp_path / "runs", limit=3)
    assert again.results[0].ingest.startswith("0 added, 0 updated, 1 unchanged")  # the index is reused
    assert len(again.results[0].records) == 3 and again.out_dir != report.out_dir


def test_cli_equals_library_and_gates_fail_by_name(tmp_path: Path, shared_dir: Path) -> None:
    env = {**os.environ, "RAG_SHARED_DIR": str(shared_dir)}
    args = [str(SEED_SET), "--limit", "8", "--seed", "3", "--compare", "retrieval=dense,bm25", "--quiet",
            "--out", str(tmp_path / "cli"), "--min", "hit@5=0.5", "--min", "f1=0.99"]
    done = subprocess.run([sys.executable, "-m", "rag", "eval", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)
    assert done.returncode == 3, done.stderr
    assert "FAILED: f1 = " in done.stderr and "below 0.99 (retrieval=dense)" in done.stderr
    assert "hit@5" not in done.stderr  # the gate that passed is not reported
    assert "| metric | retrieval=dense | retrieval=bm25 |" in done.stdout
    (folder,) = [p for p in (tmp_path / "cli").iterdir() if p.name != "cache"]
    cli = {r["label"]: r["metrics"] for r in json.loads((folder / "results.json").read_text())["results"]}

    report = run_eval(SEED_SET, settings=_settings(tmp_path, shared_dir), compare="retrieval=dense,bm25",
                      limit=8, seed=3, out=None, cache=tmp_path / "cli" / "cache")
    assert report.out_dir is None
    assert report.results[0].ingest.startswith("0 added")  # the CLI's index, shared by both settings
    for result in report.results:
        assert {k: result.metrics[k] for k in ACCURACY} == {k: cli[result.label][k] for k in ACCURACY}
        # each setting embeds its questions itself: the second is not timed on the first one's cache
        assert all(r.timings["embed"] > 0.5 for r in result.records), result.label


def _tiny_squad(shared_dir: Path, tmp_path: Path) -> Path:
    data = json.loads((shared_dir / "evaldata" / "xquad-en" / "xquad.en.json").read_text())
    articles = data["data"][:3]
    articles[0]["paragraphs"].append({
        "context": "<script>alert(1)</script> The lighthouse of Pharos stood at Alexandria.",
        "qas": [{"id": "x1", "question": "Where did the lighthouse of Pharos stand?",
                 "answers": [{"text": "Alexandria", "answer_start": 61}]}],
    })
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps({"version": "1.1", "data": articles}))
    return path


def test_squad_subset_with_workers(tmp_path: Path, shared_dir: Path) -> None:
    ir_measures = pytest.importorskip("ir_measures")
    path = _tiny_squad(shared_dir, tmp_path)
    report = run_eval(f"squad:{path}", settings=_settings(tmp_path, shared_dir, retrieval="bm25"),
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


def test_beir_and_pubmedqa_subsets(tmp_path: Path, shared_dir: Path) -> None:
    data = json.loads((shared_dir / "evaldata" / "xquad-en" / "xquad.en.json").read_text())
    beir = tmp_path / "beir-mini"
    (beir / "qrels").mkdir(parents=True)
    corpus, queries, qrels = [], [], ["query-id\tcorpus-id\tscore"]
    for a, article in enumerate(data["data"][3:5]):
        for p, paragraph in enumerate(article["paragraphs"]):
            corpus.append(json.dumps({"_id": f"{a}-{p}", "title": article["title"], "text": paragraph["context"]}))
            for qa in paragraph["qas"][:2]:
                queries.append(json.dumps({"_id": qa["id"], "text": qa["question"]}))
                qrels.append(f"{qa['id']}\t{a}-{p}\t1")
    (beir / "corpus.jsonl").write_text("\n".join(corpus))
    (beir / "queries.jsonl").write_text("\n".join(queries))
    (beir / "qrels" / "test.tsv").write_text("\n".join(qrels))
    result = run_eval(f"beir:{beir}", settings=_settings(tmp_path, shared_dir), limit=10, out=None,
                      cache=tmp_path / "cache").results[0]
    assert len(result.records) == 10 and (result.metrics["hit@5"] or 0) >= 0.8
    assert result.metrics.get("f1") is None and result.metrics.get("passage_hit@5") is None  # no answers in BEIR

    pubmed = json.loads((shared_dir / "evaldata" / "pubmedqa-pqal" / "ori_pqal.json").read_text())
    small = tmp_path / "pubmedqa-small.json"
    small.write_text(json.dumps(dict(list(pubmed.items())[:40])))
    result = run_eval(f"pubmedqa:{small}", settings=_settings(tmp_path, shared_dir), limit=8, out=None,
                      cache=tmp_path / "cache").results[0]
    assert len(result.records) == 8 and (result.metrics["hit@5"] or 0) >= 0.8
    assert result.metrics["f1"] is not None and result.metrics.get("passage_hit@5") is None
    assert result.metrics.get("contained") is None  # the conclusion is not a passage of the abstract
