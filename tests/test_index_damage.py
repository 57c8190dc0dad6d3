"""Damaged vector segment files and a full disk: found, never a crash, repaired with nothing lost.

One index of 2,000 chunks is built once (Chroma saves its HNSW files only every 1,000
records, so a smaller index keeps everything in its log and no file damage would show)
and copied for each kind of damage.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.embedding import SentenceTransformerEmbedder
from index.errors import IndexDamagedError
from index.store import ChromaStore
from rag import Assistant, Settings
from tests.index_support import SMALL_CHUNK_ARGS, SMALL_CHUNKS, rag, vector_segment_dirs, write_corpus

pytestmark = pytest.mark.slow

QUERIES = (
    "the harbour beside the glacier",
    "a violin and the furnace of the ward",
    "the quarry next to the beacon",
    "marble, ribbon and walnut",
    "the anchor near the prism and the tunnel",
)
FILES, SENTENCES = 50, 40


def _open(index: Path, embedder: SentenceTransformerEmbedder) -> Assistant:
    settings = Settings(index_dir=str(index), retrieval="dense", **SMALL_CHUNKS)  # type: ignore[arg-type]
    return Assistant.from_parts(store=ChromaStore.persistent(str(index)), embedder=embedder, settings=settings)


def _dense(a: Assistant) -> dict[str, list[str]]:
    return {q: [h.chunk.id for h in a.retrieve(q, top_k=5)] for q in QUERIES}


@pytest.fixture(scope="module")
def base(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> tuple[Path, Path, dict[str, list[str]]]:
    """(documents, index, the dense top 5 of each query) of the intact index."""
    root = tmp_path_factory.mktemp("damage-base")
    docs = write_corpus(root / "docs", FILES, SENTENCES)
    index = root / "index"
    a = _open(index, embedder)
    report = a.ingest([docs])
    assert report.ok and report.chunks_written == FILES * SENTENCES
    assert (vector_segment_dirs(index)[0] / "index_metadata.pickle").is_file()  # saved HNSW files to damage
    return docs, index, _dense(a)


def _damaged_copy(index: Path, target: Path, how: str) -> Path:
    shutil.copytree(index, target)
    segment = vector_segment_dirs(target)[0]
    data = segment / "data_level0.bin"
    if how == "truncated":
        os.truncate(data, data.stat().st_size // 2)
    elif how == "deleted":
        shutil.rmtree(segment)
    elif how == "garbled":
        data.write_bytes(os.urandom(data.stat().st_size))
    else:
        raise AssertionError(how)
    return target


@pytest.mark.parametrize("how", ["truncated", "deleted"])
def test_a_damaged_vector_segment_is_reported_and_repaired(
    base: tuple[Path, Path, dict[str, list[str]]], tmp_path: Path, embedder: SentenceTransformerEmbedder, how: str
) -> None:
    """Finding 4: before, no error, `status` counted every chunk and dense results differed."""
    _, index, expected = base
    copy = _damaged_copy(index, tmp_path / "index", how)
    a = _open(copy, embedder)
    with pytest.raises(IndexDamagedError) as info:
        a.status()
    assert f"rag repair --index {copy}" in str(info.value)
    problems = a.check()
    assert problems and any("no readable vector" in p for p in problems), problems
    report = a.repair()
    assert report.reembedded > 0
    assert a.check() == []
    assert a.status().chunks == FILES * SENTENCES
    assert _dense(_open(copy, embedder)) == expected


def test_a_garbled_vector_file_never_crashes_a_command(
    base: tuple[Path, Path, dict[str, list[str]]], tmp_path: Path
) -> None:
    """Finding 4: random bytes in the HNSW data file segfaulted every command, `status` included."""
    _, index, _ = base
    copy = _damaged_copy(index, tmp_path / "index", "garbled")
    for command in (["status"], ["sources"], ["ask", "the quarry next to the beacon"]):
        done = rag(*command, "--index", copy)
        assert done.returncode == 1, (command, done.returncode, done.stderr[-2000:])
        assert f"rag repair --index {copy}" in done.stderr and "Traceback" not in done.stderr
    check = rag("check", "--index", copy)
    assert check.returncode == 1 and "problem:" in check.stdout and f"rag repair --index {copy}" in check.stdout
    repaired = rag("repair", "--index", copy)
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    assert rag("check", "--index", copy).returncode == 0
    status = json.loads(rag("status", "--index", copy, "--json").stdout)
    assert status["chunks"] == FILES * SENTENCES


def _size(folder: Path, *, segments: bool) -> int:
    """Bytes under ``folder``: only in the vector segment folders, or only outside them."""
    inside = set(vector_segment_dirs(folder))
    return sum(
        p.stat().st_size for p in folder.rglob("*")
        if p.is_file() and (p.parent in inside) == segments
    )


@pytest.fixture
def extra_docs(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "extra", files=3, sentences=40, prefix="x", seed=11)


@pytest.fixture
def small_disk(tmp_path: Path, base: tuple[Path, Path, dict[str, list[str]]], extra_docs: Path) -> Iterator[Path]:
    """A tmpfs with room for the base index, for what the extra ingest adds to Chroma's database
    and the lexical index, and for only half of what it adds to the vector index files: the
    disk fills up while Chroma saves its HNSW files (measured by the same ingest on a copy)."""
    docs, index, _ = base
    trial = tmp_path / "trial"
    shutil.copytree(index, trial)
    done = rag("ingest", docs, extra_docs, "--index", trial, "--quiet", *SMALL_CHUNK_ARGS)
    assert done.returncode == 0, done.stderr
    other = _size(trial, segments=False) - _size(index, segments=False)
    vectors = _size(trial, segments=True) - _size(index, segments=True)
    assert vectors > 1_000_000, "the extra ingest must make Chroma grow and save its HNSW files"
    shutil.rmtree(trial)
    used = _size(index, segments=False) + _size(index, segments=True)
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    size_kb = (used + 2 * other + vectors // 2) // 1024
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_leaves_an_index_that_the_next_run_repairs(
    base: tuple[Path, Path, dict[str, list[str]]], small_disk: Path, extra_docs: Path
) -> None:
    """Finding 3: a full disk left index_metadata.pickle at 0 bytes and every command failed after."""
    docs, index, _ = base
    copy = small_disk / "index"
    shutil.copytree(index, copy)
    full = rag("ingest", docs, extra_docs, "--index", copy, "--quiet", *SMALL_CHUNK_ARGS)
    assert full.returncode == 1, full.stdout + full.stderr
    assert f"the disk holding the index {copy} is full" in full.stderr and "Traceback" not in full.stderr

    subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
    during = rag("status", "--index", copy)  # space is back, the vector index is still half-written
    assert during.returncode == 1 and f"rag repair --index {copy}" in during.stderr, during.stdout + during.stderr
    again = rag("ingest", docs, extra_docs, "--index", copy, "--quiet", *SMALL_CHUNK_ARGS)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "repaired:" in again.stdout
    check = rag("check", "--index", copy)
    assert check.returncode == 0, check.stdout + check.stderr
    status = json.loads(rag("status", "--index", copy, "--json").stdout)
    assert status["chunks"] == (FILES + 3) * SENTENCES and status["documents"] == FILES + 3
