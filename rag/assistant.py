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
from index.models import DocumentRecord, Hit, IngestReport
from index.names import document_path
from index.repair import RepairReport, set_aside
from index.repair import repair as repair_store
from index.store import ChromaStore
from rag.answering import Answerer, PreparedQuestion, nothing_found, words_a_few_at_a_time
from rag.chat import Condenser, standalone_question
from rag.condense import MessageLike
from rag.config import MAX_TOP_K, Settings
from rag.llm import LLMBackend
from rag.models import Answer
from rag.parts import Parts, assemble, open_parts
from rag.views import DocumentView, document_openings, example_questions, open_cited_document


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
    lexical_index: str = ""  # the BM25 index's folder (a Chroma server's: this machine's cache); "" in memory


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Assistant:
    """Ingest documents and answer questions about them, with citations.

    >>> from rag import Assistant
    >>> a = Assistant.open("my-index")                      # doctest: +SKIP
    >>> report = a.ingest(["docs/"])                         # doctest: +SKIP
    >>> answer = a.ask("How do I delete a document?")       # doctest: +SKIP
    >>> print(answer.text, answer.citations[0].location)    # doctest: +SKIP

    It receives its parts built (``rag.parts``): use ``Assistant.open`` (from settings) or
    ``Assistant.from_parts`` (around a store and embedder of your own).
    """

    def __init__(self, parts: Parts) -> None:
        self.settings = parts.settings
        self._store = parts.store
        self._embedder = parts.embedder
        self._lexical = parts.lexical
        self._retriever = parts.retriever
        self._answerer = parts.answerer
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
        return cls(open_parts(settings, create=create, quiet=quiet))

    @classmethod
    def from_parts(
        cls,
        *,
        store: ChromaStore,
        embedder: Embedder,
        settings: Settings | None = None,
        llm: str | LLMBackend | None = None,
        answerer: Answerer | None = None,
    ) -> Assistant:
        """An Assistant around your own ``store`` and ``embedder``; the rest is built as ``open`` builds it.

        The lexical index lives with the store (in its folder, in memory for a Chroma server).
        ``llm`` is a ``provider:model`` setting or a backend (by default ``settings.llm``);
        ``answerer`` replaces the answerer the settings name.
        """
        return cls(assemble(store=store, embedder=embedder, settings=settings, llm=llm, answerer=answerer))

    def variant(
        self,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        llm: str | LLMBackend | None = None,
        answerer: Answerer | None = None,
    ) -> Assistant:
        """Another Assistant on the same index with other settings, embedder, LLM or answerer.

        The parts not given are built again as ``from_parts`` builds them (evals compare settings so).
        """
        return Assistant.from_parts(
            store=self._store, embedder=embedder or self._embedder, settings=settings or self.settings,
            llm=llm, answerer=answerer,
        )

    @property
    def location(self) -> str:
        """Where the index lives: its folder, or the Chroma server's address."""
        return self._store.location

    @property
    def folder(self) -> Path | None:
        """The embedded index's folder (the lexical index lives there too); None for a Chroma server."""
        return self._store.folder

    @property
    def collection(self) -> str:
        """The name of the index's Chroma collection."""
        return self._store.name

    def warm_up(self) -> None:
        """Load the embedding model now and run it once, so the first question does not wait for it."""
        self._embedder.embed_query("warm up")

    def forget_queries(self) -> None:
        """Forget the remembered question vectors, so the next questions are embedded afresh."""
        self._embedder.forget_queries()

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
        with self._write_lock, self._store.writing("ingest"):
            repaired = self.repair() if self._store.damage else None  # a write that failed half-way
            in_step = self._lexical.in_step(self._store)
            report = run_ingest(
                paths, store=self._store, embedder=self._embedder, options=options,
                progress=progress, file_progress=file_progress,
            )
            changed = [*report.added, *report.updated, *report.deleted, *report.recovered,
                       *(f.path for f in report.failed)]
            if changed:
                self._update_lexical(changed, in_step)
            if repaired is not None:
                report = replace(report, notes=(*(f"repaired: {line}" for line in repaired.lines()), *report.notes))
        if changed:  # brought in step under the writer lock: in step with what it committed
            self._lexical.mark_in_step(self._store.committed_token)
        return report

    def _update_lexical(self, sources: Sequence[str], in_step: bool) -> None:
        """After a write: only ``sources`` when the lexical index was in step before it, else compare all."""
        if in_step:
            self._lexical.update(self._store, sources)
        else:
            self._lexical.sync(self._store, force=True)

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
        vector = self._embedder.embed_query(question)
        return self._retriever.retrieve(question, vector, k, self._retriever.sources_matching(sources))

    def _prepare(self, question: str, top_k: int | None, sources: str | None) -> PreparedQuestion:
        """The one preparation of ``ask`` and ``stream``: check, embed, retrieve, timed."""
        k = self._top_k(top_k)
        question = question.strip()
        if not question:
            raise RagError("the question is empty; type a question")
        started = time.perf_counter()
        self._check_model()
        vector = self._embedder.embed_query(question)
        embedded = time.perf_counter()
        hits = self._retriever.retrieve(question, vector, k, self._retriever.sources_matching(sources))
        retrieved = time.perf_counter()
        return PreparedQuestion(
            question, tuple(vector), tuple(hits), started, (embedded - started) * 1000, (retrieved - embedded) * 1000
        )

    @staticmethod
    def _finish(answer: Answer, question: PreparedQuestion) -> Answer:
        answer.timings.update(
            embed=question.embed_ms,
            retrieve=question.retrieve_ms,
            total=(time.perf_counter() - question.started) * 1000,
        )
        return answer

    def ask(self, question: str, *, top_k: int | None = None, sources: str | None = None) -> Answer:
        """Answer ``question`` from the indexed documents, citing them as ``[n]``."""
        prepared = self._prepare(question, top_k, sources)
        if not prepared.hits:
            return self._finish(nothing_found(prepared, self.backend_name), prepared)
        return self._finish(self._answerer.answer(prepared), prepared)

    def stream(
        self, question: str, *, top_k: int | None = None, sources: str | None = None
    ) -> Iterator[str | Answer]:
        """Yield the answer text in pieces as it is produced, then the final ``Answer``.

        With an LLM the pieces are its tokens as generated, and the final ``Answer``
        (citations checked, invented ``[n]`` removed) replaces them. The extractive
        answerer has its whole text at once; it is yielded a few words at a time so
        every front end handles one streaming path.
        """
        prepared = self._prepare(question, top_k, sources)
        if not prepared.hits:
            answer = self._finish(nothing_found(prepared, self.backend_name), prepared)
            yield from words_a_few_at_a_time(answer.text)
            yield answer
            return
        for item in self._answerer.stream(prepared):
            yield self._finish(item, prepared) if isinstance(item, Answer) else item

    @property
    def backend_name(self) -> str:
        """The answer backend: "extractive", or the LLM's ``provider:model``."""
        return self._answerer.name

    def _condenser(self) -> Condenser | None:
        """The answerer, when it rewrites follow-ups itself (an LLM); else the rule does."""
        return self._answerer if isinstance(self._answerer, Condenser) else None

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
        question, rewritten = standalone_question(messages, self._condenser(), self.settings.history_tokens)
        answer = self.ask(rewritten or question, top_k=top_k, sources=sources)
        return replace(answer, question=question, standalone_question=rewritten)

    def chat_stream(
        self, messages: Sequence[MessageLike], *, top_k: int | None = None, sources: str | None = None
    ) -> Iterator[str | Answer]:
        """``chat`` as a stream: text pieces, then the final ``Answer`` (as ``stream``)."""
        self._top_k(top_k)
        question, rewritten = standalone_question(messages, self._condenser(), self.settings.history_tokens)
        for item in self.stream(rewritten or question, top_k=top_k, sources=sources):
            yield replace(item, question=question, standalone_question=rewritten) if isinstance(item, Answer) else item

    def _check_model(self) -> None:
        check_model(self._store, self._embedder)

    def sources(self) -> list[DocumentRecord]:
        """Indexed documents, by display path."""
        return sorted(self._store.documents().values(), key=lambda r: r.display)

    def open_source(self, chunk_id: str, max_bytes: int | None = None) -> DocumentView:
        """The indexed document a citation's chunk comes from (``rag.views.open_cited_document``).

        ``max_bytes`` bounds the file read again (by default the ``max_file_mb`` setting).
        """
        limit = self.settings.max_file_bytes if max_bytes is None else max_bytes
        return open_cited_document(self._store, chunk_id, limit)

    def example_questions(self, limit: int = 3) -> list[str]:
        """A few questions to start with, from the documents' titles or first headings."""
        records = self.sources()
        return example_questions(records, limit, document_openings(self._store, records))

    def delete(self, paths: Sequence[str | Path]) -> list[str]:
        """Remove documents (or every document under a folder) from the index.

        Paths may be given as on disk (absolute or relative to the working folder,
        the file need not exist any more) or as shown by ``sources()``.
        """
        if isinstance(paths, (str, Path)):
            paths = [paths]
        records = self._store.documents()
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
        with self._write_lock, self._store.writing("delete"):
            in_step = self._lexical.in_step(self._store)
            remove_documents(self._store, targets)
            self._update_lexical(targets, in_step)
        self._lexical.mark_in_step(self._store.committed_token)
        return targets

    def status(self) -> IndexStatus:
        built = self._store.fingerprint()  # None: no index yet, so show what one would be built with
        records = self._store.documents()
        location = self._store.location
        folder = self._store.folder  # None for a Chroma server
        size = _folder_size(folder) if folder is not None and folder.is_dir() else None
        return IndexStatus(
            location=location,
            collection=self._store.name,
            model=built.model_id if built else self._embedder.model_id,
            dimension=built.dimension if built else 0,
            chunk_size=built.chunk_size if built else self.settings.chunk_size,
            chunk_overlap=built.chunk_overlap if built else self.settings.chunk_overlap,
            documents=len(records),
            chunks=self._store.count_chunks(),
            pages=sum(r.pages for r in records.values()),
            size_bytes=size,
            exists=built is not None,
            lexical_index=str(self._lexical.path or ""),
            **self._embedder_status(),
        )

    def _embedder_status(self) -> dict[str, Any]:
        from index.onnx_embedding import OnnxEmbedder

        if isinstance(self._embedder, OnnxEmbedder):
            path = self._embedder.onnx_path
            return {"embed_backend": self._embedder.backend, "embed_cache": str(path),
                    "embed_cache_ready": path.is_file()}
        return {"embed_backend": str(getattr(self._embedder, "backend", ""))}

    def check(self) -> list[str]:
        """Ways the index is damaged or inconsistent (empty when sound); see ``check_report``."""
        return list(self.check_report().problems)

    def check_report(self, *, sample: int = 200) -> CheckReport:
        """Every chunk's vector readable and found by its own text (``sample`` of them at most),
        the manifest and the chunks in agreement, the lexical index in step (``index.check``)."""
        return check_store(self._store, self._embedder, self._lexical, sample=sample)

    def repair(self) -> RepairReport:
        """Rebuild what is damaged from what is intact, embedding again only lost vectors."""
        with self._write_lock:
            return repair_store(self._store, self._embedder, self._lexical)

    def reset(self) -> None:
        """Delete every document and chunk of this knowledge base (a damaged one too)."""
        with self._write_lock, self._store.writing("reset"):
            if self._store.damage:
                set_aside(self._store, [self._store.name, f"{self._store.name}-documents"])
                self._store.damage = []
            self._store.drop()
            self._lexical.sync(self._store, force=True)
