"""Embed each distinct chunk text once: reuse the vector of an identical text already embedded.

A chunk's vector depends only on the exact text the model sees and on the embedder, so
chunks with the same text (a header repeated on every page, licence boilerplate in every
file, a file of one repeated word) need one forward pass between them. Every chunk is
stored with its ``embed_key``: a hash of the embedder's identity (model id and backend)
and of that text. Before a batch is embedded, each key is looked for in the batch itself,
among the vectors this run used last, and in the store (``ChromaStore.vectors_by_key``);
only texts found nowhere reach the model. Chunks written before keys existed carry none:
they are never reused, and nothing else changes for them.

>>> reuse = VectorReuse(embedder, store.vectors_by_key)      # doctest: +SKIP
>>> vectors, keys = reuse.vectors(["Page 1 of 9", "Page 1 of 9"])  # doctest: +SKIP
>>> reuse.embedded, reuse.reused                              # doctest: +SKIP
(1, 1)
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence

from index.embedding import Embedder

EMBED_KEY = "embed_key"  # the chunk metadata field
MEMO_SIZE = 1024  # vectors remembered across batches (about 12 MB as Python lists)

Lookup = Callable[[Sequence[str]], dict[str, list[float]]]
"""``lookup(keys)``: the stored vector of every key some chunk already carries."""


def embedder_identity(embedder: Embedder) -> str:
    """Model id and backend: vectors are reused only between embedders that agree on both.

    An embedder without a ``backend`` (a wrapper, a test double) is named by its class, so
    it never takes vectors another kind of embedder made.
    """
    backend = getattr(embedder, "backend", None)
    if not isinstance(backend, str) or not backend:
        backend = f"{type(embedder).__module__}.{type(embedder).__qualname__}"
    return f"{embedder.model_id}\x00{backend}"


def embed_key(identity: str, text: str) -> str:
    """The hex sha256 of the embedder's identity and the exact text it embeds (pure)."""
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass"))
    digest.update(b"\x00")
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class VectorReuse:
    """Vectors for chunk texts, each distinct text embedded at most once; see the module docstring.

    ``embedded`` counts the texts handed to the model, ``reused`` the ones that were not.
    """

    def __init__(self, embedder: Embedder, lookup: Lookup, memo_size: int = MEMO_SIZE) -> None:
        if memo_size < 0:
            raise ValueError(f"memo_size ({memo_size}) must not be negative")
        self._embedder = embedder
        self._lookup = lookup
        self._memo: OrderedDict[str, list[float]] = OrderedDict()
        self._memo_size = memo_size
        self.identity = embedder_identity(embedder)
        self.embedded = 0
        self.reused = 0

    def keys(self, texts: Sequence[str]) -> list[str]:
        return [embed_key(self.identity, t) for t in texts]

    def vectors(self, texts: Sequence[str]) -> tuple[list[list[float]], list[str]]:
        """The vector and the key of each text, in order."""
        keys = self.keys(texts)
        found = {k: self._memo[k] for k in dict.fromkeys(keys) if k in self._memo}
        unseen = [k for k in dict.fromkeys(keys) if k not in found]
        if unseen:
            found.update(self._lookup(unseen))
        new = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}  # one text per key
        if new:
            found.update(zip(new, self._embedder.embed_documents(list(new.values())), strict=True))
        self.embedded += len(new)
        self.reused += len(texts) - len(new)
        self._remember(found)
        return [found[k] for k in keys], keys

    def _remember(self, found: dict[str, list[float]]) -> None:
        for key, vector in found.items():
            self._memo[key] = vector
            self._memo.move_to_end(key)
        while len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)
