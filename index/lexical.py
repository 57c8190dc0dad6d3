"""A BM25 index (bm25s; tokens from ``index.text_terms``) over the chunks of a store, kept in step with it.

The lexical index is derived state: Chroma's manifest says which version of each
document is indexed, and ``sync`` brings the BM25 index to exactly that, tokenizing
only the documents that changed. It is saved as one JSON file written atomically, so
a crash at any point leaves either the old or the new file; the next ``sync`` notices
the difference from the manifest and catches up. Incremental, idempotent and
crash-safe by construction, like the chunks themselves.

The file is checked when it is read: a file of the wrong shape is ignored whole, and a
document whose tokens no longer match the digest stored beside them is tokenized again
from the store. ``problems`` compares the index with the store (the documents, their
chunk ids, and the tokens of every chunk re-tokenized from its text) for ``rag check``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.atomic import write_atomically
from index.sentences import split_sentences
from index.store import ChromaStore
from index.text_terms import idf_weights, index_tokens

_FORMAT = 2  # 2: a token digest per document
_SENTENCE_CACHE = 50_000


def token_digest(tokens: Sequence[Sequence[str]]) -> str:
    """A short hash of a document's tokens, chunk by chunk (pure)."""
    h = hashlib.sha1()
    for terms in tokens:
        h.update("\x1f".join(terms).encode())
        h.update(b"\x1e")
    return h.hexdigest()


def valid_entries(data: Any) -> dict[str, dict[str, Any]] | None:
    """The documents of a loaded sidecar whose shape and digest hold; None when the file is unusable.

    A document whose tokens do not match their digest is left out, so ``sync`` tokenizes
    it again from the store.
    """
    if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("docs"), dict):
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


class LexicalIndex:
    """BM25 over a store's chunks; ``folder`` persists it (None: memory only).

    >>> lexical = LexicalIndex(Path("my-index"), "default")   # doctest: +SKIP
    >>> lexical.sync(store); lexical.search("quantum computing", 10)   # doctest: +SKIP
    """

    @classmethod
    def for_store(cls, store: ChromaStore) -> LexicalIndex:
        """The lexical index of ``store``: a file in its index folder, in memory for a Chroma server."""
        return cls(store.folder, store.name)

    def __init__(self, folder: Path | None, name: str, *, recheck_seconds: float = 2.0) -> None:
        self._path = folder / f"lexical-{name}.json" if folder is not None else None
        self._recheck = recheck_seconds
        self._lock = threading.Lock()
        # source -> {"hash": str, "ids": [chunk ids], "tokens": [[token, ...], ...], "digest": str}
        self._docs: dict[str, dict[str, Any]] = {}
        self._loaded = False
        self._checked_at = float("-inf")
        self._bm25: Any = None
        self._ids: list[str] = []
        self._sources: np.ndarray = np.array([], dtype=object)
        self._idf: dict[str, float] = {}
        self._sentences: OrderedDict[str, list[list[str]]] = OrderedDict()
        self.load_note = ""  # what was wrong with the file when it was read, for `rag check`
        self.save_error = ""  # why the last save failed (a read-only folder, a full disk)

    # -- keeping in step -------------------------------------------------------------

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self._path is None or not self._path.is_file():
            return
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.load_note = f"{self._path} is unreadable ({type(exc).__name__}); rebuilt from the store"
            return
        docs = valid_entries(data)
        if docs is None:
            self.load_note = f"{self._path} has an unknown format or shape; rebuilt from the store"
            return
        dropped = len(data["docs"]) - len(docs)
        if dropped:
            self.load_note = f"{self._path}: {dropped} damaged document entries; tokenized again from the store"
        self._docs = docs
        self._rebuild()

    def _save(self) -> None:
        """Write the sidecar atomically; a failure keeps the old file and is remembered, not raised.

        The sidecar is a cache of what the store holds: a reader in a read-only folder or a
        full disk must not stop questions from being answered.
        """
        if self._path is None:
            return
        data = json.dumps({"format": _FORMAT, "docs": self._docs}, separators=(",", ":")).encode()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self._path, data)
        except OSError as exc:
            self.save_error = f"cannot write {self._path}: {exc.strerror or exc}"
        else:
            self.save_error = ""

    def _rebuild(self) -> None:
        import bm25s

        ids: list[str] = []
        sources: list[str] = []
        tokens: list[list[str]] = []
        for source in sorted(self._docs):
            entry = self._docs[source]
            ids.extend(entry["ids"])
            sources.extend([source] * len(entry["ids"]))
            tokens.extend(entry["tokens"])
        self._ids = ids
        self._sources = np.array(sources, dtype=object)
        self._idf = idf_weights(tokens)
        if not ids:
            self._bm25 = None
            return
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        self._bm25 = bm25

    def sync(self, store: ChromaStore, *, force: bool = False) -> bool:
        """Match the store's manifest; returns True when anything changed."""
        with self._lock:
            self._load()
            now = time.monotonic()
            if not force and now - self._checked_at < self._recheck:
                return False
            self._checked_at = now
            wanted = {s: r.doc_hash for s, r in store.documents().items() if r.state == "complete"}
            have = {s: e["hash"] for s, e in self._docs.items()}
            stale = [s for s in have if wanted.get(s) != have[s]]
            missing = [s for s in wanted if have.get(s) != wanted[s]]
            if not stale and not missing:
                return False
            for source in stale:
                del self._docs[source]
            for source, chunks in store.chunks_of(missing).items():
                current = [c for c in chunks if c.doc_hash == wanted[source]]
                current.sort(key=lambda c: c.position)
                tokens = index_tokens([c.text for c in current])
                self._docs[source] = {
                    "hash": wanted[source],
                    "ids": [c.id for c in current],
                    "tokens": tokens,
                    "digest": token_digest(tokens),
                }
            self._rebuild()
            self._save()
            return True

    def reload(self) -> None:
        """Forget what is in memory: the next ``sync`` reads the file again (another process wrote it)."""
        with self._lock:
            self._loaded = False
            self._docs = {}
            self._checked_at = float("-inf")
            self._rebuild()

    def problems(self, store: ChromaStore) -> list[str]:
        """Every way this index differs from the store's complete documents (empty when in step).

        Reads the saved file afresh and re-tokenizes every chunk's text: tampered tokens
        are found even when their digest was rewritten to match.
        """
        if self._path is None or not self._path.is_file():
            return []  # not built yet (or a Chroma server's, kept in memory): built from the store on first use
        fresh = LexicalIndex(self._path.parent, self._path.name[len("lexical-") : -len(".json")])
        with fresh._lock:
            fresh._load()
        out = [fresh.load_note] if fresh.load_note else []
        wanted = {s: r.doc_hash for s, r in store.documents().items() if r.state == "complete"}
        have = fresh._docs
        for source in sorted(wanted.keys() - have.keys()):
            out.append(f"lexical index: {source} is missing")
        for source in sorted(have.keys() - wanted.keys()):
            out.append(f"lexical index: {source} is not in the store")
        both = sorted(s for s in wanted.keys() & have.keys())
        for source, chunks in store.chunks_of(both).items():
            entry = have[source]
            current = sorted((c for c in chunks if c.doc_hash == wanted[source]), key=lambda c: c.position)
            if entry["hash"] != wanted[source] or entry["ids"] != [c.id for c in current]:
                out.append(f"lexical index: {source} holds another version than the store")
            elif entry["tokens"] != index_tokens([c.text for c in current]):
                out.append(f"lexical index: the tokens of {source} do not match its text")
        return out

    def rebuild_all(self, store: ChromaStore) -> None:
        """Tokenize every document again from the store and save (``rag repair``)."""
        with self._lock:
            self._loaded = True
            self._docs = {}
            self._checked_at = float("-inf")
        self.sync(store, force=True)
        if not self._docs:
            with self._lock:
                self._rebuild()
                self._save()

    # -- searching -------------------------------------------------------------------

    def search(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """``(chunk_id, bm25 score)`` best first; only chunks with a positive score."""
        with self._lock:
            bm25, ids, chunk_sources = self._bm25, self._ids, self._sources
        if bm25 is None or top_k < 1:
            return []
        q = index_tokens([query])[0]
        if not q:
            return []
        mask = None
        if sources is not None:
            allowed = set(sources)
            mask = np.fromiter((s in allowed for s in chunk_sources), dtype=np.float32, count=len(ids))
            if not mask.any():
                return []
        scores = bm25.get_scores(q, weight_mask=mask)
        k = min(top_k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self) -> dict[str, float]:
        """Inverse document frequency of each term over the indexed chunks."""
        return self._idf

    def sentence_terms(self, chunk_id: str, text: str) -> list[list[str]]:
        """The tokens of each sentence of a chunk, remembered per chunk id."""
        with self._lock:
            cached = self._sentences.get(chunk_id)
        if cached is not None:
            return cached
        spans = split_sentences(text)
        terms = index_tokens([text[s:e] for s, e in spans])
        with self._lock:
            self._sentences[chunk_id] = terms
            while len(self._sentences) > _SENTENCE_CACHE:
                self._sentences.popitem(last=False)
        return terms

    def __len__(self) -> int:
        return len(self._ids)
