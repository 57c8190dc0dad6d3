"""The pure parts of a Chroma server's lexical cache (index.lexical_cache) and a damaged segment file."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.lexical_cache import CacheRecord, ServerCache, server_key, tokenizer_id
from index.lexical_store import LexicalStore, LexicalStoreError
from index.text_terms import index_tokens


def test_the_cache_folder_is_keyed_by_server_address_and_collection(tmp_path: Path) -> None:
    assert server_key("http://127.0.0.1:8000") == "127.0.0.1-8000"
    assert server_key("http://chroma.internal") == "chroma.internal-8000"
    assert server_key("https://[::1]") == "__1-443"
    cache = ServerCache(tmp_path, "http://127.0.0.1:9001", "kb")
    assert cache.index_path == tmp_path / "lexical" / "127.0.0.1-9001" / "kb" / "index"
    assert cache.read() is None
    record = CacheRecord("http://127.0.0.1:9001", "kb", "c0ffee", tokenizer_id())
    cache.write(record)
    assert cache.read() == record
    cache.record_path.write_text("{not json", "utf-8")
    assert cache.read() is None


def test_a_record_names_why_it_cannot_serve_another() -> None:
    here = CacheRecord("http://h:1", "kb", "id-1", tokenizer_id())
    assert here.difference(here) == ""
    assert "another tokenizer version" in CacheRecord("http://h:1", "kb", "id-1", "0" * 16).difference(here)
    assert "created again" in here.difference(CacheRecord("http://h:1", "kb", "id-2", tokenizer_id()))
    # the collection absent just now (no id): the cache is kept for when it comes back
    assert here.difference(CacheRecord("http://h:1", "kb", "", tokenizer_id())) == ""


def test_the_tokenizer_id_follows_what_index_tokens_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    import index.lexical_cache as lc

    before = tokenizer_id()
    assert before == tokenizer_id() and len(before) == 16
    tokenizer_id.cache_clear()
    monkeypatch.setattr(lc, "index_tokens", lambda texts: [t.lower().split() for t in texts])
    try:
        assert tokenizer_id() != before
    finally:
        tokenizer_id.cache_clear()
    monkeypatch.undo()
    assert tokenizer_id() == before


def test_a_truncated_segment_file_is_a_lexical_store_error_not_a_panic(tmp_path: Path) -> None:
    folder = tmp_path / "lexical"
    store = LexicalStore(folder)
    store.replace_document("a.txt", "v1", [("a#v1#0", index_tokens(["Quantum computing is hard."])[0])])
    for segment in folder.glob("*.idx"):
        segment.write_bytes(segment.read_bytes()[:5])
    with pytest.raises(LexicalStoreError, match="not a usable lexical index"):
        LexicalStore(folder)
