"""Server mode keeps hybrid cheap: each client's lexical index is a cache folder caught up incrementally.

Two "machines" are two ``rag`` processes with two cache folders (``RAG_CACHE_DIR``) against
one real ``chroma run`` server. What a process tokenized is read from its ``-v`` log line
(``index.lexical``: "N documents tokenized, M removed") and from its cache folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index.lexical_store import LexicalStore
from index.store import ChromaStore
from rag import Settings
from tests.conftest import ARTICLE
from tests.test_server_store import RAG, ChromaServer

pytestmark = pytest.mark.slow

_TOKENIZED = re.compile(r"lexical index (\S+): (\d+) documents tokenized, (\d+) removed")
QUARRY = "The Orlenby quarry closed in 1911 after the spring flood. Its foreman, Daven Moss, later ran the ferry."
QUARRY_CHANGED = "The Orlenby quarry closed in 1911 after the spring flood. Its foreman, Corin Vale, later kept bees."
LIGHTHOUSE = "The Kestrel Point lighthouse keeper was Maren Holt, who logged every storm from 1890 to 1932."
ORCHARD = "The Pell orchard grows a pear called Amberfall, first grafted by Sabine Ort in 1874."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    srv = ChromaServer(tmp_path_factory.mktemp("lexical-server") / "data")
    try:
        yield srv.start()
    finally:
        srv.stop()


class Machine:
    """One client machine: its own cache folder; the embedding model's export is shared, not re-made."""

    def __init__(self, root: Path, server: ChromaServer, collection: str) -> None:
        self.cache = root / "cache"
        self.cache.mkdir(parents=True)
        onnx = Path(Settings.from_env().cache_dir).expanduser() / "onnx"
        onnx.mkdir(parents=True, exist_ok=True)
        (self.cache / "onnx").symlink_to(onnx, target_is_directory=True)
        self.env = {**os.environ, "RAG_CACHE_DIR": str(self.cache), "RAG_INDEX_DIR": str(root / "unused-index")}
        self.common = ["--chroma-url", server.url, "--collection", collection]
        self.folder = self.cache / "lexical" / f"127.0.0.1-{server.port}" / collection  # as the README says

    def rag(self, *args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([str(RAG), *args, *self.common], capture_output=True, text=True, timeout=600,
                             env=self.env)
        assert out.returncode == 0, out.stderr
        return out

    def ask(self, question: str) -> tuple[dict[str, Any], tuple[int, int] | None, str]:
        """The answer, (tokenized, removed) from the catch-up log line (None: nothing to catch up), stderr."""
        out = self.rag("ask", question, "--json", "-v")
        lines = _TOKENIZED.findall(out.stderr)
        assert len(lines) <= 1, out.stderr
        caught = (int(lines[0][1]), int(lines[0][2])) if lines else None
        if lines:
            assert Path(lines[0][0]) == self.folder / "index"
        return json.loads(out.stdout), caught, out.stderr

    def cached(self) -> dict[str, str]:
        """Document -> version, as this machine's cache holds them."""
        return LexicalStore(self.folder / "index").documents()


def _cites(answer: dict[str, Any], name: str, phrase: str) -> None:
    """The first citation is a passage of ``name`` holding ``phrase``, found by both halves of hybrid."""
    assert answer["citations"], answer
    first = answer["citations"][0]
    assert first["chunk"]["display"] == name and phrase in first["chunk"]["text"]
    hit = next(h for h in answer["hits"] if h["chunk"]["id"] == first["chunk"]["id"])
    assert hit["lexical"] is not None and hit["dense"] is not None, hit


def _manifest(server: ChromaServer, collection: str) -> dict[str, str]:
    return {s: r.doc_hash for s, r in ChromaStore.http(server.url, collection).documents().items()}


def test_two_machines_answer_in_hybrid_and_catch_up_only_what_changed(
    server: ChromaServer, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    (docs / "quarry.txt").write_text(QUARRY, "utf-8")
    (docs / "lighthouse.txt").write_text(LIGHTHOUSE, "utf-8")
    a = Machine(tmp_path / "a", server, "two-machines")
    b = Machine(tmp_path / "b", server, "two-machines")

    assert "3 added" in a.rag("ingest", str(docs), "--quiet").stdout
    assert a.cached() == _manifest(server, "two-machines")  # the writer's own cache follows its writes

    answer, caught, _ = b.ask("Who was the keeper of the Kestrel Point lighthouse?")
    assert caught == (3, 0)  # a machine that never saw the index tokenizes all of it once
    _cites(answer, "lighthouse.txt", "Maren Holt")
    assert b.cached() == _manifest(server, "two-machines")

    answer, caught, _ = a.ask("Who is Ilse Varga?")
    assert caught is None or caught == (0, 0)
    _cites(answer, ARTICLE.name, "chief water engineer")

    status = b.rag("status").stdout
    assert f"lexical:    {b.folder / 'index'}" in status

    # A changes one document, adds one and deletes one; B catches up touching only those.
    (docs / "quarry.txt").write_text(QUARRY_CHANGED, "utf-8")
    (docs / "orchard.txt").write_text(ORCHARD, "utf-8")
    out = a.rag("ingest", str(docs), "--quiet").stdout
    assert "1 added" in out and "1 updated" in out
    a.rag("delete", str(docs / "lighthouse.txt"))
    before = b.cached()
    manifest = _manifest(server, "two-machines")

    answer, caught, _ = b.ask("Who first grafted the Amberfall pear?")
    assert caught == (2, 1)
    _cites(answer, "orchard.txt", "Sabine Ort")
    after = b.cached()
    assert after == manifest
    assert after[str(docs / ARTICLE.name)] == before[str(docs / ARTICLE.name)]  # untouched
    answer, caught, _ = b.ask("Who was the foreman of the Orlenby quarry?")
    assert caught is None  # nothing changed since B's last start: nothing tokenized
    _cites(answer, "quarry.txt", "Corin Vale")
    assert not any("Daven Moss" in c["chunk"]["text"] for c in answer["citations"])


def test_a_damaged_or_incompatible_cache_is_rebuilt_with_one_message(server: ChromaServer, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "quarry.txt").write_text(QUARRY, "utf-8")
    (docs / "orchard.txt").write_text(ORCHARD, "utf-8")
    a = Machine(tmp_path / "a", server, "damaged-cache")
    a.rag("ingest", str(docs), "--quiet")
    question = "Who first grafted the Amberfall pear?"

    # A cache written by another tokenizer version: emptied and built again, with one warning.
    record = a.folder / "cache.json"
    data = json.loads(record.read_text("utf-8"))
    record.write_text(json.dumps({**data, "tokenizer": "0000000000000000"}), "utf-8")
    answer, caught, stderr = a.ask(question)
    assert caught == (2, 0)
    assert stderr.count("another tokenizer version") == 1 and str(a.folder) in stderr
    _cites(answer, "orchard.txt", "Sabine Ort")
    assert json.loads(record.read_text("utf-8"))["tokenizer"] == data["tokenizer"]

    # Damaged segment files: removed and built again, with one warning, and the answer still comes.
    for segment in (a.folder / "index").glob("*.idx"):
        segment.write_bytes(segment.read_bytes()[:5])
    answer, caught, stderr = a.ask(question)
    assert caught == (2, 0)
    assert stderr.count("is damaged") == 1
    _cites(answer, "orchard.txt", "Sabine Ort")
    assert a.cached() == _manifest(server, "damaged-cache")

    # The collection dropped and made again on the server: the cache of the old one is not reused.
    a.rag("reset", "--yes")
    (docs / "orchard.txt").unlink()
    a.rag("ingest", str(docs), "--quiet")
    b = Machine(tmp_path / "b", server, "damaged-cache")
    assert b.ask("Who was the foreman of the Orlenby quarry?")[1] == (1, 0)
    assert a.cached() == b.cached() == _manifest(server, "damaged-cache")


def test_clients_sharing_one_cache_folder_tokenize_each_document_once(server: ChromaServer, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(12):
        (docs / f"note-{i:02d}.txt").write_text(f"Note {i}: the Harlow depot stored {i * 7} crates of tin.", "utf-8")
    writer = Machine(tmp_path / "writer", server, "shared-cache")
    writer.rag("ingest", str(docs), "--quiet")
    shared = Machine(tmp_path / "shared", server, "shared-cache")

    procs = [
        subprocess.Popen([str(RAG), "ask", "How many crates did the Harlow depot store?", "--json", "-v",
                          *shared.common], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=shared.env)
        for _ in range(3)
    ]
    tokenized = 0
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        assert json.loads(stdout)["citations"], stdout
        tokenized += sum(int(m[1]) for m in _TOKENIZED.findall(stderr))
    assert tokenized == 12  # one process caught the cache up; the others waited for it and found it in step
    assert shared.cached() == _manifest(server, "shared-cache")
