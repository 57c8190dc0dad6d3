"""The index at 10k, 100k and 1M passages: build, open, change one document, search, ``rag ask``.

``default`` is the index the product uses (``evals.perf.scale_default``): a real index
folder (Chroma with stand-in vectors of the real model's fingerprint, and the tantivy
lexical index beside it, ``index.lexical.LexicalIndex``) built by ``evals.perf.scale_index``
through the ingest's batch writer and the lexical ``sync``; then a fresh process opens it,
times warm hybrid retrieval through ``rag.retrieval.Retriever`` and adds / replaces /
deletes one document; then two whole ``rag ask --index DIR`` processes (``--retrieval bm25``
and ``hybrid``) are timed with their peak RSS, and the real model's throughput is measured
so the full ingest time can be read off.

The other engines (``evals.perf.scale_engines``: ``json``, the bm25s sidecar of earlier
versions, ``fts5``, ``fts5-raw``, ``tantivy`` alone) are driven through one small interface
over the same generated passages (``evals.perf.scale_corpus``: fixed seed, Zipf-like
vocabulary, ~170 words, documents of 20 passages), already tokenized:

1. *build*: every document into an empty index (engine time only, not generation);
2. *serve*: open the index and answer one search (``open_s``, imports excluded), then
   warm searches over generated questions (p50/p95), then add, replace and delete one
   20-passage document, several times each (medians).

With ``--hybrid`` a Chroma collection of stand-in vectors (``scale_dense``) is built
once per size for them, and the serve worker also times lexical search + dense query
per question (``hybrid_p50_ms``). Each worker reports its peak RSS (``ru_maxrss``).
Run it from the repository root:

    .venv/bin/python -m evals.perf.bench_scale                         # 10k and 100k: default, json
    .venv/bin/python -m evals.perf.bench_scale --passages 1000000 --engines default
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
DEFAULT_ENGINES = "default,json"
ASK_QUESTION = "How are the documents of the index kept in step with the lexical index?"
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


def say(message: str) -> None:
    """A progress line on stderr (stdout holds the table or the JSON lines)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_worker(args: list[str], timeout: float | None, *, progress: bool = False) -> dict[str, Any] | None:
    """Run one worker in a fresh interpreter; its last output line is its JSON result.

    ``progress`` lets the worker's stderr (its progress lines) through to ours.
    """
    cmd = [sys.executable, "-m", "evals.perf.bench_scale", "--worker", *args]
    try:
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise SystemExit(f"worker {' '.join(args)} failed:\n{(done.stderr or '(its output is above)')[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    size: int, engine: str, work: Path, n_queries: int, repeat: int, timeout: float, dense: Path | None
) -> dict[str, Any]:
    folder = work / f"{engine}-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    row: dict[str, Any] = {"passages": size, "engine": engine, "load": os.getloadavg()[0]}
    say(f"{size:,} {engine}: build")
    built = run_worker(["build", engine, str(folder), str(size)], timeout)
    if built is None:
        row["note"] = f"build did not finish within {timeout:.0f} s"
        return row
    row.update(built)
    row["disk_mb"] = disk_mb(folder)
    say(f"{size:,} {engine}: serve")
    served = run_worker(["serve", engine, str(folder), str(n_queries), str(repeat), str(dense or "")], timeout)
    if served is None:
        row["note"] = f"serve did not finish within {timeout:.0f} s"
    else:
        row.update(served)
    shutil.rmtree(folder, ignore_errors=True)
    return row


def indexed_passages(folder: Path) -> int:
    """Chunks in the index folder (0 when it holds no index); read in a fresh process."""
    if not (folder / "chroma.sqlite3").is_file():
        return 0
    counted = run_worker(["count", "-", str(folder)], None) or {}
    return int(counted.get("count", 0))


def measure_default(size: int, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The product's own index in ``folder``: grown to ``size`` passages when it holds fewer, then served and asked."""
    from evals.perf.scale_default import rag_ask

    row: dict[str, Any] = {"passages": size, "engine": "default", "load": os.getloadavg()[0]}
    have = indexed_passages(folder)
    if have > size:
        raise SystemExit(f"{folder} holds {have:,} passages, more than {size:,}: give an empty or smaller one")
    if have < size:
        say(f"{size:,} default: build ({have:,} passages there already)")
        built = run_worker(["grow", "-", str(folder), str(size), str(have)], None, progress=True)
        row.update(built or {})
        if have:
            row["note"] = f"grown from {have:,} passages already in {folder}"
    else:
        row["note"] = f"index built earlier in {folder}: build not timed"
    row["disk_mb"] = disk_mb(folder)
    row["lexical_disk_mb"] = disk_mb(folder / "lexical-default")
    say(f"{size:,} default: serve")
    row.update(run_worker(["default-serve", "-", str(folder), str(args.queries), str(args.repeat)], None) or {})
    for mode in ("bm25", "hybrid"):
        say(f"{size:,} default: rag ask --retrieval {mode}")
        asked = rag_ask(folder, ASK_QUESTION, mode, args.timeout)
        row[f"ask_{mode}_s"] = asked.get("wall_s")
        row[f"ask_{mode}_rss_mb"] = asked.get("peak_rss_mb")
        if "note" in asked:
            row[f"ask_{mode}_note"] = asked["note"]
    return row


def add_ingest_estimate(row: dict[str, Any], rate: dict[str, Any] | None) -> None:
    """Beside the stand-in build, what a real ingest of the same passages would take (model + store + lexical)."""
    if not rate or "build_s" not in row:
        return
    row["model_chunks_per_s"] = rate["chunks_per_s"]
    row["ingest_estimate_s"] = row["passages"] / rate["chunks_per_s"] + row.get("dense_build_s", 0) + row["build_s"]


COLUMNS = (
    ("passages", "passages"), ("engine", "engine"), ("build s", "build_s"), ("chroma s", "dense_build_s"),
    ("disk MB", "disk_mb"), ("open s", "open_s"), ("add s", "add_one_s"), ("replace s", "replace_one_s"),
    ("delete s", "delete_one_s"), ("p50 ms", "search_p50_ms"), ("p95 ms", "search_p95_ms"),
    ("bm25 p50", "lexical_p50_ms"), ("RSS MB", "peak_rss_mb"), ("ask s", "ask_hybrid_s"),
    ("ask RSS", "ask_hybrid_rss_mb"), ("hybrid p50", "hybrid_p50_ms"), ("load", "load"),
)


def cell(row: dict[str, Any], key: str) -> str:
    """One value as the table shows it: 3 significant digits, whole numbers from 1000, "-" when absent (pure)."""
    value = row.get(key)
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def render(rows: Sequence[dict[str, Any]]) -> str:
    """The table of every row, then each row's notes (pure)."""
    shown = [(h, k) for h, k in COLUMNS if any(k in r for r in rows)]
    table = [tuple(h for h, _ in shown)] + [tuple(cell(r, k) for _, k in shown) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(shown))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    lines.insert(1, "-" * len(lines[0]))
    notes = [f"{r['passages']} {r['engine']}: {r[k]}" for r in rows for k in sorted(r) if k.endswith("note")]
    return "\n".join(lines + notes)


def describe_rate(rate: dict[str, Any] | None, rows: Sequence[dict[str, Any]]) -> str:
    """The real model's throughput and the full ingest time it gives each default row (pure)."""
    if not rate:
        return "real model throughput: not measured (--no-model)"
    lines = [f"real model ({rate['model']}, {rate['backend']}): {rate['chunks_per_s']:.1f} chunks/s "
             "embedding generated passages; a full ingest = passages / that + chroma s + build s:"]
    for r in rows:
        if "ingest_estimate_s" in r:
            lines.append(f"  {r['passages']:,} passages: about {r['ingest_estimate_s'] / 3600:.1f} h")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--passages", type=int, action="append", help="one size (repeatable; default 10k and 100k)")
    parser.add_argument("--engines", default=DEFAULT_ENGINES,
                        help=f"comma-separated, of default, {', '.join(ENGINES)} (default {DEFAULT_ENGINES})")
    parser.add_argument("--queries", type=int, default=200, help="warm searches per run (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="add/replace/delete runs; medians (default 3)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds per worker of the other engines, and per rag ask, before giving up (600)")
    parser.add_argument(
        "--hybrid", action="store_true",
        help="for the other engines: also build a Chroma collection of stand-in vectors and time lexical + dense",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per size and engine")
    parser.add_argument("--work", type=Path, help="folder for the indexes (default: a temporary one)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the default engine's index in DIR/default-N; one already there is grown or reused")
    parser.add_argument("--no-model", action="store_true", help="do not measure the real model's throughput")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    unknown = [e for e in engines if e not in ("default", *ENGINES)]
    if unknown or not engines:
        parser.error(f"--engines {args.engines!r}: choose from default, {', '.join(ENGINES)}")
    if args.repeat < 1 or args.queries < 2:
        parser.error("--repeat must be at least 1 and --queries at least 2")
    if any(n < PER_DOCUMENT or n % PER_DOCUMENT for n in args.passages or []):
        parser.error(f"--passages must be a positive multiple of {PER_DOCUMENT} (the passages of one document)")
    args.engine_list = engines
    return args


def worker_main(argv: Sequence[str]) -> int:
    kind, engine, folder = argv[0], argv[1], Path(argv[2])
    if kind == "build":
        result = work_build(engine, folder, int(argv[3]))
    elif kind == "dense":
        result = work_dense_build(folder, int(argv[3]))
    elif kind == "grow":
        from evals.perf.scale_index import grow, print_progress

        result = grow(folder, int(argv[4]), int(argv[3]), progress=print_progress)
        result["build_rss_mb"] = peak_rss_mb()
    elif kind == "count":
        from index.store import ChromaStore

        result = {"count": ChromaStore.persistent(str(folder)).count_chunks()}
    elif kind == "default-serve":
        from evals.perf.scale_default import serve

        result = serve(folder, int(argv[3]), int(argv[4]))
    elif kind == "model-rate":
        from evals.perf.scale_default import model_rate

        result = model_rate()
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
    rate = None
    if "default" in args.engine_list and not args.no_model:
        say("the real model's throughput")
        rate = run_worker(["model-rate", "-", "-"], args.timeout)
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.work) as tmp:
        for size in args.passages or SIZES:
            dense: Path | None = None
            built: dict[str, Any] = {}
            if args.hybrid and any(e != "default" for e in args.engine_list):
                dense = Path(tmp) / f"chroma-{size}"
                built = run_worker(["dense", "-", str(dense), str(size)], args.timeout) or {}
                built["dense_disk_mb"] = disk_mb(dense)
            for engine in args.engine_list:
                if engine == "default":
                    row = measure_default(size, (args.keep or Path(tmp)) / f"default-{size}", args)
                    add_ingest_estimate(row, rate)
                else:
                    row = measure(size, engine, Path(tmp), args.queries, args.repeat, args.timeout, dense)
                    row.update(built)
                rows.append(row)
                print(json.dumps(row) if args.json else f"done: {size} {engine}", file=sys.stdout, flush=True)
    if not args.json:
        print(f"machine load (1/5/15 min) at the end: {os.getloadavg()}")
        print(render(rows))
        print(describe_rate(rate, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
