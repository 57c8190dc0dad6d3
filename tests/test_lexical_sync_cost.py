"""What a warm question pays to keep the lexical index in step: nothing, while no writer has committed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from index.lexical import LexicalIndex
from index.lexical_mark import read_mark
from index.lexical_store import LexicalStore
from index.models import DocumentRecord
from index.state import state_token as store_token
from index.store import ChromaStore
from rag import Assistant
from tests.index_support import SMALL_CHUNKS, write_corpus

NEEDLE = "Entry z0 describes the zeppelin hangar of Quillport, rebuilt after the flood of 1911."


def test_sync_reads_the_manifest_again_only_after_a_writer_commits(
    make_assistant: Callable[..., Assistant], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = write_corpus(tmp_path / "docs", files=3, sentences=3)
    writer = make_assistant(tmp_path / "index", **SMALL_CHUNKS)
    assert writer.ingest([docs]).ok
    store = ChromaStore.persistent(str(tmp_path / "index"))
    reads = _counting(store, monkeypatch)
    # recheck 0: every sync may compare, as if each question came more than the default 2 s after the last
    lexical = LexicalIndex(store.folder, store.name, recheck_seconds=0.0)

    assert lexical.sync(store) is False  # the writer's ingest brought it in step and marked its commit
    for _ in range(5):
        assert lexical.sync(store) is False
        lexical.search("zeppelin hangar", 3)
    assert len(reads) == 0  # at 1M passages one read of the manifest costs seconds

    (docs / "needle.txt").write_text(NEEDLE, "utf-8")
    assert writer.ingest([docs]).ok  # commits: the state file changes
    lexical.sync(store)
    assert len(reads) == 1
    needle = str((docs / "needle.txt").resolve())
    found = lexical.search("zeppelin hangar Quillport", 3)
    assert found and found[0][0] in {c.id for c in store.chunks_of([needle])[needle]}
    lexical.sync(store, force=True)  # forced: always compares
    assert len(reads) == 2


def _counting(store: ChromaStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    read_manifest = store.documents

    def counted() -> dict[str, DocumentRecord]:
        reads.append(1)
        return read_manifest()

    monkeypatch.setattr(store, "documents", counted)
    return reads


def test_a_new_process_opens_an_index_in_step_without_reading_the_manifest(
    make_assistant: Callable[..., Assistant], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = write_corpus(tmp_path / "docs", files=3, sentences=3)
    (docs / "needle.txt").write_text(NEEDLE, "utf-8")
    writer = make_assistant(tmp_path / "index", **SMALL_CHUNKS)
    assert writer.ingest([docs]).ok
    assert read_mark(tmp_path / "index" / "lexical-default") is not None

    store = ChromaStore.persistent(str(tmp_path / "index"))
    reads = _counting(store, monkeypatch)
    # the ingest marked the commit it made: no opener reads the manifest
    assert LexicalIndex.for_store(store).sync(store) is False and reads == []
    fresh = LexicalIndex.for_store(store)
    assert fresh.sync(store) is False and reads == []
    assert fresh.search("zeppelin hangar Quillport", 1)

    (docs / "more.txt").write_text("The lighthouse keeper of Quillport logs every zeppelin.", "utf-8")
    assert writer.ingest([docs]).ok  # a commit: the mark no longer matches the state file
    assert read_mark(tmp_path / "index" / "lexical-default") == store_token(tmp_path / "index")
    later = LexicalIndex.for_store(store)
    assert later.sync(store) is False and reads == []  # the writer brought it in step and marked it


def test_an_ingest_into_an_index_in_step_tokenizes_only_the_changed_document(
    make_assistant: Callable[..., Assistant], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = write_corpus(tmp_path / "docs", files=4, sentences=3)
    writer = make_assistant(tmp_path / "index", **SMALL_CHUNKS)
    assert writer.ingest([docs]).ok
    compared: list[int] = []
    catch_up = LexicalIndex._catch_up

    def counted(self: LexicalIndex, store: ChromaStore, token: tuple[int, int] | None) -> bool:
        compared.append(1)
        return catch_up(self, store, token)

    monkeypatch.setattr(LexicalIndex, "_catch_up", counted)
    written: list[str] = []
    replace_documents = LexicalStore.replace_documents

    def recorded(self: LexicalStore, changes: Any, clear: bool = False) -> int:
        changes = list(changes)
        written.extend(source for source, _, _ in changes)
        return replace_documents(self, changes, clear=clear)

    monkeypatch.setattr(LexicalStore, "replace_documents", recorded)
    needle = docs / "needle.txt"
    needle.write_text(NEEDLE, "utf-8")
    assert writer.ingest([docs]).ok
    gone = sorted(docs.glob("*.txt"))[0]
    gone.unlink()
    assert writer.ingest([docs], sync=True).deleted
    assert compared == []  # no comparison of the whole manifest
    assert written == [str(needle.resolve()), str(gone.resolve())]

    store = ChromaStore.persistent(str(tmp_path / "index"))
    fresh = LexicalIndex.for_store(store)
    assert fresh.problems(store) == []
    assert read_mark(tmp_path / "index" / "lexical-default") == store_token(tmp_path / "index")
    source = str(needle.resolve())
    found = fresh.search("zeppelin hangar Quillport", 1)
    assert found and found[0][0] in {c.id for c in store.chunks_of([source])[source]}


def test_a_sync_that_dies_halfway_leaves_no_mark_and_the_next_one_catches_up(
    make_assistant: Callable[..., Assistant], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = write_corpus(tmp_path / "docs", files=3, sentences=3)
    writer = make_assistant(tmp_path / "index", **SMALL_CHUNKS)
    assert writer.ingest([docs]).ok
    folder = tmp_path / "index" / "lexical-default"
    assert read_mark(folder) is not None

    def killed(*_: object, **__: object) -> int:
        raise KeyboardInterrupt("killed during the lexical commit")

    (docs / "needle.txt").write_text(NEEDLE, "utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(LexicalStore, "replace_documents", killed)
        with pytest.raises(KeyboardInterrupt):
            writer.ingest([docs])
    assert read_mark(folder) is None

    store = ChromaStore.persistent(str(tmp_path / "index"))
    reads = _counting(store, monkeypatch)
    fresh = LexicalIndex.for_store(store)
    assert fresh.sync(store) is True and reads == [1]
    assert fresh.problems(store) == []
    assert read_mark(folder) is not None
