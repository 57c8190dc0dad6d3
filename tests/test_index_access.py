"""Other processes' writes seen by a long-running Assistant; read-only and corrupt index folders."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index.state import IndexState, segment_stats, unexpected_changes
from rag import Assistant
from tests.index_support import SMALL_CHUNK_ARGS, SMALL_CHUNKS, rag, write_corpus

NEEDLE = "The zeppelin hangar of Quillport was rebuilt in copper after the storm of 1911."
QUESTION = "Where was the zeppelin hangar rebuilt in copper?"


def test_unexpected_changes_compares_saved_segment_files_with_the_record() -> None:
    saved = {"index_metadata.pickle": [50, 1], "data_level0.bin": [10, 1]}
    recorded = IndexState(3, {"seg": saved})
    assert unexpected_changes(recorded, {"seg": dict(saved)}) == []
    assert unexpected_changes(recorded, {"seg": {**saved, "data_level0.bin": [5, 2]}}) == [
        "seg/data_level0.bin: changed since the last recorded write"
    ]
    assert unexpected_changes(recorded, {}) == ["seg: the segment folder is missing"]
    assert unexpected_changes(recorded, {"seg": {"data_level0.bin": [10, 1]}}) == ["seg/index_metadata.pickle: missing"]
    assert unexpected_changes(None, {"seg": saved}) == ["seg: no record of the last write"]
    assert unexpected_changes(None, {}) == []
    # a segment recorded before Chroma first saved it has nothing to compare
    assert unexpected_changes(IndexState(1, {"seg": {"header.bin": [100, 1]}}), {}) == []


def test_segments_never_saved_are_left_out(tmp_path: Path) -> None:
    """Chroma rewrites an unsaved segment's files in every process that opens it: not damage."""
    saved = tmp_path / "0b6f5e0c-1f0e-4a55-9d4c-3a8f3f0a9c11"
    unsaved = tmp_path / "7d1d0c8e-2b4a-4c6e-8f3d-5e9a1b2c3d4e"
    for folder in (saved, unsaved):
        folder.mkdir()
        (folder / "data_level0.bin").write_bytes(b"x" * 10)
    (saved / "index_metadata.pickle").write_bytes(b"p")
    assert set(segment_stats(tmp_path)) == {saved.name}


@pytest.mark.slow
def test_a_long_running_assistant_finds_what_another_process_added(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    """Finding 5: a document added by `rag ingest` in another process was listed by sources()
    but never found by dense retrieval until the first process restarted."""
    index = tmp_path / "index"
    a = make_assistant(index, retrieval="dense", **SMALL_CHUNKS)
    assert a.ingest([write_corpus(tmp_path / "docs", files=6, sentences=4)]).ok
    assert not any("Quillport" in h.chunk.text for h in a.retrieve(QUESTION, top_k=3))  # loads its vectors
    later = tmp_path / "later"
    later.mkdir()
    (later / "needle.txt").write_text(NEEDLE, "utf-8")
    done = rag("ingest", later, "--index", index, "--quiet", *SMALL_CHUNK_ARGS)
    assert done.returncode == 0, done.stderr
    assert any(r.display == "needle.txt" for r in a.sources())
    time.sleep(1.5)  # past the one-second interval between checks for other processes' writes
    hits = a.retrieve(QUESTION, top_k=3)
    assert hits and "Quillport" in hits[0].chunk.text


@pytest.fixture
def read_only_index(make_assistant: Callable[..., Assistant], tmp_path: Path) -> Iterator[Path]:
    index = tmp_path / "index"
    docs = write_corpus(tmp_path / "docs", files=3, sentences=3)
    (docs / "needle.txt").write_text(NEEDLE, "utf-8")
    assert make_assistant(index, **SMALL_CHUNKS).ingest([docs]).ok
    view = tmp_path / "read-only"
    view.mkdir()
    bind = subprocess.run(["mount", "--bind", str(index), str(view)], capture_output=True, text=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot bind-mount a read-only view (needs root): {bind.stderr.strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True, text=True)
        if ro.returncode != 0:
            pytest.skip(f"cannot remount read-only: {ro.stderr.strip()}")
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


@pytest.mark.slow
def test_a_read_only_index_answers_and_refuses_writes_clearly(read_only_index: Path, tmp_path: Path) -> None:
    """Finding 8: a read-only index folder failed even for `status`."""
    status = rag("status", "--index", read_only_index)
    assert status.returncode == 0, status.stderr
    assert "documents:  4" in status.stdout
    sources = rag("sources", "--index", read_only_index)
    assert sources.returncode == 0 and "needle.txt" in sources.stdout
    ask = rag("ask", QUESTION, "--index", read_only_index)
    assert ask.returncode == 0 and "Quillport" in ask.stdout, ask.stderr
    other = write_corpus(tmp_path / "other", files=1, sentences=2, prefix="o")
    ingest = rag("ingest", other, "--index", read_only_index, "--quiet", *SMALL_CHUNK_ARGS)
    assert ingest.returncode == 1 and "Traceback" not in ingest.stderr
    assert f"the index folder {read_only_index} is read-only" in ingest.stderr


@pytest.mark.slow
def test_a_corrupt_database_names_the_folder_to_delete(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    """Finding 8: on a corrupt sqlite file `rag reset` failed too, without saying to delete the folder."""
    index = tmp_path / "index"
    assert make_assistant(index, **SMALL_CHUNKS).ingest([write_corpus(tmp_path / "docs", files=2, sentences=2)]).ok
    db = index / "chroma.sqlite3"
    with db.open("r+b") as fh:
        fh.write(b"this is no longer a database" * 4)
    for command in (["status"], ["sources"], ["ask", "what is recorded?"], ["check"], ["repair"], ["reset", "--yes"]):
        done = rag(*command, "--index", index)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert f"delete the folder (rm -r {index})" in done.stderr and "Traceback" not in done.stderr, command
