"""Reading the JSON sidecar (``lexical-NAME.json``) that held the lexical index before tantivy.

Only to migrate it: ``index.lexical`` moves the tokens of every document whose entry is
sound into the tantivy index on first open, then removes the file. An entry of the
wrong shape, or whose tokens do not match the digest stored beside them, is left out;
the sync that follows tokenizes that document again from the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FORMAT = 2  # 2: a token digest per document


def token_digest(tokens: Sequence[Sequence[str]]) -> str:
    """A short hash of a document's tokens, chunk by chunk (pure)."""
    h = hashlib.sha1()
    for terms in tokens:
        h.update("\x1f".join(terms).encode())
        h.update(b"\x1e")
    return h.hexdigest()


def valid_entries(data: Any) -> dict[str, dict[str, Any]] | None:
    """The documents of a loaded sidecar whose shape and digest hold; None when the file is unusable."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("docs"), dict):
        return None
    out: dict[str, dict[str, Any]] = {}
    for source, entry in data["docs"].items():
        if not isinstance(entry, dict):
            continue
        ids, tokens, doc_hash = entry.get("ids"), entry.get("tokens"), entry.get("hash")
        if not (isinstance(doc_hash, str) and isinstance(ids, list) and isinstance(tokens, list)):
            continue
        if len(ids) != len(tokens) or not all(isinstance(i, str) for i in ids):
            continue
        if not all(isinstance(t, list) and all(isinstance(w, str) for w in t) for t in tokens):
            continue
        if entry.get("digest") != token_digest(tokens):
            continue
        out[source] = entry
    return out


def read_sidecar(path: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """The sound documents of the sidecar at ``path``, and a note on what was wrong ("" if nothing)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, f"{path} is unreadable ({type(exc).__name__}); the lexical index is rebuilt from the store"
    docs = valid_entries(data)
    if docs is None:
        return {}, f"{path} has an unknown format or shape; the lexical index is rebuilt from the store"
    dropped = len(data["docs"]) - len(docs)
    note = f"{path}: {dropped} damaged document entries; tokenized again from the store" if dropped else ""
    return docs, note


def sidecar_bytes(docs: dict[str, dict[str, Any]]) -> bytes:
    """The sidecar file holding ``docs`` (source -> hash, ids, tokens, digest), as it was written."""
    return json.dumps({"format": FORMAT, "docs": docs}, separators=(",", ":")).encode()
