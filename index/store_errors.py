"""Chroma's failures as this project's errors: each names the index and what to do."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from index.errors import ConfigError, IndexDamagedError, IndexMismatchError, StoreError

_FULL_DISK_BYTES = 16_000_000  # a write that fails with less free space than this failed for lack of it
_DAMAGE_WORDS = ("malformed", "not a database", "deserializing pickle", "hnsw index", "hnsw segment")


def damaged_message(where: str, what: str) -> str:
    """The one message for a damaged index folder: what is wrong and the command that repairs it."""
    if "malformed" in what or "not a database" in what:
        return (
            f"the index database {where}/chroma.sqlite3 is damaged ({what}). It cannot be repaired: "
            f"delete the folder (rm -r {where}) and ingest your documents again."
        )
    return f"the index {where} is damaged ({what}). Repair it: rag repair --index {where}"


def _free_bytes(where: str) -> int | None:
    """Free space on the disk of an index folder (None for a server URL or when unknown)."""
    if "://" in where:
        return None
    try:
        return shutil.disk_usage(where).free
    except OSError:
        return None


@contextmanager
def store_errors(where: str) -> Iterator[None]:
    """Turn connection failures into StoreError naming the location and the fix."""
    try:
        yield
    except (ConfigError, IndexMismatchError, StoreError):
        raise
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        free = _free_bytes(where)
        if free is not None and (free < _FULL_DISK_BYTES or "disk is full" in text or "No space" in text):
            raise StoreError(
                f"the disk holding the index {where} is full ({free // 1024} KB free; Chroma said {text}). "
                "Free some space and run the command again: the next run repairs what this one left half-written."
            ) from exc
        if any(k in text.lower() for k in _DAMAGE_WORDS) and "://" not in where:
            raise IndexDamagedError(damaged_message(where, text)) from exc
        if "readonly database" in text or "read-only" in text.lower():
            raise StoreError(
                f"the index folder {where} is read-only ({text}): reading works only from a writable "
                "folder or a copy; ingest, delete, reset and repair need write access"
            ) from exc
        if any(k in text for k in ("Connect", "connect", "refused", "Timeout", "timed out")):
            raise StoreError(
                f"cannot reach the Chroma server at {where} ({text}). Start it "
                "(chroma run --path DIR --port N) or fix --chroma-url / RAG_CHROMA_URL."
            ) from exc
        raise StoreError(f"Chroma at {where} failed: {text}") from exc
