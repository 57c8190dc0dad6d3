"""The Assistant: one object over the whole pipeline, for the library, CLI, UI and evals."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.embedding import Embedder
from index.errors import RagError
from index.ingest import IngestOptions, ProgressFn, consistency_problems, delete_documents, fingerprint_for
from index.ingest import ingest as run_ingest
from index.models import DocumentRecord, Hit, IngestReport
from index.store import ChromaStore
from rag.config import Settings, build_embedder, build_store
from rag.extractive import NOT_FOUND, ExtractiveAnswerer, ExtractiveConfig
from rag.models import Answer
from rag.retrieval import DenseRetriever


@dataclass(frozen=True)
class IndexStatus:
    """What ``rag status`` shows."""

    location: str
    collection: str
    model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    documents: int
    chunks: int
    pages: int
    size_bytes: int | None
    exists: bool


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Assistant:
    """Ingest documents and answer questions about them, with citations.

    >>> from rag import Assistant
    >>> a = Assistant.open("my-index")                      # doctest: +SKIP
    >>> report = a.ingest(["docs/"])                         # doctest: +SKIP
    >>> answer = a.ask("How do I delete a document?")       # doctest: +SKIP
    >>> print(answer.text, answer.citations[0].location)    # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        store: ChromaStore,
        embedder: Embedder,
        answerer: ExtractiveAnswerer | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.store = store
        self.embedder = embedder
        self.answerer = answerer or ExtractiveAnswerer(
            embedder, ExtractiveConfig(max_sentences=self.settings.answer_sentences)
        )
        self.retriever = DenseRetriever(store, embedder)
        self._write_lock = threading.Lock()

    @classmethod
    def open(
        cls, index_dir: str | Path | None = None, *, settings: Settings | None = None, **overrides: Any
    ) -> Assistant:
        """Build an Assistant from settings (environment, then ``overrides``).

        ``index_dir`` is the folder of the embedded Chroma index.
        """
        if index_dir is not None:
            overrides["index_dir"] = str(index_dir)
        settings = settings.with_(**overrides) if settings else Settings.from_env(**overrides)
        return cls(store=build_store(settings), embedder=build_embedder(settings), settings=settings)

    def _options(self, **kw: Any) -> IngestOptions:
        return IngestOptions(
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
            max_bytes=int(self.settings.max_file_mb * 1_000_000),
            **kw,
        )

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        sync: bool = False,
        tags: Sequence[str] = (),
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Add new, replace changed and (with ``sync``) drop vanished documents under ``paths``."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        options = self._options(include=tuple(include), exclude=tuple(exclude), sync=sync, tags=tuple(tags))
        with self._write_lock:
            return run_ingest(paths, store=self.store, embedder=self.embedder, options=options, progress=progress)

    def retrieve(self, question: str, *, top_k: int | None = None, sources: str | None = None) -> list[Hit]:
        """The chunks most similar to ``question``; ``sources`` is a path glob filter."""
        self._check_model()
        vector = self.embedder.embed_query(question)
        return self.retriever.retrieve(vector, top_k or self.settings.top_k, self.retriever.sources_matching(sources))

    def ask(self, question: str, *, top_k: int | None = None, sources: str | None = None) -> Answer:
        """Answer ``question`` from the indexed documents, citing them as ``[n]``."""
        question = question.strip()
        if not question:
            raise RagError("the question is empty; type a question")
        started = time.perf_counter()
        self._check_model()
        vector = self.embedder.embed_query(question)
        embedded = time.perf_counter()
        hits = self.retriever.retrieve(
            vector, top_k or self.settings.top_k, self.retriever.sources_matching(sources)
        )
        retrieved = time.perf_counter()
        if not hits:
            answer = Answer(question, NOT_FOUND, (), (), True, {"answer": 0.0})
        else:
            answer = self.answerer.answer(question, hits, vector)
        answer.timings.update(
            embed=(embedded - started) * 1000,
            retrieve=(retrieved - embedded) * 1000,
            total=(time.perf_counter() - started) * 1000,
        )
        return answer

    def stream(
        self, question: str, *, top_k: int | None = None, sources: str | None = None
    ) -> Iterator[str | Answer]:
        """Yield the answer text in pieces as it is produced, then the final ``Answer``.

        The extractive answerer has its whole text at once; it is yielded a few
        words at a time so every front end handles one streaming path.
        """
        answer = self.ask(question, top_k=top_k, sources=sources)
        words = answer.text.split(" ")
        for i in range(0, len(words), 4):
            yield " ".join(words[i : i + 4]) + (" " if i + 4 < len(words) else "")
        yield answer

    def _check_model(self) -> None:
        fingerprint = fingerprint_for(self.embedder, self._options())
        self.store.check(fingerprint, check_chunking=False)

    def sources(self) -> list[DocumentRecord]:
        """Indexed documents, by display path."""
        return sorted(self.store.documents().values(), key=lambda r: r.display)

    def delete(self, paths: Sequence[str | Path]) -> list[str]:
        """Remove documents (or every document under a folder) from the index.

        Paths may be given as on disk (absolute or relative to the working folder,
        the file need not exist any more) or as shown by ``sources()``.
        """
        if isinstance(paths, (str, Path)):
            paths = [paths]
        records = self.store.documents()
        targets: list[str] = []
        for raw in paths:
            absolute = Path(raw).expanduser().absolute()
            matched = [
                s for s, r in records.items()
                if Path(s) == absolute or Path(s).is_relative_to(absolute) or r.display == str(raw)
            ]
            if not matched:
                raise RagError(f"not in the index: {raw} (see `rag sources` for what is indexed)")
            targets.extend(m for m in matched if m not in targets)
        with self._write_lock:
            delete_documents(self.store, targets)
        return targets

    def status(self) -> IndexStatus:
        meta = self.store.fingerprint()
        records = self.store.documents()
        location = self.store.location
        size = _folder_size(Path(location)) if not self.settings.chroma_url and Path(location).is_dir() else None
        return IndexStatus(
            location=location,
            collection=self.store.name,
            model=str(meta.get("embedding_model", self.embedder.model_id)),
            dimension=int(meta.get("embedding_dim", 0)),
            chunk_size=int(meta.get("chunk_size", self.settings.chunk_size)),
            chunk_overlap=int(meta.get("chunk_overlap", self.settings.chunk_overlap)),
            documents=len(records),
            chunks=self.store.count_chunks(),
            pages=sum(r.pages for r in records.values()),
            size_bytes=size,
            exists=bool(meta),
        )

    def check(self) -> list[str]:
        """Ways the index is inconsistent (empty when sound)."""
        return consistency_problems(self.store)

    def reset(self) -> None:
        """Delete every document and chunk of this knowledge base."""
        with self._write_lock:
            self.store.drop()
