"""The tantivy lexical store (index.lexical_store): per-document changes, ranking, reopening, crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from index.lexical_store import LexicalStore, LexicalStoreError
from index.text_terms import index_tokens

REPO = Path(__file__).resolve().parents[1]

TEXTS = {
    "birds.txt": ["Penguins cannot fly but they swim very well.", "Sparrows eat seeds in the garden."],
    "stars.txt": ["A neutron star is the collapsed core of a massive star.", "Stars fuse hydrogen into helium."],
}


def chunks(source: str, texts: list[str], version: str = "v1") -> list[tuple[str, list[str]]]:
    return [(f"{source}#{version}#{i}", tokens) for i, tokens in enumerate(index_tokens(texts))]


def filled(folder: Path | None) -> LexicalStore:
    store = LexicalStore(folder)
    for source, texts in TEXTS.items():
        store.replace_document(source, "v1", chunks(source, texts))
    return store


def ids(hits: list[tuple[str, float]]) -> list[str]:
    return [chunk_id for chunk_id, _ in hits]


def test_search_ranks_the_matching_passage_first(tmp_path: Path) -> None:
    store = filled(tmp_path / "lex")
    hits = store.search(index_tokens(["What is a neutron star made of?"])[0], 10)
    assert ids(hits)[0] == "stars.txt#v1#0"
    assert all(score > 0 for _, score in hits)
    assert ids(store.search(index_tokens(["penguins swimming"])[0], 5)) == ["birds.txt#v1#0"]
    assert store.search([], 5) == [] and store.search(["penguin"], 0) == []
    assert store.search(["unknownterm"], 5) == []


def test_add_replace_and_delete_one_document(tmp_path: Path) -> None:
    store = filled(tmp_path / "lex")
    assert store.count() == 4
    assert store.documents() == {"birds.txt": "v1", "stars.txt": "v1"}

    new = chunks("birds.txt", ["Owls hunt mice at night."], "v2")
    assert store.replace_document("birds.txt", "v2", new) == 1
    assert store.count() == 3
    assert store.documents() == {"birds.txt": "v2", "stars.txt": "v1"}
    assert store.search(index_tokens(["penguins"])[0], 5) == []  # the old version's chunks are gone
    assert ids(store.search(index_tokens(["owls at night"])[0], 5)) == ["birds.txt#v2#0"]

    store.delete_document("stars.txt")
    assert store.count() == 1
    assert store.documents() == {"birds.txt": "v2"}
    assert store.search(index_tokens(["neutron star"])[0], 5) == []
    store.delete_document("never-indexed.txt")  # nothing to do, no error
    assert store.count() == 1


def test_sources_filter_keeps_the_scores(tmp_path: Path) -> None:
    store = filled(None)
    query = index_tokens(["stars and penguins"])[0]
    everything = dict(store.search(query, 10))
    only_birds = store.search(query, 10, sources=["birds.txt"])
    assert ids(only_birds) == ["birds.txt#v1#0"]
    assert only_birds[0][1] == pytest.approx(everything["birds.txt#v1#0"])
    assert store.search(query, 10, sources=[]) == []


def test_reopen_reads_what_was_written(tmp_path: Path) -> None:
    folder = tmp_path / "lex"
    first = filled(folder)
    query = index_tokens(["hydrogen fusion in stars"])[0]
    before = first.search(query, 10)
    first.close()
    again = LexicalStore(folder)
    assert again.count() == 4
    assert again.documents() == {"birds.txt": "v1", "stars.txt": "v1"}
    assert again.search(query, 10) == before


def test_another_process_sees_a_commit_after_refresh(tmp_path: Path) -> None:
    folder = tmp_path / "lex"
    reader = filled(folder)
    writer = LexicalStore(folder)
    writer.delete_document("stars.txt")
    reader.refresh()
    assert reader.count() == 2


def test_an_unreadable_index_is_one_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "lex"
    filled(folder).close()
    (folder / "meta.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(LexicalStoreError, match="delete the folder"):
        LexicalStore(folder)


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from index.lexical_store import LexicalStore

    def slow_chunks():
        for i in range(50):
            yield (f"big#{i}", ["interrupted", "write"])
            if i == 25:
                print("half", flush=True)
                time.sleep(120)

    store = LexicalStore(Path(sys.argv[1]))
    store.replace_documents([("birds.txt", "v9", slow_chunks()), ("stars.txt", None, ())])
""")


@pytest.mark.slow
def test_a_write_killed_before_its_commit_leaves_the_previous_state(tmp_path: Path) -> None:
    folder = tmp_path / "lex"
    query = index_tokens(["penguins and neutron stars"])[0]
    before = filled(folder).search(query, 10)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "half"  # mid-write: old chunks deleted, new half added
        with pytest.raises(LexicalStoreError, match="another process"):
            LexicalStore(folder).delete_document("birds.txt")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    after = LexicalStore(folder)
    assert after.documents() == {"birds.txt": "v1", "stars.txt": "v1"}
    assert after.count() == 4
    assert after.search(query, 10) == before
    assert after.search(["interrupt"], 10) == []
    after.replace_document("birds.txt", "v2", chunks("birds.txt", ["Owls hunt at night."], "v2"))  # lock is free
    assert after.documents()["birds.txt"] == "v2"


@pytest.mark.slow
def test_bench_scale_prints_one_json_line_per_engine(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "evals.perf.bench_scale", "--passages", "200", "--engines", "fts5,tantivy",
         "--queries", "5", "--repeat", "1", "--json", "--work", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600, check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["engine"] for r in rows] == ["fts5", "tantivy"]
    keys = {"passages", "engine", "build_s", "open_s", "replace_one_s", "search_p50_ms", "search_p95_ms",
            "peak_rss_mb", "disk_mb"}
    for row in rows:
        assert keys <= row.keys(), row
        assert row["passages"] == 200 and row["count"] == 200


def test_generated_passages_are_tokenized_as_index_lexical_does() -> None:
    from evals.perf.scale_corpus import passages

    sample = list(passages(40, per_document=20))
    assert [p.source for p in sample[19:21]] == ["doc-0000000", "doc-0000001"]
    assert [list(p.tokens) for p in sample] == index_tokens([p.text for p in sample])
    assert [p.words for p in passages(40, per_document=20)] == [p.words for p in sample]  # fixed seed
