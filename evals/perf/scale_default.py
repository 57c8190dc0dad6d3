"""The scale benchmark's default engine: the index ``rag`` opens, measured through the product's own code.

``serve`` runs in a fresh process over a folder built by ``evals.perf.scale_index``:

1. ``store_open_s``: ``ChromaStore.persistent`` and its collections (what every command pays);
2. ``open_s``: what the lexical index adds to a fresh process: ``LexicalIndex.for_store``,
   its first ``sync`` against the manifest, and one search;
3. warm hybrid retrieval (``search_p50_ms`` / ``search_p95_ms``): ``rag.retrieval.Retriever``
   in hybrid mode with the default ``Settings`` (sync check, BM25, Chroma query, fusion,
   proximity re-ranking, chunk fetch), the question vector from the stand-in embedder;
   BM25 alone as ``lexical_p50_ms`` / ``lexical_p95_ms``;
4. add, replace and delete one document of 20 passages: the store write with the ingest's
   batch writer (``*_store_s``), then the lexical update that follows it in the product
   (``LexicalIndex.update`` of that document, as ``Assistant.ingest`` does for an index in
   step; ``add_one_s``, ``replace_one_s``, ``delete_one_s``: the lexical work), medians of
   ``repeat``.

``rag_ask`` times a whole ``rag ask --index DIR`` process (the real model embeds the
question; the extractive answerer answers) and reads its peak RSS from ``wait4``.
``model_rate`` times the real embedder on generated passages, so the full ingest time of
N passages can be read off as N / rate plus the store and lexical build.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from evals.perf.bench_ingest import percentile
from evals.perf.scale_corpus import passages, queries
from evals.perf.scale_index import PER_DOCUMENT, StandInEmbedder, make_document, write_documents


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Any, *args: Any, **kwargs: Any) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


def serve(folder: Path, n_queries: int, repeat: int) -> dict[str, Any]:
    """Open the index in this (fresh) process, search it warm, change one document: see the module docstring."""
    from index.ingest import remove_documents
    from index.lexical import LexicalIndex
    from index.store import ChromaStore
    from rag.config import Settings
    from rag.retrieval import Retriever

    settings = Settings()
    embedder = StandInEmbedder()
    questions = queries(n_queries)
    vectors = [embedder.embed_query(q) for q in questions]
    extra = [make_document(f"new{i}-0000000", list(passages(PER_DOCUMENT, per_document=PER_DOCUMENT,
                                                             seed=100 + i, prefix=f"new{i}")))
             for i in range(repeat)]

    started = time.perf_counter()
    store = ChromaStore.persistent(str(folder))
    count = store.count_chunks()
    store_open_s = time.perf_counter() - started
    started = time.perf_counter()
    lexical = LexicalIndex.for_store(store)
    lexical.sync(store)
    lexical.search(questions[0], 10)
    open_s = time.perf_counter() - started
    started = time.perf_counter()
    store.query(vectors[0], 10)
    dense_open_s = time.perf_counter() - started

    retriever = Retriever(store, lexical, "hybrid", settings.fusion_config())
    hybrid, bm25 = [], []
    for question, vector in zip(questions, vectors, strict=True):
        started = time.perf_counter()
        retriever.retrieve(question, vector, settings.top_k)
        hybrid.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        lexical.search(question, settings.top_k)
        bm25.append((time.perf_counter() - started) * 1000)

    lexical_s: dict[str, list[float]] = {"add": [], "replace": [], "delete": []}
    store_s: dict[str, list[float]] = {"add": [], "replace": [], "delete": []}
    for i, doc in enumerate(extra):
        source = doc.record.source
        store_s["add"].append(_timed(write_documents, store, iter([doc]), batch=256))
        lexical_s["add"].append(_timed(lexical.update, store, [source]))
        changed = list(passages(PER_DOCUMENT, per_document=PER_DOCUMENT, seed=200 + i, prefix="changed"))
        newer = make_document(doc.record.title, changed, version="v2")
        previous = {source: store.documents()[source]}
        store_s["replace"].append(_timed(write_documents, store, iter([newer]), batch=256, previous=previous))
        lexical_s["replace"].append(_timed(lexical.update, store, [source]))
    for doc in extra:
        store_s["delete"].append(_timed(remove_documents, store, [doc.record.source]))
        lexical_s["delete"].append(_timed(lexical.update, store, [doc.record.source]))
    row: dict[str, Any] = {
        "count": count, "store_open_s": store_open_s, "open_s": open_s, "dense_open_s": dense_open_s,
        "search_p50_ms": percentile(hybrid, 50), "search_p95_ms": percentile(hybrid, 95),
        "lexical_p50_ms": percentile(bm25, 50), "lexical_p95_ms": percentile(bm25, 95),
        "peak_rss_mb": peak_rss_mb(),
    }
    for change in ("add", "replace", "delete"):
        row[f"{change}_one_s"] = statistics.median(lexical_s[change])
        row[f"{change}_store_s"] = statistics.median(store_s[change])
    return row


def rag_ask(folder: Path, question: str, retrieval: str, timeout: float) -> dict[str, Any]:
    """Run ``rag ask --index folder QUESTION --retrieval MODE`` in a fresh process: wall time, peak RSS, status.

    The peak RSS is the child's own (``os.wait4``), whatever this process ran before.
    """
    import tempfile

    cmd = [sys.executable, "-m", "rag", "ask", "--index", str(folder), question, "--retrieval", retrieval]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                child.kill()
                os.wait4(child.pid, 0)
                child.returncode = -9
                return {"mode": retrieval, "note": f"did not finish within {timeout:.0f} s"}
            time.sleep(0.02)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().strip(), err.read().strip()
    row: dict[str, Any] = {"mode": retrieval, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
                           "exit": child.returncode}
    if child.returncode != 0:
        row["note"] = (errors or text or "no output").splitlines()[-1][:200]
    else:
        row["answer"] = text.splitlines()[0][:80] if text else ""
    return row


def model_rate(n: int = 96) -> dict[str, Any]:
    """The real embedder (default settings) on ``n`` generated passages: chunks per second, after loading."""
    from rag.config import Settings
    from rag.parts import build_embedder

    embedder = build_embedder(Settings())
    texts = [p.text for p in passages(n, per_document=PER_DOCUMENT, seed=300)]
    started = time.perf_counter()
    embedder.embed_documents(texts[:8])
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    embedder.embed_documents(texts)
    seconds = time.perf_counter() - started
    return {"model": embedder.model_id, "backend": str(getattr(embedder, "backend", "")),
            "chunks_per_s": n / seconds, "load_s": load_s, "threads": os.cpu_count()}
