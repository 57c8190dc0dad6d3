"""One writer per index: the lock file, the recovery rule for "pending" records, two real `rag ingest`s."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from index.errors import IndexBusyError
from index.ingest import recover
from index.locking import WriterLock, read_holder, writer_active, writer_is_gone
from index.store import ChromaStore, IndexFingerprint, _chroma_settings
from tests.index_support import SMALL_CHUNK_ARGS, rag, start_rag, wait_for_lock_holder, write_corpus

REPO = Path(__file__).resolve().parents[1]


def _hold_lock_in_child(folder: Path) -> subprocess.Popen[str]:
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from index.locking import WriterLock
        lock = WriterLock(Path({str(folder)!r}))
        with lock.hold("ingest"):
            print("held", flush=True)
            time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_the_lock_refuses_another_process_and_names_it(tmp_path: Path) -> None:
    child = _hold_lock_in_child(tmp_path)
    try:
        assert writer_active(tmp_path)
        holder = read_holder(tmp_path)
        assert holder is not None and holder.pid == child.pid and holder.operation == "ingest"
        with pytest.raises(IndexBusyError) as info, WriterLock(tmp_path).hold("delete"):
            pass
        assert f"pid {child.pid}" in str(info.value) and str(tmp_path) in str(info.value)
        assert not WriterLock(tmp_path).try_acquire("probe")
    finally:
        child.kill()  # SIGKILL: the kernel drops the flock, no stale lock is left
        child.wait()
    assert not writer_active(tmp_path)
    lock = WriterLock(tmp_path)
    with lock.hold("ingest"), lock.hold("ingest"):  # reentrant in one process
        assert lock.depth == 2
    assert not lock.held


def test_writer_ids_tell_gone_writers_from_live_ones() -> None:
    host = socket.gethostname()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert writer_is_gone(f"{host}:{ended.stdout.strip()}:abc")
    assert not writer_is_gone(f"{host}:{os.getpid()}:abc")
    assert not writer_is_gone(f"another-host-{host}:1:abc")  # cannot be checked from here: alive
    assert writer_is_gone("")  # a record written before writer ids existed


def test_recovery_leaves_the_pending_records_of_a_live_writer(tmp_path: Path) -> None:
    """Without a folder lock (a Chroma server) only records of writers that are gone are undone."""
    import chromadb

    client = chromadb.PersistentClient(path=str(tmp_path), settings=_chroma_settings())
    store = ChromaStore(client, "default", "http://server.example:8000")  # no folder: no lock
    store.create(IndexFingerprint("m", 1, 24, 4))
    host = socket.gethostname()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)

    def pending(source: str, writer: str) -> None:  # as a writer of another process leaves it
        meta = {"display": source, "doc_hash": "h", "chunks": 1, "state": "pending", "writer": writer}
        store._docs.upsert(ids=[source], embeddings=[[1.0]], metadatas=[meta])

    pending("/live.txt", f"{host}:{os.getpid()}:other")
    pending("/dead.txt", f"{host}:{ended.stdout.strip()}:gone")
    assert recover(store) == ("/dead.txt",)
    assert set(store.documents()) == {"/live.txt"}


@pytest.mark.slow
def test_a_second_ingest_is_refused_while_one_runs_and_nothing_is_lost(tmp_path: Path) -> None:
    """Finding 2: two `rag ingest` processes on one folder. The second now stops at once with
    the holder's pid; before, both wrote and vectors were lost (and each reported the other's
    documents as "recovered from an interrupted run")."""
    first_docs = write_corpus(tmp_path / "first", files=12, sentences=5, prefix="a")
    second_docs = write_corpus(tmp_path / "second", files=6, sentences=5, prefix="b", seed=8)
    index = tmp_path / "index"
    first = start_rag("ingest", first_docs, "--index", index, "--quiet", *SMALL_CHUNK_ARGS)
    try:
        wait_for_lock_holder(index, first.pid, first)
        os.kill(first.pid, signal.SIGSTOP)  # hold it mid-run, lock taken, whatever the machine's speed
        second = rag("ingest", second_docs, "--index", index, "--quiet", *SMALL_CHUNK_ARGS)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    out, err = first.communicate(timeout=900)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "another writer is using the index" in second.stderr and f"pid {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.returncode == 0, err
    assert "12 added" in out and "recovered" not in out

    again = rag("ingest", second_docs, "--index", index, "--quiet", *SMALL_CHUNK_ARGS)
    assert again.returncode == 0, again.stderr
    assert "6 added" in again.stdout and "recovered" not in again.stdout
    check = rag("check", "--index", index)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "self-query: all 90 chunks" in check.stdout
