"""Helpers for the index-integrity tests: corpora, the `rag` command in a child process, folders."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

RAG = Path(sys.executable).parent / "rag"
VOCAB = (
    "harbour lantern orchard glacier compass ledger meadow quarry beacon canyon "
    "saddle tunnel violin furnace pepper marble ribbon walnut anchor prism"
).split()
# One sentence of about 20 tokens per chunk: cheap to embed, many chunks per file.
SMALL_CHUNKS = {"chunk_size": 24, "chunk_overlap": 4}
SMALL_CHUNK_ARGS = ["--chunk-size", "24", "--chunk-overlap", "4"]


def write_corpus(folder: Path, files: int, sentences: int, seed: int = 7, prefix: str = "f") -> Path:
    """``files`` text files of ``sentences`` distinct sentences each (one chunk per sentence)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        text = " ".join(
            f"Entry {prefix}{i}.{k} records the {rng.choice(VOCAB)} beside the {rng.choice(VOCAB)} "
            f"and the {rng.choice(VOCAB)} of ward {rng.randint(1, 99999)}."
            for k in range(sentences)
        )
        (folder / f"{prefix}{i:04d}.txt").write_text(text, "utf-8")
    return folder


def rag(*args: str | Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the `rag` command in a child process (the environment's PYTHONPATH picks this checkout)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [str(RAG), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def start_rag(*args: str | Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [str(RAG), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def wait_for_lock_holder(index_dir: Path, pid: int, proc: subprocess.Popen[str], timeout: float = 600) -> None:
    """Wait until process ``pid`` has written itself into the index's lock file."""
    deadline = time.monotonic() + timeout
    lock = index_dir / "rag-writer.lock"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"the first ingest ended before it was seen holding the lock: {err}")
        try:
            if json.loads(lock.read_text("utf-8")).get("pid") == pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    pytest.fail(f"process {pid} did not take the writer lock of {index_dir} in {timeout}s")


def vector_segment_dirs(index_dir: Path) -> list[Path]:
    """The HNSW folders of an index, the biggest (the chunks collection) first."""
    dirs = [p for p in index_dir.iterdir() if p.is_dir() and len(p.name) == 36 and p.name.count("-") == 4]
    return sorted(dirs, key=lambda d: -sum(f.stat().st_size for f in d.iterdir()))
