"""Files are read and chunked in reader processes ahead of the ingest loop (index.prefetch)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from index.chunking import iter_chunk_pages
from index.discovery import FoundFile, discover
from index.extract_worker import SPAN_GROUP
from index.loaders import load_file
from index.models import Chunk
from index.prefetch import ReadAhead, default_workers
from rag import Assistant

CHUNKING = (32, 8)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def never(found: FoundFile, doc_hash: str) -> bool:
    return False


def local_spans(path: Path) -> list[tuple[int | None, int, int, int]]:
    text = load_file(path, 50_000_000)
    return [
        (page, s.start, s.end, s.tokens)
        for page, s in iter_chunk_pages(text.text, text.pages, chunk_size=CHUNKING[0], chunk_overlap=CHUNKING[1])
    ]


def notes(folder: Path, count: int) -> list[FoundFile]:
    folder.mkdir(exist_ok=True)
    for i in range(count):
        (folder / f"note{i:02d}.txt").write_text(f"Note {i} is about the lantern of district {i}. " * 3, "utf-8")
    return list(discover([folder], (), ()).files)


def test_every_format_comes_out_in_order_with_the_spans_this_process_would_make() -> None:
    files = list(discover([FIXTURES / "natural", FIXTURES / "corpus"], (), ()).files)
    assert {f.path.suffix for f in files} >= {".pdf", ".docx", ".html", ".md", ".txt"}
    with ReadAhead(files, never, max_bytes=50_000_000, timeout=60, chunking=CHUNKING, workers=2) as ahead:
        seen = []
        for item in ahead:
            assert item.extracted is not None, item.failure
            assert item.extracted == load_file(item.found.path, 50_000_000)
            got = [(page, s.start, s.end, s.tokens) for page, s in ahead.spans(item)]
            assert got == local_spans(item.found.path)
            seen.append(item.found)
    assert seen == files


def test_the_next_files_are_sent_to_the_readers_before_the_first_is_handed_out(tmp_path: Path) -> None:
    files = notes(tmp_path / "docs", 10)
    with ReadAhead(files, never, max_bytes=10_000, timeout=60, chunking=CHUNKING, workers=1, depth=4) as ahead:
        items = iter(ahead)
        first = next(items)
        assert first.found == files[0]
        assert ahead.in_flight == 4  # files 2-5 are being read while the caller writes file 1
        assert len(list(ahead.spans(first))) > 0
        rest = list(items)
    assert [i.found for i in rest] == files[1:]
    assert all(i.extracted is not None for i in rest)


def test_unchanged_files_are_hashed_not_read_and_failures_are_reported_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    files = notes(folder, 3)
    (folder / "note01.txt").write_bytes(b"")  # an empty file: the loader's own error
    files = list(discover([folder], (), ()).files)
    skip = files[2]
    with ReadAhead(
        files, lambda f, h: f == skip, max_bytes=10_000, timeout=60, chunking=CHUNKING, workers=1
    ) as ahead:
        items = list(ahead)
    assert [i.found for i in items] == files
    assert items[0].extracted is not None
    assert items[1].failure is not None and "empty file" in items[1].failure
    assert items[2].unchanged and items[2].extracted is None and len(items[2].doc_hash) == 64


def test_a_file_over_the_time_limit_fails_alone_and_the_files_queued_behind_it_are_read(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    rows = "".join(f"<tr><td>row {i}</td><td>lantern</td></tr>" for i in range(500_000))
    (folder / "a-slow.html").write_text(f"<html><body><table>{rows}</table></body></html>", "utf-8")
    files = [*discover([folder], (), ()).files, *notes(tmp_path / "more", 4)]
    with ReadAhead(files, never, max_bytes=50_000_000, timeout=1, chunking=CHUNKING, workers=1) as ahead:
        items = list(ahead)
    assert items[0].failure is not None and "took longer than 1 s to read" in items[0].failure
    assert [i.extracted is not None for i in items[1:]] == [True] * 4


def test_a_reader_dying_in_the_middle_of_the_spans_leaves_the_rest_to_this_process(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    sentences = " ".join(f"Sentence {i} mentions the harbour lantern of district {i}." for i in range(40_000))
    (folder / "long.txt").write_text(sentences, "utf-8")
    files = [*discover([folder], (), ()).files, *notes(tmp_path / "more", 2)]
    expected = local_spans(files[0].path)
    assert len(expected) > 2 * SPAN_GROUP
    with ReadAhead(files, never, max_bytes=50_000_000, timeout=60, chunking=CHUNKING, workers=1) as ahead:
        items = iter(ahead)
        big = next(items)
        spans = ahead.spans(big)
        got = [next(spans) for _ in range(SPAN_GROUP + 1)]
        (pid,) = ahead.reader_pids
        os.kill(pid, signal.SIGKILL)
        got += list(spans)
        rest = list(items)
        assert ahead.reader_pids != (pid,)  # a fresh reader took the files queued behind it
    assert [(p, s.start, s.end, s.tokens) for p, s in got] == expected
    assert [i.found for i in rest] == files[1:] and all(i.extracted is not None for i in rest)


def test_no_time_limit_reads_in_this_process(tmp_path: Path) -> None:
    files = notes(tmp_path / "docs", 3)
    with ReadAhead(files, never, max_bytes=10_000, timeout=0, chunking=CHUNKING) as ahead:
        items = list(ahead)
        assert ahead.reader_pids == ()
    assert all(i.extracted is not None for i in items)


@pytest.mark.parametrize(("cpus", "workers"), [(None, None), (1, 1), (2, 1), (4, 2), (64, 4)])
def test_default_workers_leave_cores_to_the_embedder(cpus: int | None, workers: int | None) -> None:
    if cpus is None:
        assert 1 <= default_workers() <= 4
    else:
        assert default_workers(cpus) == workers


@pytest.mark.slow
def test_an_ingest_through_the_readers_builds_the_index_reading_in_process_builds(
    tmp_path: Path, make_assistant: Callable[..., Assistant]
) -> None:
    folder = tmp_path / "docs"
    notes(folder, 12)
    for path in sorted((FIXTURES / "natural").iterdir()):
        if path.suffix != ".py":
            (folder / path.name).write_bytes(path.read_bytes())
    (folder / "empty.md").write_bytes(b"")

    def build(file_timeout: float) -> dict[str, list[Chunk]]:
        assistant = make_assistant(file_timeout=file_timeout, chunk_size=48, chunk_overlap=8)
        report = assistant.ingest([folder])
        assert [Path(f.path).name for f in report.failed] == ["empty.md"]
        assert assistant.check() == []
        chunks = assistant._store.chunks_of(list(assistant._store.documents()))
        return {source: sorted(found, key=lambda c: c.position) for source, found in chunks.items()}

    ahead, here = build(60), build(0)
    assert ahead == here and len(ahead) == 17
