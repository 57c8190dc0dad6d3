"""Lexical index engines at 10k, 100k and 1M passages: build, open, change one document, search.

For each size and engine, two fresh worker processes run over generated passages
(``evals.perf.scale_corpus``: fixed seed, Zipf-like vocabulary, ~170 words, documents
of 20 passages), already tokenized the way ``index.text_terms.index_tokens`` does it:

1. *build*: every document into an empty index (engine time only, not generation);
2. *serve*: open the index and answer one search (``open_s``, imports excluded), then
   warm searches over generated questions (p50/p95), then add, replace and delete one
   20-passage document, several times each (medians).

With ``--hybrid`` a Chroma collection of stand-in vectors (``scale_dense``) is built
once per size, and the serve worker also times lexical search + dense query per
question (``hybrid_p50_ms``), after opening the collection (``dense_open_s``).

Each worker reports its peak RSS (``ru_maxrss``). Run it from the repository root:

    .venv/bin/python -m evals.perf.bench_scale                         # 10k and 100k
    .venv/bin/python -m evals.perf.bench_scale --passages 1000000 --engines fts5
    .venv/bin/python -m evals.perf.bench_scale --json                  # one JSON line per run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from evals.perf.bench_ingest import percentile
from evals.perf.scale_corpus import Passage, passages, queries
from evals.perf.scale_engines import ENGINES, Chunks, open_engine

SIZES = (10_000, 100_000)
PER_DOCUMENT = 20
KEYS = ("passages", "engine", "build_s", "open_s", "replace_one_s", "add_one_s", "delete_one_s",
        "search_p50_ms", "search_p95_ms", "peak_rss_mb", "build_rss_mb", "disk_mb")


def documents(items: Iterator[Passage]) -> Iterator[tuple[str, str, Chunks]]:
    """(source, version, chunks) per document of consecutive passages."""
    for source, group in groupby(items, key=lambda p: p.source):
        chunks = [(p.chunk_id, p.tokens) for p in group]
        yield source, "v1", chunks


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


# -- workers (each in a fresh process) --------------------------------------------------


def work_build(engine_name: str, folder: Path, count: int) -> dict[str, Any]:
    engine = open_engine(engine_name, folder)
    spent = 0.0
    docs = list(documents(passages(count, per_document=PER_DOCUMENT))) if engine_name == "json" else None

    def timed_docs() -> Iterator[tuple[str, str, Chunks]]:
        nonlocal spent
        source = iter(docs) if docs is not None else documents(passages(count, per_document=PER_DOCUMENT))
        while True:
            started = time.perf_counter()
            try:
                item = next(source)
            except StopIteration:
                return
            spent -= time.perf_counter() - started  # generation is not the engine's time
            yield item

    started = time.perf_counter()
    engine.build(timed_docs())
    engine.close()
    return {"build_s": time.perf_counter() - started + spent, "build_rss_mb": peak_rss_mb()}


def median_of(runs: Sequence[float]) -> float:
    return statistics.median(runs)


def work_dense_build(folder: Path, count: int) -> dict[str, Any]:
    from evals.perf.scale_dense import build_dense

    return {"dense_build_s": build_dense(folder, passages(count, per_document=PER_DOCUMENT))}


def hybrid_latencies(engine: Any, dense_folder: Path, question_tokens: Sequence[list[str]]) -> dict[str, Any]:
    """Open the Chroma collection, then time lexical search + dense query per question."""
    from evals.perf.scale_dense import dense_query, open_dense, stand_in_vectors

    vectors = stand_in_vectors(len(question_tokens), seed=999)
    started = time.perf_counter()
    collection = open_dense(dense_folder)
    dense_query(collection, vectors[0], 10)
    dense_open_s = time.perf_counter() - started
    times = []
    for tokens, vector in zip(question_tokens, vectors, strict=True):
        started = time.perf_counter()
        engine.search(tokens, 10)
        dense_query(collection, vector, 10)
        times.append((time.perf_counter() - started) * 1000)
    return {"dense_open_s": dense_open_s, "hybrid_p50_ms": percentile(times, 50),
            "hybrid_p95_ms": percentile(times, 95)}


def work_serve(engine_name: str, folder: Path, n_queries: int, repeat: int, dense: Path | None) -> dict[str, Any]:
    from index.text_terms import index_tokens

    question_tokens = [t for t in index_tokens(queries(n_queries)) if t]
    extra = [next(documents(passages(PER_DOCUMENT, per_document=PER_DOCUMENT, seed=100 + i, prefix=f"new{i}")))
             for i in range(repeat)]
    started = time.perf_counter()
    engine = open_engine(engine_name, folder)
    engine.search(question_tokens[0], 10)
    open_s = time.perf_counter() - started
    count = engine.count()
    times = []
    for tokens in question_tokens:
        started = time.perf_counter()
        engine.search(tokens, 10)
        times.append((time.perf_counter() - started) * 1000)
    row: dict[str, Any] = {
        "open_s": open_s, "count": count,
        "search_p50_ms": percentile(times, 50), "search_p95_ms": percentile(times, 95),
    }
    if dense is not None:
        row.update(hybrid_latencies(engine, dense, question_tokens))
    add, replace, delete = [], [], []
    for source, _, chunks in extra:
        started = time.perf_counter()
        engine.replace_document(source, "v1", chunks)
        add.append(time.perf_counter() - started)
        started = time.perf_counter()
        engine.replace_document(source, "v2", list(reversed(chunks)))
        replace.append(time.perf_counter() - started)
    for source, _, _ in extra:
        started = time.perf_counter()
        engine.delete_document(source)
        delete.append(time.perf_counter() - started)
    engine.close()
    row.update(add_one_s=median_of(add), replace_one_s=median_of(replace), delete_one_s=median_of(delete),
               peak_rss_mb=peak_rss_mb())
    return row


# -- driver ------------------------------------------------------------------------------


def run_worker(args: list[str], timeout: float) -> dict[str, Any] | None:
    """Run one worker in a fresh interpreter; its last output line is its JSON result."""
    cmd = [sys.executable, "-m", "evals.perf.bench_scale", "--worker", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise SystemExit(f"worker {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    size: int, engine: str, work: Path, n_queries: int, repeat: int, timeout: float, dense: Path | None
) -> dict[str, Any]:
    folder = work / f"{engine}-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    row: dict[str, Any] = {"passages": size, "engine": engine, "load": os.getloadavg()[0]}
    built = run_worker(["build", engine, str(folder), str(size)], timeout)
    if built is None:
        row["note"] = f"build did not finish within {timeout:.0f} s"
        return row
    row.update(built)
    row["disk_mb"] = disk_mb(folder)
    served = run_worker(["serve", engine, str(folder), str(n_queries), str(repeat), str(dense or "")], timeout)
    if served is None:
        row["note"] = f"serve did not finish within {timeout:.0f} s"
    else:
        row.update(served)
    shutil.rmtree(folder, ignore_errors=True)
    return row


def render(rows: Sequence[dict[str, Any]]) -> str:
    header = ("passages", "engine", "build s", "disk MB", "open s", "add s", "replace s", "delete s",
              "p50 ms", "p95 ms", "RSS MB", "build RSS", "hybrid p50", "hybrid p95", "load")
    keys = ("passages", "engine", "build_s", "disk_mb", "open_s", "add_one_s", "replace_one_s", "delete_one_s",
            "search_p50_ms", "search_p95_ms", "peak_rss_mb", "build_rss_mb", "hybrid_p50_ms", "hybrid_p95_ms",
            "load")

    def cell(row: dict[str, Any], key: str) -> str:
        value = row.get(key)
        if value is None:
            return "-"
        return value if isinstance(value, str) else f"{value:.3g}" if value < 1000 else f"{value:.0f}"

    table = [header] + [tuple(cell(r, k) for k in keys) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    lines.insert(1, "-" * len(lines[0]))
    notes = [f"{r['passages']} {r['engine']}: {r['note']}" for r in rows if "note" in r]
    return "\n".join(lines + notes)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--passages", type=int, action="append", help="one size (repeatable; default 10k and 100k)")
    parser.add_argument("--engines", default="json,fts5,tantivy", help=f"comma-separated, of {', '.join(ENGINES)}")
    parser.add_argument("--queries", type=int, default=200, help="warm searches per run (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="add/replace/delete runs; medians (default 3)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per worker before giving up (600)")
    parser.add_argument(
        "--hybrid", action="store_true",
        help="also build a Chroma collection of stand-in vectors and time lexical + dense per question",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per size and engine")
    parser.add_argument("--work", type=Path, help="folder for the indexes (default: a temporary one)")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        parser.error(f"--engines {args.engines!r}: choose from {', '.join(ENGINES)}")
    if args.repeat < 1 or args.queries < 2:
        parser.error("--repeat must be at least 1 and --queries at least 2")
    args.engine_list = engines
    return args


def worker_main(argv: Sequence[str]) -> int:
    kind, engine, folder = argv[0], argv[1], Path(argv[2])
    if kind == "build":
        result = work_build(engine, folder, int(argv[3]))
    elif kind == "dense":
        result = work_dense_build(folder, int(argv[3]))
    else:
        result = work_serve(engine, folder, int(argv[3]), int(argv[4]), Path(argv[5]) if argv[5] else None)
    print(json.dumps(result), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["--worker"]:
        return worker_main(raw[1:])
    args = parse_args(raw)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.work) as tmp:
        for size in args.passages or SIZES:
            dense: Path | None = None
            built: dict[str, Any] = {}
            if args.hybrid:
                dense = Path(tmp) / f"chroma-{size}"
                built = run_worker(["dense", "-", str(dense), str(size)], args.timeout) or {}
                built["dense_disk_mb"] = disk_mb(dense)
            for engine in args.engine_list:
                row = measure(size, engine, Path(tmp), args.queries, args.repeat, args.timeout, dense)
                row.update(built)
                rows.append(row)
                print(json.dumps(row) if args.json else f"done: {size} {engine}", file=sys.stdout, flush=True)
    if not args.json:
        print(f"machine load (1/5/15 min) at the end: {os.getloadavg()}")
        print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
