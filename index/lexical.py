"""The BM25 index over the chunks of a store (tantivy, on disk), kept in step with it.

The lexical index is derived state: Chroma's manifest says which version of each
document is indexed, and ``sync`` brings the index to exactly that, tokenizing and
writing only the documents that changed (``index.lexical_store``: each document's
chunks carry its version, a change is one tantivy commit). A process killed during a
sync leaves the last commit; the next ``sync`` sees from the versions what is still
missing and writes it. Opening maps the index files; nothing is read in full.

The index lives in the folder ``lexical-NAME/`` beside Chroma's files. For a Chroma
server it lives in a cache folder of this machine (``index.lexical_cache``:
``<cache>/lexical/<host>-<port>/<collection>/index/``), caught up from the server's
manifest the same way, so a client that saw the index yesterday downloads and tokenizes
only what changed since; a process changes it only while holding the cache's lock, and a
cache built from another tokenizer or another incarnation of the collection is emptied
and built again, with one warning. A JSON sidecar ``lexical-NAME.json`` left by an older version is moved
into it on first open, with a progress bar, and removed. A folder tantivy cannot open is
removed and rebuilt from the store; a folder that cannot be written (read-only) is
replaced by an index in memory, built from the store. ``problems`` compares the index
with the store (documents, versions, chunk ids, and the stems of every chunk against
its text re-tokenized) for ``rag check``.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from index.lexical_cache import CacheRecord, ServerCache, tokenizer_id
from index.lexical_legacy import read_sidecar
from index.lexical_mark import clear_mark, read_mark, write_mark
from index.lexical_store import Chunk, LexicalStore, LexicalStoreBusyError, LexicalStoreError
from index.models import DocumentRecord
from index.sentences import split_sentences
from index.state import state_token
from index.store import ChromaStore
from index.text_terms import idf_from_counts, index_tokens

_SENTENCE_CACHE = 50_000
BATCH_DOCUMENTS = 200  # documents per commit during a sync: a crash loses at most one batch of work

log = logging.getLogger(__name__)
T = TypeVar("T")
Change = tuple[str, str | None, list[Chunk]]  # (source, version or None to delete, chunks)


def _wanted(records: dict[str, DocumentRecord]) -> dict[str, str]:
    """The documents the lexical index must hold, and their versions (those complete with chunks)."""
    return {s: r.doc_hash for s, r in records.items() if r.state == "complete" and r.chunks > 0}


def _current_tokens(store: ChromaStore, wanted: dict[str, str], sources: Sequence[str]) -> Iterator[Change]:
    """Each document's current chunks, tokenized: the changes that bring ``sources`` in step."""
    for source, chunks in store.chunks_of(list(sources)).items():
        current = sorted((c for c in chunks if c.doc_hash == wanted[source]), key=lambda c: c.position)
        tokens = index_tokens([c.text for c in current])
        yield source, wanted[source], [(c.id, t) for c, t in zip(current, tokens, strict=True)]


class LexicalIndex:
    """BM25 over a store's chunks; ``folder`` holds ``lexical-NAME/`` (None: ``cache``'s folder, or memory only).

    >>> lexical = LexicalIndex.for_store(store)   # doctest: +SKIP
    >>> lexical.sync(store); lexical.search("quantum computing", 10)   # doctest: +SKIP
    """

    @classmethod
    def for_store(cls, store: ChromaStore, cache_dir: Path | str | None = None) -> LexicalIndex:
        """The lexical index of ``store``: a folder in its index folder; for a Chroma server one
        in ``cache_dir`` (``Settings.cache_dir``), or in memory without one."""
        if store.folder is None and cache_dir:
            return cls(None, store.name, cache=ServerCache(Path(cache_dir), store.location, store.name))
        return cls(store.folder, store.name)

    def __init__(
        self, folder: Path | None, name: str, *, recheck_seconds: float = 2.0, cache: ServerCache | None = None
    ) -> None:
        self.cache = cache if folder is None else None
        self.path = folder / f"lexical-{name}" if folder is not None else None
        if self.cache is not None:
            self.path = self.cache.index_path
        self._legacy = folder / f"lexical-{name}.json" if folder is not None else None
        self._recheck = recheck_seconds
        self._lock = threading.Lock()
        self._engine: LexicalStore | None = None
        self._checked_at = float("-inf")
        self._synced_token: tuple[int, int] | None = None  # the store's state token when last found in step
        self._sentences: OrderedDict[str, list[list[str]]] = OrderedDict()
        self.load_note = ""  # what was wrong with the index when it was opened, for `rag check`
        self.save_error = ""  # why the index is kept in memory (a read-only folder, a full disk)
        self.tokenized = 0  # documents this process tokenized to catch up (a server's cache: only what changed)

    # -- opening -----------------------------------------------------------------------

    def _open(self) -> LexicalStore:
        if self._engine is not None:
            return self._engine
        if self.path is None:
            self._engine = LexicalStore(None)
            return self._engine
        try:
            engine = LexicalStore(self.path)
        except LexicalStoreError as exc:
            engine = self._open_again(exc)
        self._engine = engine
        self._synced_token = None if self.save_error else read_mark(self.path)  # an index in memory starts empty
        if self._legacy is not None and self._legacy.is_file():
            self._migrate(self._legacy)
        return self._engine

    def _open_again(self, error: LexicalStoreError) -> LexicalStore:
        """A folder tantivy cannot open: remove it and start empty (the store has everything)."""
        assert self.path is not None
        self.load_note = f"{self.path} could not be opened ({error}); rebuilt from the store"
        if self.cache is not None:
            log.warning("lexical cache %s is damaged (%s); building it again from the server", self.path, error)
        try:
            with self._guard() as held:
                if not held:
                    return self._in_memory(LexicalStoreError(self.cache.busy_message() if self.cache else ""))
                if self.cache is not None and self.path.is_dir():
                    self.cache.record_path.unlink(missing_ok=True)
                shutil.rmtree(self.path)
                return LexicalStore(self.path)
        except (OSError, LexicalStoreError) as exc:
            return self._in_memory(exc)

    def _in_memory(self, error: Exception) -> LexicalStore:
        self.save_error = f"cannot write {self.path}: {error}; the lexical index is kept in memory"
        self.cache = None  # from now on built from the store in memory, like any index in memory
        self._engine = LexicalStore(None)
        return self._engine

    @contextmanager
    def _guard(self) -> Iterator[bool]:
        """Hold the server cache's lock for the block (always True without a cache).

        False when another process kept it too long; ``LexicalStoreError`` when the
        cache folder cannot be written.
        """
        if self.cache is None:
            yield True
            return
        cache = self.cache
        held = cache.acquire()
        try:
            yield held
        finally:
            if held:
                cache.release()

    def _check_record(self, store: ChromaStore) -> None:
        """Empty a server cache built from another tokenizer or collection; record what it holds now."""
        cache = self.cache
        if cache is None:
            return
        expected = CacheRecord(store.location, store.name, store.collection_id(), tokenizer_id())
        record = cache.read()
        engine = self._open()
        engine.refresh()
        if record == expected:
            return
        why = f"{cache.record_path} is missing or unreadable" if record is None else record.difference(expected)
        if why and engine.count() > 0:
            log.warning("lexical cache %s: %s; building it again from %s", cache.folder, why, store.location)
            self.load_note = f"lexical cache {cache.folder}: {why}; built again"
            if not self._write([], clear=True):
                return
        if not expected.collection_id and record is not None and not why:
            return  # the collection is absent just now: keep the id of the one the cache holds
        try:
            cache.write(expected)
        except OSError as exc:
            self.save_error = f"cannot write {cache.record_path}: {exc.strerror or exc}"

    def _migrate(self, legacy: Path) -> None:
        """Move the tokens of an old JSON sidecar into the index, then remove the file."""
        docs, note = read_sidecar(legacy)
        if note:
            self.load_note = note
        changes = [(s, e["hash"], list(zip(e["ids"], e["tokens"], strict=True))) for s, e in sorted(docs.items())]
        bar = tqdm(total=len(changes), desc=f"migrating {legacy.name}", unit="doc", file=sys.stderr,
                   disable=not changes)
        with bar:
            for batch in _batches(changes, BATCH_DOCUMENTS):
                if not self._write(batch):
                    return  # kept in memory (read-only folder): the sync that follows builds it
                bar.update(len(batch))
        try:
            legacy.unlink()
        except OSError as exc:
            self.save_error = f"cannot remove {legacy} after moving it into {self.path}: {exc.strerror or exc}"

    def _write(self, changes: Iterable[Change], *, clear: bool = False) -> bool:
        """Commit ``changes``; False when the folder cannot be written and the index moved to memory.

        ``changes`` may be lazy (tokenized while the writer is open): nothing of them is
        visible before the commit. Another writer holding the lock raises
        ``LexicalStoreBusyError`` (``sync`` waits for its next turn); any other failure (a
        read-only folder, a full disk) keeps the folder as it was and moves this process to
        an index in memory, so questions are still answered.
        """
        engine = self._open()
        if self.path is not None and not self.save_error:
            clear_mark(self.path)
        self._synced_token = None
        try:
            engine.replace_documents(changes, clear=clear)
        except LexicalStoreBusyError:
            raise
        except (OSError, ValueError, LexicalStoreError) as exc:
            if self.path is None:
                raise
            self._in_memory(exc)
            return False
        return True

    # -- keeping in step -------------------------------------------------------------

    def sync(self, store: ChromaStore, *, force: bool = False) -> bool:
        """Match the store's manifest; returns True when anything changed.

        When another process is writing the index right now, this one keeps searching
        what was last committed and tries again at its next sync.
        """
        with self._lock:
            self._open()
            now = time.monotonic()
            if not force and now - self._checked_at < self._recheck:
                return False
            self._checked_at = now
            # an index folder's state file changes with every committed write: while it does not,
            # the index found in step last time still is, and the manifest is not read again
            token = state_token(store.folder) if store.folder is not None else None
            if not force and token is not None and token == self._synced_token:
                return False
            try:
                with self._guard() as held:
                    if not held:
                        raise LexicalStoreBusyError(self.cache.busy_message() if self.cache else "busy")
                    return self._catch_up(store, token)
            except LexicalStoreBusyError as exc:
                self.save_error = str(exc)
                self._checked_at = float("-inf")
                self._synced_token = None
                self._open().refresh()
                return False
            except LexicalStoreError as exc:  # the cache folder cannot be written: build it in memory
                self._in_memory(exc)
                return self._catch_up(store, token)

    def _catch_up(self, store: ChromaStore, token: tuple[int, int] | None) -> bool:
        self._check_record(store)
        engine = self._open()
        engine.refresh()
        wanted = _wanted(store.documents())
        have = engine.documents()
        stale = [s for s in sorted(have) if s not in wanted]
        missing = [s for s in sorted(wanted) if have.get(s) != wanted[s]]
        changed = bool(stale or missing)
        if changed:
            before = self.tokenized
            self._apply(store, wanted, stale, missing)
            log.info("lexical index %s: %d documents tokenized, %d removed (caught up with %s)",
                     self.path or "in memory", self.tokenized - before, len(stale), store.location)
        if token is not None and token != self._synced_token and not self.save_error:
            write_mark(self.path, token)
        self._synced_token = token
        return changed

    def _apply(self, store: ChromaStore, wanted: dict[str, str], stale: list[str], missing: list[str]) -> None:
        if stale and not self._write([(s, None, []) for s in stale]):
            missing = sorted(wanted)  # now in memory: everything is to be written
        for sources in _batches(missing, BATCH_DOCUMENTS):
            if not self._write(_current_tokens(store, wanted, sources)):
                return self._apply(store, wanted, [], sorted(wanted))
            self.tokenized += len(sources)
        return None

    def in_step(self, store: ChromaStore) -> bool:
        """True when this index was found in step with the store's folder as it is now (embedded only)."""
        with self._lock:
            self._open()
            if store.folder is None or self._synced_token is None or self.save_error:
                return False
            return state_token(store.folder) == self._synced_token

    def update(self, store: ChromaStore, sources: Sequence[str]) -> None:
        """After this process wrote ``sources`` (holding the writer lock): bring only those in step.

        Reads their manifest records, not the whole manifest: one document replaced in an
        index of a million passages costs that document. An index moved to memory by a
        failed write is filled from the whole store instead.
        """
        with self._lock:
            self._open()
            wanted = _wanted(store.documents_of(list(sources)))
            stale = sorted(s for s in set(sources) if s not in wanted)
            self._apply(store, wanted, stale, sorted(wanted))
            if self.save_error:
                self._catch_up(store, None)
            self._checked_at = time.monotonic()

    def mark_in_step(self, token: tuple[int, int] | None) -> None:
        """Record that the index is in step with the store's commit ``token`` (after ``update``)."""
        with self._lock:
            if token is not None and not self.save_error:
                write_mark(self.path, token)
                self._synced_token = token

    def reload(self) -> None:
        """See what another process committed: the next ``sync`` compares afresh."""
        with self._lock:
            if self._engine is not None:
                self._engine.refresh()
            self._checked_at = float("-inf")
            self._synced_token = None

    def problems(self, store: ChromaStore) -> list[str]:
        """Every way this index differs from the store's complete documents (empty when in step).

        Opens the folder afresh and re-tokenizes every chunk's text, so stems that do not
        match the text are found whatever version they carry.
        """
        if self.path is None or not self.path.is_dir():
            return []  # not built yet (or a Chroma server's, kept in memory): built from the store on first use
        try:
            fresh = LexicalStore(self.path)
        except LexicalStoreError as exc:
            return [f"lexical index: {exc}"]
        out = [self.load_note] if self.load_note else []
        wanted = _wanted(store.documents())
        have = fresh.documents()
        out += [f"lexical index: {s} is missing" for s in sorted(wanted.keys() - have.keys())]
        out += [f"lexical index: {s} is not in the store" for s in sorted(have.keys() - wanted.keys())]
        both = sorted(wanted.keys() & have.keys())
        for source, _, chunks in _current_tokens(store, wanted, both):
            indexed = fresh.chunks_of(source)
            if have[source] != wanted[source] or sorted(indexed) != sorted(c for c, _ in chunks):
                out.append(f"lexical index: {source} holds another version than the store")
            elif any(indexed[c] != list(t) for c, t in chunks):
                out.append(f"lexical index: the tokens of {source} do not match its text")
        return out

    def rebuild_all(self, store: ChromaStore) -> None:
        """Tokenize every document again from the store and replace the whole index (``rag repair``)."""
        with self._lock:
            self._open()
            try:
                with self._guard() as held:
                    if not held:
                        raise LexicalStoreBusyError(self.cache.busy_message() if self.cache else "busy")
                    self._rebuild(store)
            except LexicalStoreBusyError:
                raise
            except LexicalStoreError as exc:
                self._in_memory(exc)
                self._rebuild(store)
            self._checked_at = time.monotonic()
            self._synced_token = None  # the next sync compares once: a write may have come meanwhile
            self.load_note = ""

    def _rebuild(self, store: ChromaStore) -> None:
        self._check_record(store)
        wanted = _wanted(store.documents())
        sources = sorted(wanted)
        first = sources[:BATCH_DOCUMENTS]
        if self._write(_current_tokens(store, wanted, first), clear=True):
            self.tokenized += len(first)
            self._apply(store, wanted, [], sources[BATCH_DOCUMENTS:])
        else:
            self._apply(store, wanted, [], sources)

    # -- searching -------------------------------------------------------------------

    def search(self, query: str, top_k: int, sources: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """``(chunk_id, bm25 score)`` best first; only chunks holding a term of the query."""
        with self._lock:
            engine = self._open()
        return engine.search(index_tokens([query])[0], top_k, sources)

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """Inverse document frequency of each of ``terms`` that occurs in the indexed chunks."""
        with self._lock:
            engine = self._open()
        chunks, counts = engine.doc_freq(terms)
        return idf_from_counts(counts, chunks)

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
        with self._lock:
            engine = self._open()
        return engine.count()


def _batches(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])
