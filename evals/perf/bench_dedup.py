"""Repeated text: whole ``rag ingest`` processes against the llama-index baseline.

Two corpora are written to a temporary folder at run time (nothing is read from the repo
or the data folder):

a) one 10 MB text file of a single word repeated (``word word word ...``): thousands of
   chunks with three distinct texts between them (the first, the middle ones, the last);
b) a boilerplate-heavy folder: ``--files`` memos, each a licence header of about 500
   tokens (a few chunks) and a signature footer shared by all, around a short paragraph
   of its own.

Each repeat runs, as fresh processes timed from spawn to exit, into fresh folders:
``rag ingest`` over (a) and (b), and ``python evals/perf/llama_baseline.py`` (llama-index
``VectorStoreIndex.from_documents`` + Chroma + the same model, what a user would otherwise
write) over (b) and over a ``--slice-mb`` prefix of (a): at the baseline's speed the whole
10 MB takes hours a run, so its row says "slice", and the 10 MB estimate is its start-up
(timed on a one-line file) plus its per-MB rate over the slice times 10 (its work grows
linearly with the text). A baseline
run is stopped after ``--timeout`` seconds and reported as that many seconds at least.
CPU time (user + sys, steadier than wall time on a shared machine) and peak RSS come from
``wait4``: the process and the reader processes it waited for (RSS: the largest of them). Run from the repo:

    nice -n 5 .venv/bin/python -m evals.perf.bench_dedup --repeat 3
    .venv/bin/python -m evals.perf.bench_dedup --repeat 1 --mb 1 --files 40   # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.perf.table import Metric, render, summarize

REPO = Path(__file__).resolve().parents[2]
BASELINE_SCRIPT = REPO / "evals" / "perf" / "llama_baseline.py"
TARGET_SECONDS = 30.0
_SUMMARY = re.compile(r"; (\d+) chunks embedded in [\d.]+s(?: \((\d+) reused)?")

CLAUSES = (
    "This memo is the property of Northwind Traders Ltd. and is meant only for the people it is addressed to.",
    "If you received it by mistake, tell the sender at once and delete every copy you hold.",
    "Copying, forwarding or printing it without the written permission of the legal department is forbidden.",
    "Figures in it are estimates and bind the company only once confirmed in a signed purchase order.",
    "Personal data in it is handled under the company's privacy notice, available from the front desk.",
)
HEADER = "CONFIDENTIAL. " + " ".join(f"Clause {n}: {CLAUSES[n % len(CLAUSES)]}" for n in range(1, 21)) + "\n\n"
FOOTER = (
    "\n\nKind regards,\nThe Northwind Traders operations team\n"
    "This message was checked for viruses before it was sent. Northwind Traders accepts no "
    "liability for damage caused by software viruses. Please consider the environment before "
    "printing this memo.\n"
)
VOCAB = (
    "harbour lantern orchard glacier compass ledger meadow quarry beacon canyon "
    "saddle tunnel violin furnace pepper marble ribbon walnut anchor prism"
).split()


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_s: float  # user + sys of the process and the children it waited for (steadier on a busy machine)
    peak_rss_mb: float
    stdout: str
    finished: bool  # False: stopped at the time limit


def write_word_file(folder: Path, megabytes: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "word.txt"
    path.write_text("word " * int(megabytes * 1_000_000 / 5), encoding="utf-8")
    return path


def write_memos(folder: Path, files: int, seed: int = 5) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        body = " ".join(
            f"Shipment {i}.{k} moved the {rng.choice(VOCAB)} past the {rng.choice(VOCAB)} on day {rng.randint(1, 365)}."
            for k in range(3)
        )
        (folder / f"memo-{i:04d}.txt").write_text(HEADER + body + FOOTER, encoding="utf-8")
    return folder


def run(args: Sequence[str], timeout: float) -> Run:
    """One process from spawn to exit (or to ``timeout``, then stopped), with its peak RSS."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(list(args), stdout=out, stderr=err, env=env, text=True, start_new_session=True)
        finished = True
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                finished = False
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if finished and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {stderr[-2000:]}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, finished)


def rag_ingest(docs: Path, index: Path, timeout: float) -> tuple[Run, int, int]:
    """``rag ingest`` as a user types it; returns the run, chunks written and chunks reused."""
    rag = str(Path(sys.executable).parent / "rag")
    done = run([rag, "ingest", str(docs), "--index", str(index), "--quiet"], timeout)
    match = _SUMMARY.search(done.stdout)
    if match is None:
        raise SystemExit(f"rag ingest printed no summary: {done.stdout[-500:]}")
    return done, int(match.group(1)), int(match.group(2) or 0)


def baseline(docs: Path, chroma: Path, timeout: float) -> Run:
    return run([sys.executable, str(BASELINE_SCRIPT), str(docs), str(chroma)], timeout)


@dataclass(frozen=True)
class Corpora:
    word: Path
    word_mb: float
    word_slice: Path
    slice_mb: float
    memos: Path
    tiny: Path  # one line: the baseline's start-up


def one_repeat(work: Path, docs: Corpora, timeout: float) -> dict[str, Any]:
    row: dict[str, Any] = {}
    word, chunks, reused = rag_ingest(docs.word, work / "word-index", timeout)
    row |= {"word_s": word.seconds, "word_cpu_s": word.cpu_s, "word_rss_mb": word.peak_rss_mb, "word_chunks": chunks,
            "word_embedded": chunks - reused}
    memo, chunks, reused = rag_ingest(docs.memos, work / "memo-index", timeout)
    row |= {"memo_s": memo.seconds, "memo_cpu_s": memo.cpu_s, "memo_rss_mb": memo.peak_rss_mb, "memo_chunks": chunks,
            "memo_embedded": chunks - reused}
    startup = baseline(docs.tiny, work / "base-tiny", timeout).seconds
    base = baseline(docs.word_slice, work / "base-word", timeout)
    per_mb = max(0.0, base.seconds - startup) / docs.slice_mb
    row |= {"base_startup_s": startup, "base_slice_s": base.seconds, "base_slice_cpu_s": base.cpu_s,
            "base_slice_rss_mb": base.peak_rss_mb,
            "base_slice_finished": base.finished, "base_word_est_s": startup + per_mb * docs.word_mb}
    base = baseline(docs.memos, work / "base-memo", timeout)
    row |= {"base_memo_s": base.seconds, "base_memo_cpu_s": base.cpu_s, "base_memo_rss_mb": base.peak_rss_mb,
            "base_memo_finished": base.finished}
    row["word_ratio"] = row["base_word_est_s"] / row["word_s"]
    row["memo_ratio"] = row["base_memo_s"] / row["memo_s"]
    return row


def metrics(mb: float, slice_mb: float, files: int) -> list[Metric]:
    return [
        Metric("word_s", f"a) rag ingest, {mb:g} MB of one word", "s", f"< {TARGET_SECONDS:g}",
               lambda v: v < TARGET_SECONDS),
        Metric("word_cpu_s", "a) its CPU time (user + sys)", "s", f"< {TARGET_SECONDS:g}",
               lambda v: v < TARGET_SECONDS),
        Metric("word_rss_mb", "a) peak RSS", "MB"),
        Metric("word_chunks", "a) chunks written", ""),
        Metric("word_embedded", "a) texts the model embedded", ""),
        Metric("base_startup_s", "a) llama-index baseline, start-up (one line)", "s"),
        Metric("base_slice_s", f"a) llama-index baseline, {slice_mb:g} MB slice", "s"),
        Metric("base_slice_cpu_s", "a) its CPU time (slice)", "s"),
        Metric("base_slice_rss_mb", "a) baseline peak RSS (slice)", "MB"),
        Metric("base_word_est_s", f"a) baseline for {mb:g} MB (estimated from the slice)", "s"),
        Metric("word_ratio", "a) baseline estimate / rag ingest", "x"),
        Metric("memo_s", f"b) rag ingest, {files} boilerplate memos", "s"),
        Metric("memo_cpu_s", "b) its CPU time", "s"),
        Metric("memo_rss_mb", "b) peak RSS", "MB"),
        Metric("memo_chunks", "b) chunks written", ""),
        Metric("memo_embedded", "b) texts the model embedded", ""),
        Metric("base_memo_s", "b) llama-index baseline", "s"),
        Metric("base_memo_cpu_s", "b) its CPU time", "s"),
        Metric("base_memo_rss_mb", "b) baseline peak RSS", "MB"),
        Metric("memo_ratio", "b) baseline / rag ingest", "x"),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the table shows medians (default 3)")
    parser.add_argument("--mb", type=float, default=10.0, help="size of the one-word file (10)")
    parser.add_argument("--slice-mb", type=float, default=0.25, help="the baseline's prefix of it (0.25)")
    parser.add_argument("--files", type=int, default=100, help="boilerplate memos (100)")
    parser.add_argument("--timeout", type=float, default=900.0, help="stop a run after this many seconds (900)")
    parser.add_argument("--json", type=Path, help="also save the runs and the summary here")
    args = parser.parse_args(argv)
    slice_mb = min(args.slice_mb, args.mb)
    with tempfile.TemporaryDirectory(prefix="rag-dedup-") as tmp:
        root = Path(tmp)
        write_word_file(root / "word", args.mb)
        write_word_file(root / "word-slice", slice_mb)
        (root / "tiny").mkdir()
        (root / "tiny" / "one.txt").write_text("One line.", encoding="utf-8")
        docs = Corpora(root / "word", args.mb, root / "word-slice", slice_mb, write_memos(root / "memos", args.files),
                       root / "tiny")
        runs = []
        for i in range(args.repeat):
            work = root / f"run-{i}"
            work.mkdir()
            runs.append(one_repeat(work, docs, args.timeout))
            print(f"repeat {i + 1}/{args.repeat}: {json.dumps({k: round(v, 2) for k, v in runs[-1].items()})}",
                  file=sys.stderr, flush=True)
    summary = summarize(metrics(args.mb, slice_mb, args.files), runs)
    stopped = sum(1 for r in runs for k in ("base_slice_finished", "base_memo_finished") if not r[k])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"repeated text: repeat={args.repeat}, {os.cpu_count()} cores, load {load:.1f} at the end")
    print(render(summary))
    if stopped:
        print(f"{stopped} baseline run(s) were stopped at {args.timeout:g} s: their times are lower bounds")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": summary}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
