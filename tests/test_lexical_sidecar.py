"""The lexical sidecar (lexical-NAME.json): validated when read, rebuilt when wrong, written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from index.lexical import LexicalIndex, token_digest, valid_entries
from rag import Assistant
from tests.index_support import SMALL_CHUNKS, write_corpus

QUESTION = "Which entry mentions the zeppelin hangar of Quillport?"
NEEDLE = "Entry z0 describes the zeppelin hangar of Quillport, rebuilt after the flood of 1911."


def _build(make_assistant: Callable[..., Assistant], tmp_path: Path) -> tuple[Assistant, Path]:
    docs = write_corpus(tmp_path / "docs", files=4, sentences=3)
    (docs / "needle.txt").write_text(NEEDLE, "utf-8")
    index = tmp_path / "index"
    a = make_assistant(index, retrieval="bm25", **SMALL_CHUNKS)
    assert a.ingest([docs]).ok
    return a, index / "lexical-default.json"


def _bm25_finds_needle(a: Assistant) -> bool:
    return any("Quillport" in h.chunk.text for h in a.retrieve(QUESTION, top_k=3))


def test_valid_entries_rejects_wrong_shapes_and_tampered_tokens() -> None:
    tokens = [["zeppelin", "hangar"]]
    good = {"hash": "h", "ids": ["c1"], "tokens": tokens, "digest": token_digest(tokens)}
    assert valid_entries({"format": 2, "docs": {"/a": good}}) == {"/a": good}
    for wrong in ([1, 2], "text", {"format": 2, "docs": []}, {"format": 1, "docs": {}}, None):
        assert valid_entries(wrong) is None
    tampered = {**good, "tokens": [["zzz"]]}
    short = {**good, "ids": []}
    odd = {**good, "tokens": "zeppelin"}
    assert valid_entries({"format": 2, "docs": {"/a": tampered, "/b": short, "/c": odd, "/d": 5}}) == {}


WRONG_SHAPES = ['{"format": 2, "docs": []}', "[1, 2, 3]", '"docs"', '{"format": 2, "docs": {"x": 5}}']


@pytest.mark.slow
@pytest.mark.parametrize("content", WRONG_SHAPES)
def test_a_sidecar_of_the_wrong_shape_is_rebuilt_not_a_traceback(
    make_assistant: Callable[..., Assistant], tmp_path: Path, content: str
) -> None:
    """Finding 4: valid JSON of the wrong shape raised on every command."""
    _, sidecar = _build(make_assistant, tmp_path)
    sidecar.write_text(content, "utf-8")
    fresh = make_assistant(sidecar.parent, retrieval="bm25", **SMALL_CHUNKS)
    assert _bm25_finds_needle(fresh)
    assert fresh.ask(QUESTION).citations
    assert fresh.check_report(sample=5).ok
    assert isinstance(json.loads(sidecar.read_text("utf-8"))["docs"], dict)  # rewritten whole


@pytest.mark.slow
def test_tampered_tokens_are_tokenized_again(make_assistant: Callable[..., Assistant], tmp_path: Path) -> None:
    """Finding 4: tampered tokens made BM25 miss the answer, and re-ingesting did not repair them."""
    _, sidecar = _build(make_assistant, tmp_path)
    data = json.loads(sidecar.read_text("utf-8"))
    entry = next(e for s, e in data["docs"].items() if s.endswith("needle.txt"))
    entry["tokens"] = [["nothing"] for _ in entry["tokens"]]
    sidecar.write_text(json.dumps(data), "utf-8")
    fresh = make_assistant(sidecar.parent, retrieval="bm25", **SMALL_CHUNKS)
    report = fresh.ingest([tmp_path / "docs"])
    assert len(report.unchanged) == 5
    assert _bm25_finds_needle(fresh)


@pytest.mark.slow
def test_check_finds_tokens_tampered_with_a_matching_digest_and_repair_rebuilds(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    _, sidecar = _build(make_assistant, tmp_path)
    data = json.loads(sidecar.read_text("utf-8"))
    source, entry = next((s, e) for s, e in data["docs"].items() if s.endswith("needle.txt"))
    entry["tokens"] = [["nothing"] for _ in entry["tokens"]]
    entry["digest"] = token_digest(entry["tokens"])  # deliberately consistent: only re-tokenizing tells
    sidecar.write_text(json.dumps(data), "utf-8")
    fresh = make_assistant(sidecar.parent, retrieval="bm25", **SMALL_CHUNKS)
    problems = fresh.check()
    assert problems == [f"lexical index: the tokens of {source} do not match its text"]
    fresh.repair()
    assert fresh.check() == []
    assert _bm25_finds_needle(make_assistant(sidecar.parent, retrieval="bm25", **SMALL_CHUNKS))


def test_a_failed_save_keeps_the_old_file(
    make_assistant: Callable[..., Assistant], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, sidecar = _build(make_assistant, tmp_path)
    before = sidecar.read_bytes()

    def full_disk(*_: object) -> None:
        raise OSError(28, "No space left on device")

    lexical = LexicalIndex(sidecar.parent, "default")
    monkeypatch.setattr(os, "replace", full_disk)
    lexical.rebuild_all(a._store)
    assert "No space left on device" in lexical.save_error
    assert sidecar.read_bytes() == before
    assert not [p for p in sidecar.parent.iterdir() if p.name.endswith(".tmp")]
    assert lexical.search("zeppelin Quillport", 1)  # the index in memory still answers
