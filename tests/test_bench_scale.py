"""The scale benchmark's own logic: generated documents, the stand-in embedder, growing a real index, the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evals.perf.bench_scale import add_ingest_estimate, cell, describe_rate, parse_args, render
from evals.perf.scale_corpus import passages
from evals.perf.scale_index import (
    CORPUS_ROOT,
    DIMENSION,
    StandInEmbedder,
    generated_documents,
    grow,
    make_document,
    real_fingerprint,
)
from index.embedding import DEFAULT_MODEL
from index.models import chunk_id

REPO = Path(__file__).resolve().parents[1]
KEYS = {"passages", "engine", "build_s", "open_s", "replace_one_s", "search_p50_ms", "search_p95_ms",
        "peak_rss_mb", "disk_mb"}


def test_a_generated_document_is_stored_as_ingest_stores_a_file() -> None:
    items = list(passages(20, per_document=20))
    doc = make_document("doc-0000000", items)
    assert doc.record.source == f"{CORPUS_ROOT}/doc-0000000.txt"
    assert doc.record.chunks == 20 and doc.record.state == "pending"
    assert [c.text for c in doc.chunks] == [p.text for p in items]
    assert [c.id for c in doc.chunks] == [chunk_id(doc.record.source, doc.record.doc_hash, i) for i in range(20)]
    assert all(a.end + 2 == b.start for a, b in zip(doc.chunks, doc.chunks[1:], strict=False))
    assert make_document("doc-0000000", items).record.doc_hash == doc.record.doc_hash
    assert make_document("doc-0000000", items, version="v2").record.doc_hash != doc.record.doc_hash


def test_documents_group_twenty_passages_each() -> None:
    docs = list(generated_documents(passages(60, per_document=20)))
    assert [d.record.display for d in docs] == ["doc-0000000.txt", "doc-0000001.txt", "doc-0000002.txt"]
    assert [len(d.chunks) for d in docs] == [20, 20, 20]


def test_larger_sizes_start_with_the_passages_of_smaller_ones() -> None:
    """What lets ``grow`` take an index from one size to the next by adding only the new passages."""
    small = [p.words for p in passages(4_000)]
    assert [p.words for p in passages(6_000)][:4_000] == small


def test_the_stand_in_embedder_is_deterministic_unit_vectors_of_the_models_dimension() -> None:
    embedder = StandInEmbedder()
    a, b = embedder.embed_documents(["alpha", "beta"])
    assert len(a) == DIMENSION == 384
    assert embedder.embed_query("alpha") == a and a != b
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-5


def test_the_index_records_the_real_models_fingerprint() -> None:
    fingerprint = real_fingerprint()
    assert (fingerprint.model_id, fingerprint.dimension) == (DEFAULT_MODEL, 384)


def test_grow_adds_only_the_new_passages_and_syncs_the_lexical_index(tmp_path: Path) -> None:
    from index.lexical import LexicalIndex
    from index.store import ChromaStore

    seen: list[tuple[str, int]] = []
    grow(tmp_path / "index", 0, 40, step=20, progress=lambda stage, done, _: seen.append((stage, done)))
    first = ChromaStore.persistent(str(tmp_path / "index")).documents()
    grow(tmp_path / "index", 40, 80, progress=lambda *_: None)
    store = ChromaStore.persistent(str(tmp_path / "index"))
    documents = store.documents()
    assert ("chroma", 20) in seen and ("lexical", 40) in seen
    assert store.count_chunks() == 80 and len(documents) == 4
    assert all(r.state == "complete" and r.chunks == 20 for r in documents.values())
    assert {s: r.doc_hash for s, r in first.items()} == {s: documents[s].doc_hash for s in first}
    lexical = LexicalIndex.for_store(store)
    assert len(lexical) == 80 and lexical.problems(store) == []


def test_the_ingest_estimate_adds_the_models_time_to_the_builds() -> None:
    row = {"passages": 1000, "build_s": 5.0, "dense_build_s": 15.0}
    add_ingest_estimate(row, {"chunks_per_s": 10.0, "model": "m", "backend": "onnx"})
    assert row["ingest_estimate_s"] == pytest.approx(120.0)
    assert "1,000 passages: about 0.0 h" in describe_rate({"chunks_per_s": 10.0, "model": "m", "backend": "onnx"},
                                                          [row])
    untouched = {"passages": 10, "note": "serve did not finish"}
    add_ingest_estimate(untouched, {"chunks_per_s": 10.0})
    assert "ingest_estimate_s" not in untouched


def test_the_table_shows_only_measured_columns_and_every_note() -> None:
    rows = [
        {"passages": 10_000, "engine": "default", "build_s": 1.234, "open_s": 0.0123, "ask_hybrid_s": 7.0,
         "note": "grown", "ask_bm25_note": "exit 1"},
        {"passages": 10_000, "engine": "json", "build_s": 12345.6},
    ]
    text = render(rows)
    header = text.splitlines()[0].split()
    assert header[:3] == ["passages", "engine", "build"] and "bm25" not in header
    assert "12346" in text and "1.23" in text and "0.0123" in text
    assert "10000 default: exit 1" in text and "10000 default: grown" in text
    assert cell({}, "open_s") == "-"


def test_arguments_default_to_the_product_and_the_json_sidecar() -> None:
    assert parse_args([]).engine_list == ["default", "json"]
    with pytest.raises(SystemExit):
        parse_args(["--passages", "1010"])
    with pytest.raises(SystemExit):
        parse_args(["--engines", "default,lucene"])


@pytest.mark.slow
def test_the_default_row_measures_the_product_and_rag_ask(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "evals.perf.bench_scale", "--passages", "200", "--engines", "default",
         "--queries", "5", "--repeat", "1", "--json", "--no-model", "--keep", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=900, check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["engine"] for r in rows] == ["default"]
    row = rows[0]
    assert row.keys() >= KEYS, row
    assert row["count"] == 200 and row["passages"] == 200
    for mode in ("bm25", "hybrid"):
        assert row[f"ask_{mode}_s"] > 0 and row[f"ask_{mode}_rss_mb"] > 0
        assert f"ask_{mode}_note" not in row, row
    assert (tmp_path / "default-200" / "lexical-default").is_dir()
    assert "1,200 passages" not in done.stderr and "200 default: serve" in done.stderr
