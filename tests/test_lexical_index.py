"""The live lexical index (index.lexical on tantivy): migration from the JSON sidecar, checks, repair, crashes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import index.lexical as lexical_module
from index.lexical import LexicalIndex
from index.lexical_legacy import sidecar_bytes, token_digest
from index.lexical_store import LexicalStore
from index.store import ChromaStore
from index.text_terms import index_tokens
from rag import Assistant
from tests.index_support import SMALL_CHUNKS, write_corpus

REPO = Path(__file__).resolve().parents[1]
QUESTION = "Which entry mentions the zeppelin hangar of Quillport?"
NEEDLE = "Entry z0 describes the zeppelin hangar of Quillport, rebuilt after the flood of 1911."


def _build(make_assistant: Callable[..., Assistant], tmp_path: Path, files: int = 4) -> tuple[Assistant, Path]:
    docs = write_corpus(tmp_path / "docs", files=files, sentences=3)
    (docs / "needle.txt").write_text(NEEDLE, "utf-8")
    index = tmp_path / "index"
    a = make_assistant(index, retrieval="bm25", **SMALL_CHUNKS)
    assert a.ingest([docs]).ok
    return a, index


def _bm25_finds_needle(a: Assistant) -> bool:
    return any("Quillport" in h.chunk.text for h in a.retrieve(QUESTION, top_k=3))


def _old_sidecar(store: ChromaStore) -> dict[str, dict[str, object]]:
    """What the JSON sidecar of the previous version held for ``store`` (its format 2)."""
    records = {s: r for s, r in store.documents().items() if r.state == "complete"}
    docs: dict[str, dict[str, object]] = {}
    for source, chunks in store.chunks_of(sorted(records)).items():
        current = sorted((c for c in chunks if c.doc_hash == records[source].doc_hash), key=lambda c: c.position)
        tokens = index_tokens([c.text for c in current])
        docs[source] = {"hash": records[source].doc_hash, "ids": [c.id for c in current], "tokens": tokens,
                        "digest": token_digest(tokens)}
    return docs


@pytest.mark.slow
def test_an_old_json_sidecar_is_migrated_on_first_open_with_a_progress_bar(
    make_assistant: Callable[..., Assistant], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, index = _build(make_assistant, tmp_path)
    docs = _old_sidecar(a._store)
    damaged = next(s for s in docs if s.endswith("f0000.txt"))
    docs[damaged]["digest"] = "0" * 40  # one entry that fails its check: tokenized again from the store
    shutil.rmtree(index / "lexical-default")
    sidecar = index / "lexical-default.json"
    sidecar.write_bytes(sidecar_bytes(docs))
    tokenized: list[int] = []

    def counting(texts: list[str]) -> list[list[str]]:
        tokenized.append(len(texts))
        return index_tokens(texts)

    monkeypatch.setattr(lexical_module, "index_tokens", counting)
    fresh = LexicalIndex(index, "default")
    assert fresh.sync(a._store, force=True) is True  # only the damaged entry was left to write
    assert "migrating lexical-default.json" in capsys.readouterr().err
    assert tokenized == [a._store.documents()[damaged].chunks]
    assert not sidecar.exists()
    assert (index / "lexical-default").is_dir()
    assert fresh.problems(a._store) == [f"{sidecar}: 1 damaged document entries; tokenized again from the store"]
    assert LexicalIndex(index, "default").problems(a._store) == []
    assert _bm25_finds_needle(make_assistant(index, retrieval="bm25", **SMALL_CHUNKS))


@pytest.mark.slow
@pytest.mark.parametrize("content", ['{"format": 2, "docs": []}', "[1, 2, 3]", "{not json"])
def test_an_old_sidecar_that_cannot_be_read_is_rebuilt_from_the_store(
    make_assistant: Callable[..., Assistant], tmp_path: Path, content: str
) -> None:
    a, index = _build(make_assistant, tmp_path)
    shutil.rmtree(index / "lexical-default")
    (index / "lexical-default.json").write_text(content, "utf-8")
    fresh = make_assistant(index, retrieval="bm25", **SMALL_CHUNKS)
    assert _bm25_finds_needle(fresh)
    assert fresh.ask(QUESTION).citations
    assert not (index / "lexical-default.json").exists()
    assert LexicalIndex(index, "default").problems(a._store) == []


@pytest.mark.slow
def test_check_finds_stems_that_do_not_match_the_text_and_repair_rebuilds(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    a, index = _build(make_assistant, tmp_path)
    source, record = next((s, r) for s, r in a._store.documents().items() if s.endswith("needle.txt"))
    chunk_ids = [c.id for c in a._store.chunks_of([source])[source]]
    # the right version, the wrong stems: only re-tokenizing the text tells
    wrong = [(c, ["nothing"]) for c in chunk_ids]
    LexicalStore(index / "lexical-default").replace_document(source, record.doc_hash, wrong)
    fresh = make_assistant(index, retrieval="bm25", **SMALL_CHUNKS)
    assert not _bm25_finds_needle(fresh)
    assert fresh.check() == [f"lexical index: the tokens of {source} do not match its text"]
    fresh.repair()
    assert fresh.check() == []
    assert _bm25_finds_needle(make_assistant(index, retrieval="bm25", **SMALL_CHUNKS))


def test_a_folder_that_cannot_be_written_keeps_answering_from_memory(
    make_assistant: Callable[..., Assistant], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, index = _build(make_assistant, tmp_path)
    before = LexicalStore(index / "lexical-default").documents()
    real = LexicalStore.replace_documents

    def full_disk(self: LexicalStore, *args: object, **kwargs: object) -> int:
        if self._folder is not None:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LexicalStore, "replace_documents", full_disk)
    lexical = LexicalIndex(index, "default")
    lexical.rebuild_all(a._store)
    assert "No space left on device" in lexical.save_error
    assert LexicalStore(index / "lexical-default").documents() == before
    needle = next(c.id for c in a._store.chunks_of([s for s in before if s.endswith("needle.txt")]).popitem()[1])
    assert [cid for cid, _ in lexical.search("zeppelin Quillport", 1)] == [needle]  # the index in memory answers


SLOW_SYNC = textwrap.dedent("""
    import sys, time
    import index.lexical as lx
    from index.store import ChromaStore

    lx.BATCH_DOCUMENTS = 2
    real = lx.index_tokens
    calls = []

    def slow(texts):
        calls.append(len(texts))
        if len(calls) == 4:  # the second commit's second document: the writer is open, half written
            print("half", flush=True)
            time.sleep(300)
        return real(texts)

    lx.index_tokens = slow
    store = ChromaStore.persistent(sys.argv[1], "default")
    lx.LexicalIndex.for_store(store).sync(store, force=True)
""")


@pytest.mark.slow
def test_a_sync_killed_mid_commit_leaves_an_index_the_next_sync_completes(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    a, index = _build(make_assistant, tmp_path, files=5)
    sources = sorted(s for s in a._store.documents())
    shutil.rmtree(index / "lexical-default")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SYNC, str(index)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "half"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    after = LexicalIndex(index, "default")
    # the first commit (two documents) is whole; the killed one left nothing behind
    assert after.problems(a._store) == [f"lexical index: {s} is missing" for s in sources[2:]]
    assert after.sync(a._store, force=True) is True  # the writer's lock died with it
    assert after.problems(a._store) == []
    clean = LexicalIndex(None, "default")
    clean.sync(a._store, force=True)
    for query in ("zeppelin hangar", "harbour lantern orchard", "ward meadow"):
        found = after.search(query, 1000)  # every match: ties may come in another order, never other scores
        assert found and sorted(found) == sorted(clean.search(query, 1000))


def test_idf_of_the_terms_asked_for_only(make_assistant: Callable[..., Assistant], tmp_path: Path) -> None:
    _, index = _build(make_assistant, tmp_path)
    lexical = LexicalIndex(index, "default")
    idf = lexical.idf(index_tokens(["zeppelin entry unheardofword"])[0])
    assert set(idf) == {"zeppelin", "entri"}  # a term no chunk holds is left out (coverage: unknown)
    assert idf["zeppelin"] > idf["entri"] > 0
