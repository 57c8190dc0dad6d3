"""Incremental ingest: unchanged files cost nothing, edits replace, deletes and sync remove."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from index.embedding import SentenceTransformerEmbedder
from index.models import chunk_id
from index.store import ChromaStore
from rag import Assistant, RagError, Settings

pytestmark = pytest.mark.slow  # every test here embeds with the real model

TOPICS = {
    "volcano.txt": "Volcanoes erupt when magma rises through the crust. Lava flows can travel for kilometres. "
    "Ash clouds ground aircraft for days. Geologists measure tremors before an eruption.",
    "bees.md": "# Honey Bees\n\nBees make honey from nectar. A hive can hold fifty thousand bees. "
    "The queen lays up to two thousand eggs a day. Worker bees dance to share where flowers are.",
    "sub/trains.txt": "The night train leaves Vienna at ten. Sleeping cars have three berths. "
    "Breakfast is served before the train reaches Venice.",
    "sub/deeper/chess.txt": "A chess opening called the Sicilian Defence starts with c5. "
    "Grandmasters study endgames for years.",
    "drafts/todo.txt": "Draft note: buy paint for the garden shed.",
}


def write_corpus(root: Path) -> Path:
    folder = root / "corpus"
    for rel, text in TOPICS.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return folder


def chunk_ids(assistant: Assistant) -> set[str]:
    """Ids of every chunk the manifest says is indexed; checked against the raw count."""
    records = assistant._store.documents().values()
    ids = {chunk_id(r.source, r.doc_hash, i) for r in records for i in range(r.chunks)}
    assert len(assistant._store.get_chunks(sorted(ids))) == len(ids)
    assert assistant._store.count_chunks() == len(ids), "chunks in the store that the manifest does not know"
    return ids


def texts_of(assistant: Assistant, display: str) -> list[str]:
    records = [r for r in assistant._store.documents().values() if r.display == display]
    assert len(records) == 1
    r = records[0]
    chunks = assistant._store.get_chunks([chunk_id(r.source, r.doc_hash, i) for i in range(r.chunks)])
    return [c.text for c in sorted(chunks, key=lambda c: c.position)]


def displays(assistant: Assistant) -> list[str]:
    return sorted(r.display for r in assistant.sources())


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path)


@pytest.fixture
def small_chunks() -> dict[str, int]:
    return {"chunk_size": 24, "chunk_overlap": 8}  # several chunks per document


def test_unchanged_reingest_embeds_nothing_and_loads_no_model(
    corpus: Path, make_assistant: Callable[..., Assistant], tmp_path: Path, small_chunks: dict[str, int]
) -> None:
    first = make_assistant(index_dir=tmp_path / "idx", **small_chunks)
    report = first.ingest([corpus])
    assert report.ok and len(report.added) == len(TOPICS)
    assert report.chunks_written == first._store.count_chunks() > len(TOPICS)
    ids_before = chunk_ids(first)
    assert first.check() == []

    fresh = SentenceTransformerEmbedder()
    assert not fresh.loaded
    settings = Settings(index_dir=str(tmp_path / "idx"), **small_chunks)
    second = Assistant.from_parts(store=ChromaStore.persistent(settings.index_dir), embedder=fresh, settings=settings)
    again = second.ingest([corpus])
    assert again.chunks_written == 0
    assert again.added == () and again.updated == () and again.deleted == () and again.failed == ()
    assert sorted(again.unchanged) == sorted(str((corpus / rel).absolute()) for rel in TOPICS)
    assert not fresh.loaded, "an unchanged re-ingest must not even load the embedding model"
    assert chunk_ids(second) == ids_before
    assert second.check() == []
    assert "0 chunks embedded" in again.summary()


def test_touching_without_changing_content_is_unchanged(
    corpus: Path, make_assistant: Callable[..., Assistant]
) -> None:
    import os

    assistant = make_assistant()
    assistant.ingest([corpus])
    path = corpus / "volcano.txt"
    os.utime(path, (1, 1))  # mtime changes, bytes do not
    report = assistant.ingest([corpus])
    assert report.chunks_written == 0 and str(path.absolute()) in report.unchanged


def test_edit_replaces_the_chunks_of_that_file_only(
    corpus: Path, make_assistant: Callable[..., Assistant], small_chunks: dict[str, int]
) -> None:
    assistant = make_assistant(**small_chunks)
    assistant.ingest([corpus])
    ids_before = chunk_ids(assistant)
    volcano = corpus / "volcano.txt"
    old_record = next(r for r in assistant.sources() if r.display == "volcano.txt")
    old_ids = {chunk_id(old_record.source, old_record.doc_hash, i) for i in range(old_record.chunks)}
    assert "magma" in " ".join(texts_of(assistant, "volcano.txt"))

    volcano.write_text("Glaciers carve valleys slowly. Ice sheets cover Antarctica.", "utf-8")
    report = assistant.ingest([corpus])
    assert report.updated == (str(volcano.absolute()),)
    assert report.added == () and len(report.unchanged) == len(TOPICS) - 1
    assert assistant.check() == []

    new_texts = texts_of(assistant, "volcano.txt")
    assert " ".join(new_texts) == "Glaciers carve valleys slowly. Ice sheets cover Antarctica."
    record = next(r for r in assistant.sources() if r.display == "volcano.txt")
    assert record.chunks == len(new_texts) == 1
    assert report.chunks_written == 1
    ids_after = chunk_ids(assistant)
    assert not (old_ids & ids_after), "chunks of the old version were left behind"
    assert ids_before - old_ids <= ids_after, "other documents' chunks must not change"
    assert len(ids_after) == len(ids_before) - len(old_ids) + 1

    # The old text is no longer retrievable, the new text is.
    for hit in assistant.retrieve("magma lava eruption ash clouds", top_k=50):
        assert "magma" not in hit.chunk.text and "Lava" not in hit.chunk.text
    answer = assistant.ask("What do glaciers carve?")
    assert answer.citations[0].chunk.display == "volcano.txt"
    assert "valleys" in answer.text


def test_edit_that_grows_a_file_then_shrinks_it(
    corpus: Path, make_assistant: Callable[..., Assistant], small_chunks: dict[str, int]
) -> None:
    assistant = make_assistant(**small_chunks)
    assistant.ingest([corpus])
    path = corpus / "bees.md"
    long_text = "# Honey Bees\n\n" + " ".join(f"Bee fact number {i} concerns pollen type {i}." for i in range(40))
    path.write_text(long_text, "utf-8")
    assistant.ingest([corpus])
    grown = texts_of(assistant, "bees.md")
    assert len(grown) > 5 and assistant.check() == []
    path.write_text("# Honey Bees\n\nOnly one short fact remains.", "utf-8")
    assistant.ingest([corpus])
    assert texts_of(assistant, "bees.md") == ["# Honey Bees\n\nOnly one short fact remains."]
    assert assistant.check() == []
    assert all("pollen type" not in h.chunk.text for h in assistant.retrieve("bee pollen type facts", top_k=50))


def test_delete_by_path_folder_and_display_name(
    corpus: Path, make_assistant: Callable[..., Assistant], small_chunks: dict[str, int]
) -> None:
    assistant = make_assistant(**small_chunks)
    assistant.ingest([corpus])
    assert assistant.ask("When does the night train leave Vienna?").citations[0].chunk.display == "sub/trains.txt"

    # By path on disk.
    deleted = assistant.delete([corpus / "volcano.txt"])
    assert deleted == [str((corpus / "volcano.txt").absolute())]
    assert "volcano.txt" not in displays(assistant)
    assert assistant.check() == []
    assert all(h.chunk.display != "volcano.txt" for h in assistant.retrieve("magma lava volcano", top_k=50))

    # By folder: everything under it, recursively, and nothing else.
    deleted = assistant.delete([corpus / "sub"])
    assert sorted(Path(p).name for p in deleted) == ["chess.txt", "trains.txt"]
    assert displays(assistant) == ["bees.md", "drafts/todo.txt"]
    assert assistant.check() == []
    answer = assistant.ask("When does the night train leave Vienna?")
    assert all(c.chunk.display != "sub/trains.txt" for c in answer.citations)
    assert all("train" not in h.chunk.text for h in assistant.retrieve("night train Vienna", top_k=50))

    # By the name `sources` shows.
    assert assistant.delete(["drafts/todo.txt"]) == [str((corpus / "drafts" / "todo.txt").absolute())]
    assert displays(assistant) == ["bees.md"]
    assert assistant._store.count_chunks() == assistant.sources()[0].chunks
    assert assistant.check() == []

    # A file that is gone from disk can still be deleted by its path.
    (corpus / "bees.md").unlink()
    assistant.delete([str(corpus / "bees.md")])
    assert displays(assistant) == [] and assistant._store.count_chunks() == 0
    assert assistant.check() == []

    with pytest.raises(RagError, match=r"not in the index: .*nothing\.txt.*rag sources"):
        assistant.delete([corpus / "nothing.txt"])


def test_delete_folder_does_not_touch_a_sibling_with_the_same_prefix(
    tmp_path: Path, make_assistant: Callable[..., Assistant]
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs2").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Apples grow on trees in the orchard.", "utf-8")
    (tmp_path / "docs2" / "b.txt").write_text("Bananas grow in warm countries.", "utf-8")
    assistant = make_assistant()
    assistant.ingest([tmp_path / "docs", tmp_path / "docs2"])
    assistant.delete([tmp_path / "docs"])
    assert [r.source for r in assistant.sources()] == [str((tmp_path / "docs2" / "b.txt").absolute())]
    assert assistant.check() == []


def test_sync_removes_vanished_files_only_under_the_given_folder(
    tmp_path: Path, make_assistant: Callable[..., Assistant]
) -> None:
    corpus = write_corpus(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("Lighthouses warn ships about rocks near the coast.", "utf-8")
    (other / "gone-too.txt").write_text("The harbour master keeps the tide tables.", "utf-8")
    assistant = make_assistant()
    assistant.ingest([corpus, other])
    assert len(assistant.sources()) == len(TOPICS) + 2

    (corpus / "bees.md").unlink()
    (corpus / "sub" / "deeper" / "chess.txt").unlink()
    (other / "gone-too.txt").unlink()  # gone, but outside the folder being synced

    # Without sync nothing is removed.
    report = assistant.ingest([corpus])
    assert report.deleted == ()
    assert len(assistant.sources()) == len(TOPICS) + 2

    report = assistant.ingest([corpus], sync=True)
    assert sorted(Path(p).name for p in report.deleted) == ["bees.md", "chess.txt"]
    assert report.chunks_written == 0
    names = displays(assistant)
    assert "bees.md" not in names and "sub/deeper/chess.txt" not in names
    assert "gone-too.txt" in names, "sync must only remove documents under the folder it was given"
    assert assistant.check() == []
    assert all("Sicilian" not in h.chunk.text for h in assistant.retrieve("Sicilian Defence chess", top_k=50))

    # Syncing a sub-folder keeps files elsewhere in the corpus even when they would be out of scope.
    (corpus / "volcano.txt").unlink()
    report = assistant.ingest([corpus / "sub"], sync=True)
    assert report.deleted == ()
    assert "volcano.txt" in displays(assistant)
    # Syncing the other folder removes its vanished file.
    report = assistant.ingest([other], sync=True)
    assert [Path(p).name for p in report.deleted] == ["gone-too.txt"]
    assert assistant.check() == []


def test_sync_with_a_rename_moves_the_document(
    corpus: Path, make_assistant: Callable[..., Assistant]
) -> None:
    assistant = make_assistant()
    assistant.ingest([corpus])
    (corpus / "volcano.txt").rename(corpus / "volcanoes.txt")
    report = assistant.ingest([corpus], sync=True)
    assert [Path(p).name for p in report.added] == ["volcanoes.txt"]
    assert [Path(p).name for p in report.deleted] == ["volcano.txt"]
    assert "volcano.txt" not in displays(assistant) and "volcanoes.txt" in displays(assistant)
    assert assistant.check() == []


def test_include_and_exclude_globs(corpus: Path, make_assistant: Callable[..., Assistant]) -> None:
    assistant = make_assistant()
    report = assistant.ingest([corpus], include=["*.md"])
    assert [Path(p).name for p in report.added] == ["bees.md"]
    assert displays(assistant) == ["bees.md"]

    report = assistant.ingest([corpus], exclude=["drafts/*", "chess.txt"])
    assert sorted(Path(p).name for p in report.added) == ["trains.txt", "volcano.txt"]
    assert [Path(p).name for p in report.unchanged] == ["bees.md"]
    assert "drafts/todo.txt" not in displays(assistant)
    assert "sub/deeper/chess.txt" not in displays(assistant)

    report = assistant.ingest([corpus], include=["sub/*"], exclude=["*chess*"])
    assert [Path(p).name for p in report.unchanged] == ["trains.txt"]
    assert report.added == ()

    # Sync with a filter only sees (and may only remove) the selected files.
    report = assistant.ingest([corpus], include=["*.md"], sync=True)
    assert report.deleted == ()
    assert displays(assistant) == ["bees.md", "sub/trains.txt", "volcano.txt"]
    assert assistant.check() == []
