"""Opening an index folder: refuse a damaged database, read a read-only folder, probe suspicious files.

Three things are settled before Chroma touches the folder:

1. ``chroma.sqlite3`` must be a readable SQLite database. Chroma keeps every chunk's text
   and metadata there; when it is damaged nothing can be rebuilt, and the message says
   to delete the folder (naming it) and ingest again.
2. A read-only folder: Chroma cannot open one (it writes to its database even to read).
   Up to ``READ_ONLY_COPY_MB`` the folder is copied to a temporary folder that is opened
   instead, so ``status``, ``sources`` and ``ask`` work; larger ones get one message.
3. Vector segment files that differ from the record of the last committed write while no
   writer runs are probed in a child process (``index.probe``) before this process loads
   them. Damage found is kept on the store: reading raises ``IndexDamagedError`` naming
   ``rag repair``, and ``rag repair`` / the next ``rag ingest`` rebuild it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from index.errors import IndexDamagedError, StoreError
from index.locking import WriterLock, writer_active
from index.probe import probe
from index.state import read_state, segment_stats, unexpected_changes, write_state

READ_ONLY_COPY_MB = 512
SQLITE_FILE = "chroma.sqlite3"


def check_database(folder: Path) -> None:
    """Fail with a clear message when the folder's SQLite database is not readable."""
    db = folder / SQLITE_FILE
    if not db.is_file():
        return
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            con.execute("PRAGMA schema_version").fetchone()
            con.execute("SELECT count(*) FROM collections").fetchone()
            con.execute("SELECT count(*) FROM segments").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        if "locked" in str(exc):
            return  # a writer is busy: not damage
        raise IndexDamagedError(
            f"the index database {db} is damaged ({exc}). It cannot be repaired: delete the folder "
            f"(rm -r {folder}) and ingest your documents again."
        ) from exc


def read_only_copy(folder: Path) -> Path:
    """A temporary copy of a read-only index folder, removed when the process exits."""
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if size > READ_ONLY_COPY_MB * 1_000_000:
        raise StoreError(
            f"the index folder {folder} is read-only and Chroma cannot open a read-only folder; it is "
            f"too big ({size / 1e6:.0f} MB) to read from a temporary copy. Make it writable, or copy it "
            "to a writable place and pass that with --index"
        )
    copy = Path(tempfile.mkdtemp(prefix="rag-readonly-")) / folder.name
    shutil.copytree(folder, copy)
    atexit.register(shutil.rmtree, copy.parent, True)
    return copy


def vector_segments(folder: Path, names: list[str]) -> dict[str, str]:
    """Collection name -> the id (folder name) of its vector segment, read from Chroma's database."""
    db = folder / SQLITE_FILE
    if not db.is_file():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(names))
        rows = con.execute(
            "SELECT c.name, s.id FROM segments s JOIN collections c ON s.collection = c.id "
            f"WHERE s.scope = 'VECTOR' AND c.name IN ({marks})",
            names,
        ).fetchall()
    finally:
        con.close()
    return {str(n): str(s) for n, s in rows}


def find_damage(folder: Path, names: list[str]) -> list[str]:
    """Probe the folder when its segment files differ from the record; the problems found.

    A probe that finds nothing wrong records the files as they are (when the writer lock
    is free), so the next open does not probe again.
    """
    recorded = read_state(folder)
    changes = unexpected_changes(recorded, segment_stats(folder))
    if not changes or writer_active(folder):
        return []
    problems = probe(folder, names).problems()
    if problems:
        return problems
    lock = WriterLock(folder)
    if os.access(folder, os.W_OK) and lock.try_acquire("probe"):
        try:
            write_state(folder, recorded.generation if recorded else 0, "probe")
        except OSError:
            pass
        finally:
            lock.release()
    return []


@dataclass(frozen=True)
class OpenedFolder:
    """What ``open_folder`` settled: the folder Chroma opens (a copy of a read-only one) and the damage found."""

    chroma_path: Path
    damage: tuple[str, ...]


def open_folder(path: str, name: str) -> OpenedFolder:
    """Check ``path`` as described in the module docstring, for the store ``index.store`` then opens."""
    folder = Path(path)
    check_database(folder)
    chroma_path = folder
    if folder.is_dir() and not os.access(folder, os.W_OK):
        chroma_path = read_only_copy(folder)
    damage = find_damage(chroma_path, [name, f"{name}-documents"]) if folder.is_dir() else []
    return OpenedFolder(chroma_path, tuple(damage))
