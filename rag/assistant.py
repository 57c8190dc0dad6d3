"""The Assistant: one object over the whole pipeline, for the library, CLI, UI and evals."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from index.check import CheckReport
from index.check import check as check_store
from index.compatibility import check_model
from index.embedding import Embedder
from index.errors import ConfigError, RagError
from index.ingest import FileProgressFn, ProgressFn, remove_documents
from index.ingest import ingest as run_ingest
from index.lexical import LexicalIndex
from index.models import DocumentRecord, Hit, IngestReport
from index.names import document_path
from index.repair import RepairReport, set_aside
from index.repair import repair as repair_store
from index.store import ChromaStore
from index.text_terms import index_tokens
from rag.chat import standalone_question
from rag.citations import check_extractive
from rag.condense import MessageLike
from rag.config import MAX_TOP_K, Settings, build_embedder, build_llm_answerer, build_store
from rag.extractive import NOT_FOUND, ExtractiveAnswerer
from rag.llm import LLMBackend
from rag.models import Answer
from rag.retrieval import Retriever
from rag.term_overlap import Coverage, coverage


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
    embed_backend: str = ""  # onnx, onnx-int8, torch (empty: an embedder built by the caller)
    embed_cache: str = ""  # the ONNX file the embedder runs ("" for torch)
    embed_cache_ready: bool = False  # False: it is exported on first use


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
        llm: str | LLMBackend | None = None,
    ) -> None:
        """``llm`` is a ``provider:model`` setting or a backend; by default ``settings.llm``."""
        self.settings = settings or Settings()
        if isinstance(llm, str):
            self.settings = self.settings.with_(llm=llm)
        self.llm_answerer = build_llm_answerer(self.settings, None if isinstance(llm, str) else llm)
        self.store = store
        self.embedder = embedder
        self.answerer = answerer or ExtractiveAnswerer(embedder, self.settings.extractive_config())
        self.lexical = LexicalIndex.for_store(store)
        self.retriever = Retriever(store, self.lexical, self.settings.retrieval, self.settings.fusion_config())
        self._write_lock = threading.RLock()  # ingest may repair first, under the same lock

    @classmethod
    def open(
        cls,
        index_dir: str | Path | None = None,
        *,
        settings: Settings | None = None,
        create: bool = True,
        quiet: bool = True,
        **overrides: Any,
    ) -> Assistant:
        """Build an Assistant from settings (environment, then ``overrides``).

        ``index_dir`` is the folder of the embedded Chroma index. A missing (or empty) folder
        becomes a new index unless ``create`` is False, which raises ``ConfigError`` naming it;
        a folder of other files that is not an index is always refused. ``quiet=False`` lets
        the embedding libraries show their own progress bars and warnings.
        """
        if index_dir is not None:
            overrides["index_dir"] = str(index_dir)
        settings = settings.with_(**overrides) if settings else Settings.from_env(**overrides)
        store = build_store(settings, create=create)
        return cls(store=store, embedder=build_embedder(settings, quiet=quiet), settings=settings)

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        sync: bool = False,
        tags: Sequence[str] = (),
        progress: ProgressFn | None = None,
        file_progress: FileProgressFn | None = None,
    ) -> IngestReport:
        """Add new, replace changed and (with ``sync``) drop vanished documents under ``paths``.

        ``progress`` is called after each file, ``file_progress`` within files bigger than a batch.
        """
        if isinstance(paths, (str, Path)):
            paths = [paths]
        options = self.settings.ingest_options(
            include=tuple(include), exclude=tuple(exclude), sync=sync, tags=tuple(tags)
        )
        with self._write_lock, self.store.writing("ingest"):
            repaired = self.repair() if self.store.damage else None  # a write that failed half-way
            report = run_ingest(
                paths, store=self.store, embedder=self.embedder, options=options,
                progress=progress, file_progress=file_progress,
            )
            if report.added or report.updated or report.deleted or report.recovered:
                self.lexical.sync(self.store, force=True)
            if repaired is not None:
                report = replace(report, notes=(*(f"repaired: {line}" for line in repaired.lines()), *report.notes))
            return report

    def _top_k(self, top_k: object) -> int:
        """``top_k`` checked (None: the setting), the same for every retrieval mode."""
        if top_k is None:
            return self.settings.top_k
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            raise ConfigError(
                f"top_k ({top_k!r}) must be a whole number from 1 to {MAX_TOP_K}: the passages to retrieve; "
                f"pass e.g. top_k=5, or leave it out to use the setting RAG_TOP_K ({self.settings.top_k})"
            )
        return top_k

    def retrieve(self, question: str, *, top_k: int | None = None, sources: str | None = None) -> list[Hit]:
        """The chunks most similar to ``question``; ``sources`` is a path glob filter."""
        k = self._top_k(top_k)
        self._check_model()
        vector = self.embedder.embed_query(question)
        return self.retriever.retrieve(question, vector, k, self.retriever.sources_matching(sources))

    def ask(self, question: str, *, top_k: int | None = None, sources: str | None = None) -> Answer:
        """Answer ``question`` from the indexed documents, citing them as ``[n]``."""
        k = self._top_k(top_k)
        question = question.strip()
        if not question:
            raise RagError("the question is empty; type a question")
        started = time.perf_counter()
        self._check_model()
        vector = self.embedder.embed_query(question)
        embedded = time.perf_counter()
        hits = self.retriever.retrieve(question, vector, k, self.retriever.sources_matching(sources))
        retrieved = time.perf_counter()
        if not hits:
            answer = Answer(question, NOT_FOUND, (), (), True, {"answer": 0.0}, backend=self.backend_name)
        elif self.llm_answerer is not None:
            answer = self.llm_answerer.answer(question, hits)
        else:
            self.lexical.sync(self.store)  # its vocabulary tells what the documents never mention (any mode)
            q_tokens = index_tokens([question])[0]
            unknown = coverage(q_tokens, self.lexical.idf(q_tokens)) if len(self.lexical) else Coverage()
            answer = check_extractive(self.answerer.answer(question, hits, vector, unknown=unknown), NOT_FOUND)
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

        With an LLM the pieces are its tokens as generated, and the final ``Answer``
        (citations checked, invented ``[n]`` removed) replaces them. The extractive
        answerer has its whole text at once; it is yielded a few words at a time so
        every front end handles one streaming path.
        """
        self._top_k(top_k)
        if self.llm_answerer is not None:
            yield from self._stream_llm(question, top_k=top_k, sources=sources)
            return
        answer = self.ask(question, top_k=top_k, sources=sources)
        words = answer.text.split(" ")
        for i in range(0, len(words), 4):
            yield " ".join(words[i : i + 4]) + (" " if i + 4 < len(words) else "")
        yield answer

    @property
    def backend_name(self) -> str:
        """The answer backend: "extractive", or the LLM's ``provider:model``."""
        return self.llm_answerer.backend.name if self.llm_answerer is not None else "extractive"

    def _stream_llm(self, question: str, *, top_k: int | None, sources: str | None) -> Iterator[str | Answer]:
        assert self.llm_answerer is not None
        started = time.perf_counter()
        question = question.strip()
        if not question:
            raise RagError("the question is empty; type a question")
        hits = self.retrieve(question, top_k=top_k, sources=sources)
        retrieved = time.perf_counter()
        if not hits:
            answer = Answer(question, NOT_FOUND, (), (), True, {"answer": 0.0}, backend=self.backend_name)
            yield answer.text
            yield answer
            return
        for item in self.llm_answerer.stream(question, hits):
            if isinstance(item, Answer):
                item.timings.update(retrieve=(retrieved - started) * 1000,
                                    total=(time.perf_counter() - started) * 1000)
            yield item

    def chat(self, messages: Sequence[MessageLike], *, top_k: int | None = None, sources: str | None = None) -> Answer:
        """Answer the last user message of a conversation; a follow-up is first made standalone.

        ``messages`` are ``{"role": "user"|"assistant", "content": str}`` dicts (or
        ``rag.condense.Message``), oldest first. ``Answer.question`` is the last
        message as typed, ``Answer.standalone_question`` what was searched for
        ("" when it needed no rewriting).

        >>> a.chat([{"role": "user", "content": "Who founded Acme?"},      # doctest: +SKIP
        ...         {"role": "assistant", "content": "Jane Roe [1]."},
        ...         {"role": "user", "content": "and when?"}]).standalone_question
        """
        self._top_k(top_k)
        question, rewritten = standalone_question(messages, self.llm_answerer, self.settings.history_tokens)
        answer = self.ask(rewritten or question, top_k=top_k, sources=sources)
        return replace(answer, question=question, standalone_question=rewritten)

    def chat_stream(
        self, messages: Sequence[MessageLike], *, top_k: int | None = None, sources: str | None = None
    ) -> Iterator[str | Answer]:
        """``chat`` as a stream: text pieces, then the final ``Answer`` (as ``stream``)."""
        self._top_k(top_k)
        question, rewritten = standalone_question(messages, self.llm_answerer, self.settings.history_tokens)
        for item in self.stream(rewritten or question, top_k=top_k, sources=sources):
            yield replace(item, question=question, standalone_question=rewritten) if isinstance(item, Answer) else item

    def _check_model(self) -> None:
        check_model(self.store, self.embedder)

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
                if document_path(s) == absolute or document_path(s).is_relative_to(absolute)
                or r.display == str(raw)
            ]
            if not matched:
                raise RagError(f"not in the index: {raw} (see `rag sources` for what is indexed)")
            targets.extend(m for m in matched if m not in targets)
        with self._write_lock, self.store.writing("delete"):
            remove_documents(self.store, targets)
            self.lexical.sync(self.store, force=True)
        return targets

    def status(self) -> IndexStatus:
        built = self.store.fingerprint()  # None: no index yet, so show what one would be built with
        records = self.store.documents()
        location = self.store.location
        size = _folder_size(Path(location)) if not self.settings.chroma_url and Path(location).is_dir() else None
        return IndexStatus(
            location=location,
            collection=self.store.name,
            model=built.model_id if built else self.embedder.model_id,
            dimension=built.dimension if built else 0,
            chunk_size=built.chunk_size if built else self.settings.chunk_size,
            chunk_overlap=built.chunk_overlap if built else self.settings.chunk_overlap,
            documents=len(records),
            chunks=self.store.count_chunks(),
            pages=sum(r.pages for r in records.values()),
            size_bytes=size,
            exists=built is not None,
            **self._embedder_status(),
        )

    def _embedder_status(self) -> dict[str, Any]:
        from index.onnx_embedding import OnnxEmbedder

        if isinstance(self.embedder, OnnxEmbedder):
            path = self.embedder.onnx_path
            return {"embed_backend": self.embedder.backend, "embed_cache": str(path),
                    "embed_cache_ready": path.is_file()}
        return {"embed_backend": str(getattr(self.embedder, "backend", ""))}

    def check(self) -> list[str]:
        """Ways the index is damaged or inconsistent (empty when sound); see ``check_report``."""
        return list(self.check_report().problems)

    def check_report(self, *, sample: int = 200) -> CheckReport:
        """Every chunk's vector readable and found by its own text (``sample`` of them at most),
        the manifest and the chunks in agreement, the lexical index in step (``index.check``)."""
        return check_store(self.store, self.embedder, self.lexical, sample=sample)

    def repair(self) -> RepairReport:
        """Rebuild what is damaged from what is intact, embedding again only lost vectors."""
        with self._write_lock:
            return repair_store(self.store, self.embedder, self.lexical)

    def reset(self) -> None:
        """Delete every document and chunk of this knowledge base (a damaged one too)."""
        with self._write_lock, self.store.writing("reset"):
            if self.store.damage:
                set_aside(self.store, [self.store.name, f"{self.store.name}-documents"])
                self.store.damage = []
            self.store.drop()
            self.lexical.sync(self.store, force=True)
