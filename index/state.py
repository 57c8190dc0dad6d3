"""The record a writer leaves in the index folder after each committed write: ``rag-state.json``.

It holds a generation counter, bumped after every committed batch, and the size and
modification time of each file of Chroma's vector segments (the HNSW folders named by
a UUID) as they were when the write succeeded. Readers use it twice:

- a changed generation means another process wrote to the index: reopen Chroma (its
  client caches the vector index per process) and re-sync the lexical index;
- segment files that differ from the record while no writer is running were changed by
  something else (a write that failed half-way on a full disk, a damaged disk, a
  person): the index is probed in a subprocess before this process loads those files,
  because a garbled HNSW file can crash the process that loads it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.atomic import write_atomically

STATE_FILE = "rag-state.json"
METADATA_FILE = "index_metadata.pickle"  # Chroma writes it last when it saves a vector segment
_SEGMENT_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Stats = dict[str, dict[str, list[int]]]  # segment folder -> file name -> [size, mtime_ns]


@dataclass(frozen=True)
class IndexState:
    """What ``rag-state.json`` says; ``segments`` empty when no write has been recorded."""

    generation: int = 0
    segments: Stats = field(default_factory=dict)
    writer: str = ""


def segment_stats(folder: Path) -> Stats:
    """Size and mtime of every file in the folder's saved vector segment folders.

    A segment folder without ``index_metadata.pickle`` has never been saved: Chroma does
    not read its files but starts it afresh from its log in every process that opens it
    (rewriting them), so such folders are left out.
    """
    out: Stats = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return out
    for entry in entries:
        if not (entry.is_dir() and _SEGMENT_DIR.match(entry.name)):
            continue
        if not os.path.lexists(os.path.join(entry.path, METADATA_FILE)):
            continue
        files: dict[str, list[int]] = {}
        try:
            for f in os.scandir(entry.path):
                if f.is_file() and not f.name.startswith("."):
                    st = f.stat()
                    files[f.name] = [st.st_size, st.st_mtime_ns]
        except OSError:
            continue
        out[entry.name] = files
    return out


def read_state(folder: Path) -> IndexState | None:
    """The recorded state, or None when there is none (or it is unreadable)."""
    try:
        data: Any = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("generation"), int):
        return None
    segments = data.get("segments")
    if not isinstance(segments, dict):
        segments = {}
    return IndexState(data["generation"], segments, str(data.get("writer", "")))


def state_token(folder: Path) -> tuple[int, int] | None:
    """A cheap fingerprint of the state file (mtime, size): changes whenever a writer commits."""
    try:
        st = (folder / STATE_FILE).stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def write_state(folder: Path, generation: int, writer: str) -> IndexState:
    """Record a committed write (call it holding the writer lock)."""
    state = IndexState(generation, segment_stats(folder), writer)
    data = {"generation": state.generation, "segments": state.segments, "writer": writer}
    write_atomically(folder / STATE_FILE, json.dumps(data, sort_keys=True).encode())
    return state


def unexpected_changes(recorded: IndexState | None, now: Stats) -> list[str]:
    """Segment files that differ from the record (pure); empty when all match.

    With no record, any segment file is unexpected: the index was written by a version
    that kept no record, or the record was lost, and only a probe can tell.
    """
    if recorded is None:
        return [f"{seg}: no record of the last write" for seg in sorted(now) if now[seg]]
    out: list[str] = []
    for seg in sorted(recorded.segments.keys() | now.keys()):
        before, after = recorded.segments.get(seg), now.get(seg)
        if before is not None and METADATA_FILE not in before:
            before = None  # recorded before it was ever saved (by an older version): nothing to compare
        if before is None:
            if after:
                out.append(f"{seg}: a segment folder written after the last recorded write")
            continue
        if after is None:
            out.append(f"{seg}: the segment folder is missing")
            continue
        for name in sorted(before.keys() | after.keys()):
            if name not in after:
                out.append(f"{seg}/{name}: missing")
            elif name not in before:
                out.append(f"{seg}/{name}: not there at the last recorded write")
            elif before[name] != after[name]:
                out.append(f"{seg}/{name}: changed since the last recorded write")
    return out
