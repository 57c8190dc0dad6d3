"""An embedder wrapper that keeps the document texts it was asked to embed (benchmarks and tests)."""

from __future__ import annotations

from collections.abc import Sequence

from index.embedding import Embedder


class RecordingEmbedder:
    """Delegates to an embedder and keeps the document texts it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def backend(self) -> str:
        """The wrapped embedder's backend, so vectors are reused between the two (``index.reuse``)."""
        return str(getattr(self.inner, "backend", ""))

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def forget_queries(self) -> None:
        self.inner.forget_queries()
