"""Ingest and ask speed of our pipeline against raw encoding and the llama-index baseline.

The corpus is copied into a temporary folder at run time: the fixture documents of
``tests/fixtures`` (every format), the seed article when the data folder has it, and
every paragraph of a SQuAD-format set (xquad-en by default, or covid-qa-dev's whole
papers) as its own .txt file. Then each repeat measures:

a) ``Assistant.ingest`` into a fresh embedded Chroma folder, cold (model load
   included) and warm (embedder already loaded);
b) raw ``SentenceTransformer.encode`` of exactly the chunk texts (a) embedded,
   same model folder and batch size: the pipeline overhead is a / b - 1;
c) llama-index ``VectorStoreIndex.from_documents`` + ``ChromaVectorStore`` +
   ``HuggingFaceEmbedding`` on the same model folder (``llama_baseline.py``), and its
   second run over the same files (which duplicates the collection);
d) re-ingest of the unchanged corpus with our pipeline;
e) warm ``Assistant.ask`` latency over a fixed list of the set's questions;
f) whole commands, each a fresh process timed from spawn to exit: ``rag ingest DOCS``
   against ``python evals/perf/llama_baseline.py DOCS``, into fresh Chroma folders.

The table shows the median, min and max over ``--repeat`` runs. Run it from the repo:

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m evals.perf.bench_ingest                       # full, 3 repeats
    .venv/bin/python -m evals.perf.bench_ingest --limit 40 --repeat 1 # quick check
    .venv/bin/python -m evals.perf.bench_ingest --json perf.json      # also save numbers
    .venv/bin/python -m evals.perf.bench_ingest --set covid-qa-dev    # 66 whole papers
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.perf.llama_baseline import from_documents, load_embedder, model_folder, open_collection
from evals.perf.recording_embedder import RecordingEmbedder
from evals.perf.table import Metric, render, summarize
from index.embedding import Embedder, quiet_transformers
from index.loaders import is_supported
from rag import Assistant, Settings
from rag.config import EMBED_BACKENDS
from rag.parts import build_embedder, build_store

REPO = Path(__file__).resolve().parents[2]
SETS = {
    "xquad-en": Path("evaldata") / "xquad-en" / "xquad.en.json",
    "covid-qa-dev": Path("evaldata") / "covid-qa-dev" / "covid-qa-dev.json",
}
XQUAD = SETS["xquad-en"]
SEED = Path("corpus") / "seed"
FIXTURES = REPO / "tests" / "fixtures"
BASELINE_SCRIPT = REPO / "evals" / "perf" / "llama_baseline.py"
COLLECTION = "bench"


@dataclass(frozen=True)
class Corpus:
    """The paragraphs to ingest and the questions to ask about them."""

    paragraphs: tuple[str, ...]
    questions: tuple[str, ...]


@dataclass
class Models:
    """The models loaded once and shared by every repeat (warm), and how they are used."""

    raw: Any
    baseline: Any
    batch_size: int
    chunking: tuple[int, int]
    backend: str = "onnx"  # our embedder's backend (RAG_EMBED_BACKEND); the raw and baseline rows are PyTorch


METRICS: tuple[Metric, ...] = (
    Metric("cold_chunks_s", "a) ours, cold (model load + ingest)", "chunks/s"),
    Metric("cold_s", "a) ours, cold: time", "s"),
    Metric("ours_chunks_s", "a) ours, warm Assistant.ingest", "chunks/s"),
    Metric("ours_s", "a) ours, warm: time", "s"),
    Metric("raw_chunks_s", "b) raw SentenceTransformer.encode", "chunks/s"),
    Metric("overhead_pct", "b) pipeline overhead a/b - 1", "%", "<= 15%", lambda v: v <= 15.0),
    Metric("base_chunks_s", "c) llama-index from_documents", "chunks/s"),
    Metric("ratio", "c) ours warm / baseline (chunks/s)", "x", ">= 2x", lambda v: v >= 2.0),
    Metric("base2_s", "c) baseline 2nd from_documents: time", "s"),
    Metric("base2_count", "c) baseline collection count after 2nd", "rows"),
    Metric("reingest_s", "d) ours re-ingest unchanged: time", "s"),
    Metric("reingest_pct", "d) re-ingest / first ingest", "%", "< 3%", lambda v: v < 3.0),
    Metric("reingest_written", "d) re-ingest chunks written", "chunks", "== 0", lambda v: v == 0),
    Metric("ask_p50_ms", "e) warm ask p50", "ms", "< 100 ms", lambda v: v < 100.0),
    Metric("ask_p95_ms", "e) warm ask p95", "ms"),
    Metric("cmd_chunks_s", "f) `rag ingest DOCS`, whole process", "chunks/s"),
    Metric("cmd_s", "f) `rag ingest DOCS`: time", "s"),
    Metric("base_cmd_chunks_s", "f) llama-index script, whole process", "chunks/s"),
    Metric("base_cmd_s", "f) llama-index script: time", "s"),
    Metric("cmd_ratio", "f) ours / baseline, commands (chunks/s)", "x", ">= 2x", lambda v: v >= 2.0),
)


# -- inputs ------------------------------------------------------------------------------


def shared_dir(cli_value: str | None) -> Path:
    """--shared, else $RAG_DATA_DIR (or its older name $RAG_SHARED_DIR), else ../shared beside the repo."""
    env = os.environ
    raw = cli_value or env.get("RAG_DATA_DIR") or env.get("RAG_SHARED_DIR") or str(REPO.parent / "shared")
    return Path(raw).expanduser().resolve()


def load_corpus(path: Path, limit: int | None, n_questions: int) -> Corpus:
    """Paragraph texts of a SQuAD-format file and one question from evenly spaced paragraphs."""
    if not path.is_file():
        raise SystemExit(f"{path} not found: give the data folder with --shared or RAG_DATA_DIR "
                         "(rag data fetch xquad-en gets the file)")
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs = [p for article in data["data"] for p in article["paragraphs"]][:limit]
    count = min(n_questions, len(paragraphs))
    picked = [paragraphs[i * len(paragraphs) // count] for i in range(count)]
    return Corpus(
        tuple(p["context"] for p in paragraphs),
        tuple(p["qas"][0]["question"] for p in picked if p["qas"]),
    )


def write_corpus(paragraphs: Sequence[str], folder: Path, shared: Path | None = None) -> list[str]:
    """One .txt file per paragraph, the fixture documents and the seed article; returns what was added."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(paragraphs):
        (folder / f"paragraph-{i:04d}.txt").write_text(text, encoding="utf-8")
    extra = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and is_supported(p))
    if shared is not None and (shared / SEED).is_dir():
        extra += sorted(p for p in (shared / SEED).iterdir() if p.suffix == ".txt")
    for path in extra:
        shutil.copyfile(path, folder / f"extra-{path.name}")
    return [p.name for p in extra]


# -- our pipeline ------------------------------------------------------------------------


def settings_for(index_dir: Path, models: Models) -> Settings:
    return Settings(
        index_dir=str(index_dir), collection=COLLECTION, embed_batch_size=models.batch_size,
        chunk_size=models.chunking[0], chunk_overlap=models.chunking[1], embed_backend=models.backend,
    )


def open_assistant(index_dir: Path, embedder: Embedder, models: Models) -> Assistant:
    """An Assistant on a fresh embedded Chroma folder, built as rag.parts builds it."""
    settings = settings_for(index_dir, models)
    return Assistant.from_parts(store=build_store(settings), embedder=embedder, settings=settings)


def timed_ingest(assistant: Assistant, docs: Path) -> tuple[float, int]:
    """Seconds and chunks written by one ``Assistant.ingest``."""
    started = time.perf_counter()
    report = assistant.ingest([docs])
    seconds = time.perf_counter() - started
    if report.failed:
        raise SystemExit(f"ingest failed on {len(report.failed)} files: {report.failed[:3]}")
    return seconds, report.chunks_written


def ask_latencies(assistant: Assistant, questions: Sequence[str]) -> list[float]:
    """Milliseconds of each ``ask``, after one warm-up question."""
    assistant.ask(questions[0])
    out: list[float] = []
    for question in questions:
        started = time.perf_counter()
        assistant.ask(question)
        out.append((time.perf_counter() - started) * 1000)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (pure)."""
    ordered = sorted(values)
    rank = min(max(1, math.ceil(q / 100 * len(ordered))), len(ordered))
    return ordered[rank - 1]


# -- raw encode and the llama-index baseline ---------------------------------------------


def set_threads(threads: int) -> int:
    """Set torch's intra-op threads when asked (0 keeps its default); returns the count in use."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    return int(torch.get_num_threads())


def load_raw_model(folder: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(folder, device="cpu", local_files_only=True)


def timed_encode(model: Any, texts: Sequence[str], batch_size: int) -> float:
    started = time.perf_counter()
    model.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True,
        show_progress_bar=False, convert_to_numpy=True,
    )
    return time.perf_counter() - started


def timed_baseline(docs: Path, collection: Any, embed_model: Any, chunking: tuple[int, int]) -> float:
    started = time.perf_counter()
    from_documents(docs, collection, embed_model, chunking)
    return time.perf_counter() - started


def run_baseline(docs: Path, work: Path, embed_model: Any, chunking: tuple[int, int]) -> dict[str, float]:
    """First and second ``from_documents`` into a fresh Chroma collection."""
    collection = open_collection(work)
    first = timed_baseline(docs, collection, embed_model, chunking)
    chunks = int(collection.count())
    second = timed_baseline(docs, collection, embed_model, chunking)
    return {
        "base_s": first, "base_chunks": chunks, "base_chunks_s": chunks / first,
        "base2_s": second, "base2_count": int(collection.count()),
    }


def timed_command(args: Sequence[str]) -> tuple[float, str]:
    """Seconds from spawn to exit of one command, and what it printed; SystemExit when it fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done.stdout


def run_commands(docs: Path, work: Path, models: Models, chunks: int) -> dict[str, float]:
    """``rag ingest`` and the llama-index script as fresh processes, into fresh folders."""
    size, overlap = models.chunking
    ours_s, _ = timed_command([
        str(Path(sys.executable).parent / "rag"), "ingest", str(docs), "--index", str(work / "cmd"),
        "--quiet", "--embed-backend", models.backend, "--chunk-size", str(size), "--chunk-overlap", str(overlap),
    ])
    base_s, out = timed_command([
        sys.executable, str(BASELINE_SCRIPT), str(docs), str(work / "base-cmd"),
        "--batch-size", str(models.batch_size), "--chunk-size", str(size), "--chunk-overlap", str(overlap),
    ])
    nodes = int(out.split()[-1])
    return {
        "cmd_s": ours_s, "cmd_chunks_s": chunks / ours_s, "base_cmd_s": base_s,
        "base_cmd_chunks_s": nodes / base_s, "cmd_ratio": (chunks / ours_s) / (nodes / base_s),
    }


# -- one repeat --------------------------------------------------------------------------


def run_ours(docs: Path, work: Path, models: Models, questions: Sequence[str]) -> dict[str, Any]:
    """Cold, warm, raw-encode, re-ingest and ask numbers of one repeat."""
    cold = build_embedder(settings_for(work / "cold", models))  # not loaded yet
    cold_s, cold_chunks = timed_ingest(open_assistant(work / "cold", cold, models), docs)
    recorder = RecordingEmbedder(cold)  # now loaded: warm
    assistant = open_assistant(work / "warm", recorder, models)
    ours_s, chunks = timed_ingest(assistant, docs)
    texts = list(recorder.texts)  # before ask() embeds answer sentences through it too
    if len(texts) != chunks:
        raise SystemExit(f"ingest wrote {chunks} chunks but embedded {len(texts)} texts")
    raw_s = timed_encode(models.raw, texts, models.batch_size)
    reingest_s, written = timed_ingest(assistant, docs)
    asks = ask_latencies(assistant, questions)
    return {
        "chunks": chunks, "cold_s": cold_s, "cold_chunks_s": cold_chunks / cold_s,
        "ours_s": ours_s, "ours_chunks_s": chunks / ours_s,
        "raw_s": raw_s, "raw_chunks_s": len(texts) / raw_s,
        "overhead_pct": (ours_s / raw_s - 1) * 100,
        "reingest_s": reingest_s, "reingest_pct": reingest_s / ours_s * 100,
        "reingest_written": written,
        "ask_p50_ms": percentile(asks, 50), "ask_p95_ms": percentile(asks, 95),
    }


def run_once(docs: Path, models: Models, questions: Sequence[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        row = run_ours(docs, work, models, questions)
        row.update(run_baseline(docs, work / "baseline", models.baseline, models.chunking))
        row.update(run_commands(docs, work, models, row["chunks"]))
    row["ratio"] = row["ours_chunks_s"] / row["base_chunks_s"]
    return row


# -- report ------------------------------------------------------------------------------


def describe(
    corpus: Corpus, extra: Sequence[str], runs: Sequence[dict[str, Any]], args: argparse.Namespace, threads: int
) -> str:
    first = runs[0]
    return (
        f"{args.set}: {len(corpus.paragraphs)} paragraphs + {len(extra)} other files -> {first['chunks']} chunks "
        "(ours), "
        f"{first['base_chunks']} nodes (baseline); {len(corpus.questions)} questions; "
        f"repeat={args.repeat}, batch_size={args.batch_size}, chunk {args.chunk_size}/{args.chunk_overlap}, "
        f"torch threads={threads}, our embedder: {args.embed_backend}"
    )


# -- main --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", help="the data folder (default: $RAG_DATA_DIR, else ../shared)")
    parser.add_argument("--set", choices=sorted(SETS), default="xquad-en",
                        help="the SQuAD-format set whose paragraphs are the corpus (default xquad-en)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the table shows medians (default 3)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N paragraphs")
    parser.add_argument("--questions", type=int, default=30, help="questions for the ask latency (30)")
    parser.add_argument("--batch-size", type=int, default=Settings.embed_batch_size)
    parser.add_argument("--chunk-size", type=int, default=Settings.chunk_size)
    parser.add_argument("--chunk-overlap", type=int, default=Settings.chunk_overlap)
    parser.add_argument(
        "--threads", type=int, default=0,
        help="torch CPU threads for every contender (default 0: torch's own choice)",
    )
    parser.add_argument("--embed-backend", choices=EMBED_BACKENDS, default=Settings.embed_backend,
                        help="our embedder: onnx (default), onnx-int8 or torch (the README's table: torch)")
    parser.add_argument("--json", type=Path, help="also save the runs and the summary here")
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.limit is not None and args.limit < 1) or args.questions < 1:
        parser.error("--repeat, --limit and --questions must be at least 1")
    if args.threads < 0:
        parser.error(f"--threads ({args.threads}) must be 0 (torch's default) or more")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    shared = shared_dir(args.shared)
    corpus = load_corpus(shared / SETS[args.set], args.limit, args.questions)
    threads = set_threads(args.threads)
    quiet_transformers()  # no "Loading weights" bars between the table's runs
    folder = model_folder()
    models = Models(
        raw=load_raw_model(folder),
        baseline=load_embedder(folder, args.batch_size),
        batch_size=args.batch_size,
        chunking=(args.chunk_size, args.chunk_overlap),
        backend=args.embed_backend,
    )
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-docs-") as tmp:
        docs = Path(tmp) / args.set
        extra = write_corpus(corpus.paragraphs, docs, shared)
        # The ONNX files are made (once per model) before any clock starts.
        build_embedder(settings_for(Path(tmp) / "warm-up", models)).embed_documents(["warm up"])
        for i in range(args.repeat):
            runs.append(run_once(docs, models, corpus.questions))
            print(f"run {i + 1}/{args.repeat} done", flush=True)
    summary = summarize(METRICS, runs)
    print(describe(corpus, extra, runs, args, threads))
    print(render(summary))
    if args.json is not None:
        payload = {"config": {k: str(v) for k, v in vars(args).items()}, "runs": runs, "summary": summary}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
