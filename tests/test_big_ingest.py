"""Big files stream into the index: batches under Chroma's limit, flat memory, resumable, timed out.

Big files are generated here (tmp_path), never committed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from index.extract_worker import Extractor
from index.ingest import consistency_problems
from index.loaders import load_file
from rag import Assistant
from tests.test_interrupted_ingest import ProgressWatcher, Snapshot, snapshot

pytestmark = pytest.mark.slow

RAG = Path(sys.executable).parent / "rag"
VOCAB = (
    "harbour lantern orchard glacier compass ledger meadow quarry beacon canyon "
    "saddle tunnel violin furnace pepper marble ribbon walnut anchor prism"
).split()
SMALL = {"chunk_size": 16, "chunk_overlap": 0}  # many chunks from little text: cheap to embed


def sentences(count: int, seed: int) -> str:
    """``count`` distinct short sentences (one 16-token chunk each, about)."""
    rng = random.Random(seed)
    return " ".join(f"Item {i} is a {rng.choice(VOCAB)} {rng.choice(VOCAB)}." for i in range(count))


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {"PYTHONUNBUFFERED": "1"}


def test_a_file_of_more_chunks_than_one_chroma_batch_is_ingested_with_the_rest(
    tmp_path: Path, make_assistant: Callable[..., Assistant]
) -> None:
    # Before: "Batch size of 8929 is greater than max batch size of 5461", and no file was ingested.
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "big.txt").write_text(sentences(6000, 1), "utf-8")
    (folder / "small.txt").write_text("The small file speaks of a violin in a tunnel.", "utf-8")
    assistant = make_assistant(**SMALL)
    limit = assistant._store.max_batch_size()
    assert limit < 6000
    report = assistant.ingest([folder])
    assert report.ok, report.failed
    assert len(report.added) == 2
    records = {Path(r.source).name: r for r in assistant.sources()}
    assert records["big.txt"].chunks > limit
    assert report.chunks_written == records["big.txt"].chunks + records["small.txt"].chunks
    assert assistant.check() == []
    hits = assistant.retrieve("Item 5999", top_k=3)
    assert any("Item 5999 " in h.chunk.text for h in hits)


def start(corpus: Path, index_dir: Path, *extra: str) -> tuple[subprocess.Popen[bytes], ProgressWatcher]:
    proc = subprocess.Popen(
        [str(RAG), "ingest", str(corpus), "--index", str(index_dir),
         "--chunk-size", str(SMALL["chunk_size"]), "--chunk-overlap", str(SMALL["chunk_overlap"]), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(),
    )
    return proc, ProgressWatcher(proc)


def wait_for_file_bar(watcher: ProgressWatcher, timeout: float) -> None:
    """Until the bar of the big file shows progress past its first batch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watcher.proc.poll() is not None:
            pytest.fail(f"ingest ended before it could be killed: {watcher.text()[-2000:]}")
        if "big.txt:" in watcher.text() and "char" in watcher.text():
            return
        time.sleep(0.05)
    pytest.fail(f"no progress bar for the big file in {timeout}s: {watcher.text()[-2000:]}")


def kill_in_the_big_file(corpus: Path, index_dir: Path) -> None:
    """Run `rag ingest` in a child process and SIGKILL it once the big file's own bar moves."""
    proc, watcher = start(corpus, index_dir)
    try:
        wait_for_file_bar(watcher, timeout=600)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    watcher.finish()
    assert proc.returncode == -signal.SIGKILL


def test_killed_in_the_middle_of_a_big_file_then_rerun_converges(
    tmp_path: Path, make_assistant: Callable[..., Assistant]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a-first.txt").write_text("The first file is about a quarry near a meadow.", "utf-8")
    (corpus / "big.txt").write_text(sentences(1500, 2), "utf-8")
    (corpus / "z-last.txt").write_text("The last file is about a furnace and pepper.", "utf-8")

    clean_dir = tmp_path / "clean"
    clean_report = make_assistant(index_dir=clean_dir, **SMALL).ingest([corpus])
    assert clean_report.ok
    clean: Snapshot = snapshot(clean_dir)
    big_chunks = next(r.chunks for r in make_assistant(index_dir=clean_dir, **SMALL).sources()
                      if r.display == "big.txt")
    assert big_chunks > 2 * 256  # several batches

    killed_dir = tmp_path / "killed"
    kill_in_the_big_file(corpus, killed_dir)
    half = snapshot(killed_dir)
    big = str(corpus / "big.txt")
    assert half.states.get("pending") == 1, half.states  # the big file, half written
    assert 0 < half.chunk_count < clean.chunk_count
    assert big in half.documents

    assistant = make_assistant(index_dir=killed_dir, **SMALL)
    report = assistant.ingest([corpus])
    assert report.ok and big in report.recovered and big in report.added
    after = snapshot(killed_dir)
    assert after.documents == clean.documents
    assert after.chunk_ids == clean.chunk_ids
    assert after.states == {"complete": 3}
    assert consistency_problems(assistant._store) == []


MEASURE = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(done.returncode)"
)


def peak_rss_kb(args: list[str]) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run ``args`` and return the peak resident memory (KB) of it and of the children it waited for."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True,
                          timeout=1500, env=clean_env())
    peak = int(done.stderr.strip().splitlines()[-1])
    return peak, done


def test_ten_mb_of_one_repeated_word_streams_in_flat_memory(tmp_path: Path) -> None:
    # One "sentence" of 2 million words. Before, the chunker held every word, its string
    # and its count at once (and the splitter went quadratic on long texts).
    def ingest_peak(name: str, text: str) -> int:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "word.txt").write_text(text, "utf-8")
        (folder / "after.txt").write_text("The file after the big one mentions a prism.", "utf-8")
        args = [str(RAG), "ingest", str(folder), "--index", str(tmp_path / f"{name}-index"), "--quiet",
                "--chunk-size", "2000", "--chunk-overlap", "0"]
        peak, done = peak_rss_kb(args)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "2 added" in done.stdout
        return peak

    small = ingest_peak("small", "word " * 1_500)  # one full-length passage: the model's own working set
    big = ingest_peak("big", "word " * 2_000_000)
    # What the big file adds over one passage: its text, one batch, and the lexical index, which
    # today holds every token of the file in memory while it is saved as JSON (issue 14 replaces
    # it). Measured here: 296 MB for one passage against 1,290 MB (ONNX embedder); the old code
    # peaked at 4,160 MB, holding every word, chunk and vector of the file at once.
    assert big - small < 1_300_000, f"peak RSS {big / 1000:.0f} MB against {small / 1000:.0f} MB for one passage"


def test_a_file_over_the_time_limit_is_reported_and_the_rest_ingested(
    tmp_path: Path, make_assistant: Callable[..., Assistant]
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    # About 20 s of parsing here: far over a 1 s limit, on any machine.
    rows = "".join(f"<tr><td>row {i}</td><td>{VOCAB[i % 20]}</td></tr>" for i in range(500_000))
    (folder / "slow.html").write_text(f"<html><body><table>{rows}</table></body></html>", "utf-8")
    for i in range(3):
        (folder / f"note{i}.txt").write_text(f"Note {i} is about a {VOCAB[i]}.", "utf-8")
    assistant = make_assistant(file_timeout=1.0)
    report = assistant.ingest([folder])
    assert [Path(f.path).name for f in report.failed] == ["slow.html"]
    assert "took longer than 1 s to read" in report.failed[0].reason
    assert "--file-timeout" in report.failed[0].reason
    assert len(report.added) == 3
    assert assistant.check() == []


def test_the_reader_process_reports_errors_and_survives_them(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Plain words.", "utf-8")
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    with Extractor(timeout=60) as extractor:
        assert extractor.load(good, 1000).text == "Plain words."
        with pytest.raises(Exception, match="empty file"):
            extractor.load(empty, 1000)
        assert extractor.load(good, 1000) == load_file(good, 1000)
    with Extractor(timeout=0) as in_process:
        assert in_process.load(good, 1000).text == "Plain words."
