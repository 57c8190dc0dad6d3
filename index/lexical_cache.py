"""Where a Chroma server's lexical index is kept on this machine, and what it was built from.

With ``--chroma-url`` the chunks live on the server, but BM25 needs a local index. Each
client keeps one in ``<cache>/lexical/<host>-<port>/<collection>/index/`` (tantivy, as
beside an index folder) and catches it up from the server's manifest: only documents
whose version changed since this machine last looked are downloaded and tokenized.

``cache.json`` beside it records what the index was built from: the server's URL, the
collection and the id the server gave it (a collection dropped and created again gets a
new id, and chunk ids of the same version may then hold other text), and the tokenizer
(``tokenizer_id``: a digest of what ``index_tokens`` makes of a fixed sample, the stop
words and the index's field layout). An index whose record differs is emptied and built
again. ``rag-writer.lock`` (``index.locking``) lets one process at a time change the
folder; the others wait for it, then find the index caught up.

>>> cache = ServerCache(Path("~/.cache/rag-assistant"), "http://10.0.0.5:8000", "default")   # doctest: +SKIP
>>> cache.index_path                                                                   # doctest: +SKIP
PosixPath('~/.cache/rag-assistant/lexical/10.0.0.5-8000/default/index')
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from index.atomic import write_atomically
from index.lexical_store import LexicalStoreError
from index.locking import WriterLock, read_holder
from index.text_terms import RANKING_STOP_WORDS, index_tokens

LEXICAL_FORMAT = 1  # the field layout of index.lexical_store; raise it when that changes
RECORD_FILE = "cache.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_SAMPLE = (
    "The engineers' QUANTUM-computing reports were running late; 42 résumés, naïve "
    "studies and re-indexed databases couldn't say whether it is the 3rd or 4th attempt."
)


@lru_cache(maxsize=1)
def tokenizer_id() -> str:
    """A digest that changes when the BM25 tokens of a text would change (or the index layout)."""
    probe = [LEXICAL_FORMAT, index_tokens([_SAMPLE])[0], sorted(RANKING_STOP_WORDS)]
    return hashlib.sha256(json.dumps(probe).encode()).hexdigest()[:16]


def server_key(url: str) -> str:
    """The folder name of a server: ``host-port`` (characters unsafe in a file name replaced).

    >>> server_key("http://127.0.0.1:8000")
    '127.0.0.1-8000'
    >>> server_key("https://[::1]")
    '__1-443'
    """
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    return _UNSAFE.sub("_", f"{parsed.hostname or 'server'}-{port}")


@dataclass(frozen=True)
class CacheRecord:
    """What a cached lexical index was built from (``cache.json``)."""

    server: str
    collection: str
    collection_id: str
    tokenizer: str

    def difference(self, expected: CacheRecord) -> str:
        """Why this cache cannot serve ``expected`` ("" when it can)."""
        if self.tokenizer != expected.tokenizer:
            return f"it was built by another tokenizer version ({self.tokenizer}, this one is {expected.tokenizer})"
        if self.collection != expected.collection:
            return f"it holds collection {self.collection!r}, not {expected.collection!r}"
        if expected.collection_id and self.collection_id != expected.collection_id:
            return (f"collection {expected.collection!r} on {expected.server} was created again "
                    f"(id {expected.collection_id}, the cache holds {self.collection_id or 'none'})")
        return ""


class ServerCache:
    """The cache folder of one server and collection under ``cache_dir``."""

    def __init__(self, cache_dir: Path, url: str, collection: str, *, wait_seconds: float = 120.0) -> None:
        self.folder = Path(cache_dir).expanduser() / "lexical" / server_key(url) / collection
        self.index_path = self.folder / "index"
        self.record_path = self.folder / RECORD_FILE
        self.wait_seconds = wait_seconds
        self._lock = WriterLock(self.folder)

    def read(self) -> CacheRecord | None:
        """The record of the cached index; None when absent or unreadable."""
        try:
            return CacheRecord(**json.loads(self.record_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, record: CacheRecord) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self.record_path, json.dumps(asdict(record), indent=2).encode())

    def acquire(self) -> bool:
        """Become the only process changing this cache; False when another kept it past ``wait_seconds``.

        Raises ``LexicalStoreError`` when the folder cannot be written at all.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            writable = os.access(self.folder, os.W_OK)
        except OSError as exc:
            raise LexicalStoreError(f"cannot write the lexical cache {self.folder}: {exc.strerror or exc}") from exc
        if not writable:
            raise LexicalStoreError(f"cannot write the lexical cache {self.folder}: the folder is read-only")
        deadline = time.monotonic() + self.wait_seconds
        while not self._lock.try_acquire("lexical cache"):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def release(self) -> None:
        self._lock.release()

    def busy_message(self) -> str:
        holder = read_holder(self.folder)
        who = holder.describe() if holder else "another process"
        return f"the lexical cache {self.folder} is being caught up by {who}; searching what it has committed"
