"""Identical chunk texts are embedded once (issue 14, point 3), with the real model and real Chroma.

The texts handed to the model are counted by a wrapper around the real embedder; before
``index.reuse`` every chunk reached the model, so each count here was the chunk count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evals.perf.recording_embedder import RecordingEmbedder
from index.embedding import SentenceTransformerEmbedder
from index.ingest import consistency_problems
from index.models import chunk_id
from index.reuse import EMBED_KEY
from index.store import ChromaStore
from rag import Assistant, Settings

pytestmark = pytest.mark.slow  # every test here embeds with the real model

SMALL = {"chunk_size": 24, "chunk_overlap": 4}  # one sentence (about 20 tokens) per chunk
BOILERPLATE = "Copyright Northwind Traders, all rights reserved, internal use only, do not forward."
BODIES = [
    "The harbour lantern was repaired in March after the winter storms.",
    "Orchard workers pick apples from September until the first frost.",
    "The glacier retreated forty metres during the last hot summer.",
    "A compass and a ledger were found in the old captain's cabin.",
]


CountingEmbedder = RecordingEmbedder  # the real embedder, keeping every document text handed to it


@pytest.fixture
def counting(embedder: SentenceTransformerEmbedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


@pytest.fixture
def open_index(
    tmp_path_factory: pytest.TempPathFactory, counting: CountingEmbedder
) -> Callable[..., Assistant]:
    def build(folder: Path | None = None, **settings: Any) -> Assistant:
        folder = folder or tmp_path_factory.mktemp("index")
        config = Settings(index_dir=str(folder), **settings)
        return Assistant.from_parts(store=ChromaStore.persistent(str(folder)), embedder=counting, settings=config)

    return build


def stored(assistant: Assistant) -> dict[str, tuple[str, str, list[float]]]:
    """Every chunk id -> (text, embed_key or "", vector), read from Chroma."""
    page = assistant._store._chunks.get(include=["documents", "metadatas", "embeddings"])
    return {
        cid: (doc or "", str(meta.get(EMBED_KEY, "")), [float(x) for x in vec])
        for cid, doc, meta, vec in zip(
            page["ids"], page["documents"], page["metadatas"], page["embeddings"], strict=True
        )
    }


def write_boilerplate_files(folder: Path, bodies: Sequence[str], prefix: str = "memo") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, body in enumerate(bodies):
        (folder / f"{prefix}-{i}.txt").write_text(f"{BOILERPLATE} {body}", "utf-8")


def test_boilerplate_repeated_across_files_is_embedded_once_in_one_run(
    tmp_path: Path, open_index: Callable[..., Assistant], counting: CountingEmbedder
) -> None:
    write_boilerplate_files(tmp_path / "docs", BODIES)
    assistant = open_index(**SMALL)
    report = assistant.ingest([tmp_path / "docs"])
    assert report.ok and report.chunks_written == 2 * len(BODIES)
    rows = stored(assistant)
    texts = [text for text, _, _ in rows.values()]
    assert texts.count(BOILERPLATE) == len(BODIES)  # each file's first chunk is the boilerplate
    # Before: all eight chunks went to the model, the boilerplate four times.
    assert sorted(counting.texts) == sorted(set(texts))
    assert report.chunks_reused == len(BODIES) - 1
    assert f"({len(BODIES) - 1} reused the vector of an identical text)" in report.summary()
    vectors = {tuple(v) for text, _, v in rows.values() if text == BOILERPLATE}
    assert len(vectors) == 1  # the very same vector on every copy
    assert all(key for _, key, _ in rows.values())
    assert consistency_problems(assistant._store) == []


def test_a_later_run_reuses_vectors_already_in_the_collection(
    tmp_path: Path, open_index: Callable[..., Assistant], counting: CountingEmbedder,
    embedder: SentenceTransformerEmbedder,
) -> None:
    write_boilerplate_files(tmp_path / "docs", BODIES[:2])
    assistant = open_index(**SMALL)
    assert assistant.ingest([tmp_path / "docs"]).ok
    first = stored(assistant)
    counting.texts.clear()

    # A copy of a file already indexed, and a new file with the same boilerplate.
    (tmp_path / "docs" / "copy.txt").write_text((tmp_path / "docs" / "memo-0.txt").read_text("utf-8"), "utf-8")
    (tmp_path / "docs" / "memo-new.txt").write_text(f"{BOILERPLATE} {BODIES[3]}", "utf-8")
    again = open_index(folder_of(assistant), **SMALL)
    report = again.ingest([tmp_path / "docs"])
    assert report.ok and len(report.added) == 2 and report.chunks_written == 4
    # Before: the four new chunks all went to the model.
    assert counting.texts == [BODIES[3]]
    assert report.chunks_reused == 3

    rows = stored(again)
    by_text: dict[str, set[tuple[float, ...]]] = {}
    for text, _, vector in rows.values():
        by_text.setdefault(text, set()).add(tuple(vector))
    assert all(len(v) == 1 for v in by_text.values()), "a text with two different vectors"
    for cid, (text, _, vector) in first.items():
        assert by_text[text] == {tuple(vector)}, cid  # reused exactly as stored
    # ... and what the model gives for the text (up to its own batch-to-batch rounding)
    fresh = embedder.embed_documents([BOILERPLATE, BODIES[0]])
    for text, vector in zip([BOILERPLATE, BODIES[0]], fresh, strict=True):
        assert np.allclose(next(iter(by_text[text])), vector, atol=1e-5)

    answer = again.ask("When was the harbour lantern repaired?")
    assert not answer.abstained and answer.citations
    assert "March" in answer.text
    assert any("harbour lantern" in c.chunk.text for c in answer.citations)
    assert again.check() == []


def folder_of(assistant: Assistant) -> Path:
    folder = assistant._store.folder
    assert folder is not None
    return folder


def test_a_file_of_one_repeated_word_is_embedded_a_few_times_not_per_chunk(
    tmp_path: Path, open_index: Callable[..., Assistant], counting: CountingEmbedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "word.txt").write_text("word " * 60_000, "utf-8")  # 300 KB
    (docs / "note.txt").write_text("The quarry beacon is lit every night at nine.", "utf-8")
    assistant = open_index()  # the default chunking
    report = assistant.ingest([docs])
    assert report.ok
    record = next(r for r in assistant.sources() if r.display == "word.txt")
    assert record.chunks > 250 and report.chunks_written == record.chunks + 1
    # Before: every one of the 270 chunks went to the model.
    distinct = {text for text, _, _ in stored(assistant).values()}
    assert len(counting.texts) == len(distinct) <= 4
    assert report.chunks_reused == report.chunks_written - len(distinct)
    ids = [chunk_id(record.source, record.doc_hash, i) for i in range(record.chunks)]
    assert [c.position for c in assistant._store.get_chunks(ids)] == list(range(record.chunks))
    assert consistency_problems(assistant._store) == []
    assert assistant._lexical.problems(assistant._store) == []
    # Chroma's HNSW graph over hundreds of equal vectors may not reach the one chunk that
    # differs (the file's last): `rag check` says so in a note, and finds nothing to repair.
    report = assistant.check_report()
    assert report.ok, report.problems
    answer = assistant.ask("When is the quarry beacon lit?")
    assert not answer.abstained and "nine" in answer.text


def test_an_index_written_before_embed_keys_keeps_working_and_gets_keys_for_new_chunks(
    tmp_path: Path, open_index: Callable[..., Assistant], counting: CountingEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_boilerplate_files(tmp_path / "old", BODIES[:2])
    original = ChromaStore.upsert_chunks

    def without_keys(self: ChromaStore, chunks: Any, embeddings: Any, keys: Sequence[str] = ()) -> None:
        original(self, chunks, embeddings)  # what the code before embed_key wrote

    monkeypatch.setattr(ChromaStore, "upsert_chunks", without_keys)
    assistant = open_index(**SMALL)
    assert assistant.ingest([tmp_path / "old"]).ok
    assert not any(key for _, key, _ in stored(assistant).values())
    monkeypatch.undo()
    counting.texts.clear()

    write_boilerplate_files(tmp_path / "new", BODIES[2:], prefix="later")
    again = open_index(folder_of(assistant), **SMALL)
    report = again.ingest([tmp_path / "old", tmp_path / "new"])
    assert report.ok and len(report.unchanged) == 2 and len(report.added) == 2
    # The old chunks carry no key, so the boilerplate is embedded once more, then reused.
    assert sorted(counting.texts) == sorted([BOILERPLATE, *BODIES[2:]])
    rows = stored(again)
    assert sum(1 for _, key, _ in rows.values() if key) == 4
    assert again.check() == []


def test_killed_in_the_middle_of_a_repetitive_file_then_rerun_gives_the_clean_index(
    tmp_path: Path, open_index: Callable[..., Assistant]
) -> None:

    from tests.test_big_ingest import SMALL as TINY
    from tests.test_big_ingest import kill_in_the_big_file
    from tests.test_interrupted_ingest import snapshot

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [f"Line {i % 40} of the form repeats the {BODIES[i % 4].split()[1]} clause." for i in range(6000)]
    (corpus / "big.txt").write_text(" ".join(lines), "utf-8")
    (corpus / "z-last.txt").write_text(f"{BOILERPLATE} {BODIES[2]}", "utf-8")

    clean_dir = tmp_path / "clean"
    assert open_index(clean_dir, **TINY).ingest([corpus]).ok
    clean = snapshot(clean_dir)

    killed_dir = tmp_path / "killed"
    kill_in_the_big_file(corpus, killed_dir)  # `rag ingest` (ONNX embedder) in a child process
    half = snapshot(killed_dir)
    assert half.states.get("pending") == 1 and 0 < half.chunk_count < clean.chunk_count

    again = open_index(killed_dir, **TINY)
    report = again.ingest([corpus])
    assert report.ok and str(corpus / "big.txt") in report.recovered
    after = snapshot(killed_dir)
    assert (after.documents, after.chunk_ids, after.states) == (clean.documents, clean.chunk_ids, {"complete": 2})
    assert consistency_problems(again._store) == []
    vectors: dict[str, set[tuple[float, ...]]] = {}
    for text, _, vector in stored(again).values():
        vectors.setdefault(text, set()).add(tuple(vector))
    assert all(len(v) == 1 for v in vectors.values()), "one text, one vector"


def test_through_a_chroma_server_a_later_client_reuses_the_servers_vectors(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, counting: CountingEmbedder
) -> None:
    from tests.test_server_store import ChromaServer

    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data").start()
    try:
        def client() -> Assistant:
            settings = Settings(chroma_url=server.url, index_dir=str(tmp_path / "unused"), collection="dedup-kb",
                                cache_dir=str(tmp_path / "cache"), chunk_size=SMALL["chunk_size"],
                                chunk_overlap=SMALL["chunk_overlap"])
            return Assistant.from_parts(store=ChromaStore.http(server.url, "dedup-kb"), embedder=counting,
                                        settings=settings)

        write_boilerplate_files(tmp_path / "a", BODIES[:2])
        assert client().ingest([tmp_path / "a"]).ok
        assert sorted(counting.texts) == sorted([BOILERPLATE, *BODIES[:2]])
        counting.texts.clear()
        write_boilerplate_files(tmp_path / "b", BODIES[1:3], prefix="other")
        report = client().ingest([tmp_path / "b"])  # a new client: only the server knows the vectors
        assert report.ok and report.chunks_written == 4 and report.chunks_reused == 3
        assert counting.texts == [BODIES[2]]  # before: all four
    finally:
        server.stop()
