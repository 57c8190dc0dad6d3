"""The one place that builds an Assistant's parts: store, embedder, lexical index, retriever, answerer.

``Assistant.open`` builds every part from ``Settings``; ``Assistant.from_parts`` takes a
store and an embedder built by the caller and builds the rest here, the same way. The
``Assistant`` receives the finished ``Parts`` and builds nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, cast

from index.embedding import Embedder, SentenceTransformerEmbedder
from index.lexical import LexicalIndex
from index.store import ChromaStore
from rag.answering import ANSWERERS, Answerer, AnswererParts, answerer_name
from rag.config import Settings, check_index_folder
from rag.extractive import ExtractiveAnswerer
from rag.llm import LLMBackend, build_backend
from rag.llm_answerer import LLMAnswerer
from rag.retrieval import Retriever

if TYPE_CHECKING:
    from index.onnx_embedding import OnnxEmbedder


@dataclass(frozen=True)
class Parts:
    """Everything an ``Assistant`` works with, built and wired together."""

    settings: Settings
    store: ChromaStore
    embedder: Embedder
    lexical: LexicalIndex
    retriever: Retriever
    answerer: Answerer


def build_store(settings: Settings, *, create: bool = True) -> ChromaStore:
    """The store ``settings`` name; an embedded index folder is made only when ``create`` is True."""
    if settings.chroma_url:
        return ChromaStore.http(settings.chroma_url, settings.collection)
    path = Path(settings.index_dir).expanduser()
    check_index_folder(path, create=create)
    path.mkdir(parents=True, exist_ok=True)
    return ChromaStore.persistent(str(path), settings.collection)


def build_embedder(settings: Settings, *, quiet: bool = True) -> OnnxEmbedder | SentenceTransformerEmbedder:
    """The embedder for ``settings.embed_backend``; nothing is loaded until the first text.

    ``quiet`` keeps third-party progress bars and warnings off the terminal.
    """
    if settings.embed_backend == "torch":
        return SentenceTransformerEmbedder(settings.embed_model, batch_size=settings.embed_batch_size, quiet=quiet)
    from index.onnx_embedding import OnnxEmbedder  # numpy, but not onnxruntime yet: `import rag` stays light

    return OnnxEmbedder(
        settings.embed_model, cache_dir=settings.cache_dir, quantized=settings.embed_backend == "onnx-int8",
        batch_size=settings.embed_batch_size, quiet=quiet,
    )


def build_extractive(settings: Settings, parts: AnswererParts) -> Answerer:
    """The extractive answerer, over the index's own vocabulary (its store and lexical index)."""
    return ExtractiveAnswerer(parts.embedder, settings.extractive_config(), store=parts.store, lexical=parts.lexical)


def build_llm(settings: Settings, parts: AnswererParts) -> Answerer:
    """The LLM answerer, around ``parts.llm`` or the backend ``settings.llm`` names."""
    backend = parts.llm if parts.llm is not None else build_backend(settings.llm_options())
    return LLMAnswerer(backend, settings.llm_answer_config())


def build_answerer(settings: Settings, parts: AnswererParts) -> Answerer:
    """The answerer ``settings.llm`` names (``rag.answering.ANSWERERS``); an LLM's around ``parts.llm`` if given."""
    name = "llm" if parts.llm is not None else answerer_name(settings.llm)
    module, _, function = ANSWERERS[name].partition(":")
    return cast(Answerer, getattr(import_module(module), function)(settings, parts))


def assemble(
    *,
    store: ChromaStore,
    embedder: Embedder,
    settings: Settings | None = None,
    llm: str | LLMBackend | None = None,
    answerer: Answerer | None = None,
) -> Parts:
    """The parts around a ``store`` and ``embedder``: the store's own lexical index, the retriever, the answerer.

    ``llm`` is a ``provider:model`` setting (replacing ``settings.llm``) or a backend to
    answer with; ``answerer`` replaces the one the settings name.
    """
    settings = settings or Settings()
    if isinstance(llm, str):
        settings = settings.with_(llm=llm)
    backend = None if isinstance(llm, str) else llm
    lexical = LexicalIndex.for_store(store, settings.cache_dir)  # a Chroma server's: a cache folder there
    retriever = Retriever(store, lexical, settings.retrieval, settings.fusion_config())
    if answerer is None:
        answerer = build_answerer(settings, AnswererParts(store, embedder, lexical, backend))
    return Parts(settings, store, embedder, lexical, retriever, answerer)


def open_parts(settings: Settings, *, create: bool = True, quiet: bool = True) -> Parts:
    """Every part built from ``settings`` (``Assistant.open``)."""
    return assemble(store=build_store(settings, create=create), embedder=build_embedder(settings, quiet=quiet),
                    settings=settings)
