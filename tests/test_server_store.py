"""Server mode: a real `chroma run` server, used by the library and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.embedding import SentenceTransformerEmbedder
from index.store import ChromaStore
from rag import Assistant, Settings, StoreError
from tests.conftest import ARTICLE, free_port, stop_process

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CHROMA = BIN / "chroma"
RAG = BIN / "rag"


class ChromaServer:
    """One `chroma run` process; ``start`` waits for its heartbeat, ``stop`` ends it."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = path.parent / f"chroma-{self.port}.log"

    def start(self, timeout: float = 60.0) -> ChromaServer:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"chroma run exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail(f"chroma run did not answer its heartbeat within {timeout}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    srv = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data")
    try:
        yield srv.start()
    finally:
        srv.stop()


def server_assistant(
    url: str, embedder: SentenceTransformerEmbedder, tmp_path: Path, collection: str
) -> Assistant:
    settings = Settings(chroma_url=url, index_dir=str(tmp_path / "unused-index"), collection=collection,
                        cache_dir=str(tmp_path / "cache"))
    return Assistant.from_parts(store=ChromaStore.http(url, collection), embedder=embedder, settings=settings)


def article_phrase() -> str:
    text = ARTICLE.read_text("utf-8")
    assert "chief water engineer" in text
    return "chief water engineer"


def test_ingest_ask_reingest_delete_through_the_server(
    server: ChromaServer, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    assistant = server_assistant(server.url, embedder, tmp_path, "library-kb")
    report = assistant.ingest([ARTICLE])
    assert report.ok and report.added == (str(ARTICLE),)
    assert report.chunks_written == assistant._store.count_chunks() > 0
    assert assistant.check() == []
    assert not (tmp_path / "unused-index").exists(), "server mode must not create a local index"

    answer = assistant.ask("Who is Ilse Varga?")
    assert not answer.abstained
    first = answer.citations[0]
    assert article_phrase() in first.sentence
    assert first.chunk.display == ARTICLE.name
    # The citation points at the exact sentence in the original file.
    start, end = first.document_span
    assert ARTICLE.read_text("utf-8")[start:end] == first.sentence

    # Another client (a new connection) sees the same index.
    other = ChromaStore.http(server.url, "library-kb")
    assert set(other.documents()) == {str(ARTICLE)}

    again = assistant.ingest([ARTICLE])
    assert again.chunks_written == 0 and again.unchanged == (str(ARTICLE),)

    status = assistant.status()
    assert status.location == server.url and status.size_bytes is None
    assert status.documents == 1 and status.chunks == assistant._store.count_chunks()

    assert assistant.delete([ARTICLE]) == [str(ARTICLE)]
    assert assistant.sources() == [] and assistant._store.count_chunks() == 0
    assert assistant.check() == []
    answer = assistant.ask("Who is Ilse Varga?")
    assert answer.abstained and answer.citations == ()


def test_cli_with_chroma_url(server: ChromaServer, tmp_path: Path) -> None:
    env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "unused-index")}
    common = ["--chroma-url", server.url, "--collection", "cli-kb"]

    def rag(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(RAG), *args, *common], capture_output=True, text=True, timeout=300, env=env)

    out = rag("ingest", str(ARTICLE), "--quiet")
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stdout

    out = rag("ask", "Who is Ilse Varga?", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert article_phrase() in data["citations"][0]["sentence"]
    assert data["citations"][0]["chunk"]["display"] == ARTICLE.name

    out = rag("status")
    assert out.returncode == 0, out.stderr
    assert server.url in out.stdout and "(server)" in out.stdout and "documents:  1" in out.stdout

    out = rag("ingest", str(ARTICLE), "--quiet")
    assert out.returncode == 0 and "1 unchanged" in out.stdout and "0 chunks embedded" in out.stdout

    # The data lives in the server, in the collection named on the command line.
    assert set(ChromaStore.http(server.url, "cli-kb").documents()) == {str(ARTICLE)}
    assert not (tmp_path / "unused-index").exists()

    out = rag("delete", str(ARTICLE))
    assert out.returncode == 0, out.stderr
    assert ChromaStore.http(server.url, "cli-kb").documents() == {}


def test_stopped_server_is_a_clear_store_error(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    srv = ChromaServer(tmp_path / "own-server")
    try:
        srv.start()
        assistant = server_assistant(srv.url, embedder, tmp_path, "stop-kb")
        assert assistant.ingest([ARTICLE]).ok
        assert not assistant.ask("Who is Ilse Varga?").abstained
        srv.stop()

        with pytest.raises(StoreError) as info:
            assistant.ask("Who is Ilse Varga?")
        message = str(info.value)
        assert srv.url in message
        assert "chroma run" in message and ("--chroma-url" in message or "RAG_CHROMA_URL" in message)

        with pytest.raises(StoreError) as info:
            ChromaStore.http(srv.url)
        assert srv.url in str(info.value) and "chroma run" in str(info.value)

        out = subprocess.run(
            [str(RAG), "sources", "--chroma-url", srv.url], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 1
        assert srv.url in out.stderr and "Traceback" not in out.stderr

        # Started again on the same folder, the server still holds the index.
        srv.start()
        reopened = server_assistant(srv.url, embedder, tmp_path, "stop-kb")
        assert [r.source for r in reopened.sources()] == [str(ARTICLE)]
        assert reopened.check() == []
        assert article_phrase() in reopened.ask("Who is Ilse Varga?").citations[0].sentence
    finally:
        srv.stop()
