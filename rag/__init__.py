"""Ask questions of your documents and get answers with exact citations.

>>> from rag import Assistant
>>> a = Assistant.open("my-index")   # doctest: +SKIP

Everything a library user needs is importable from here, including the parts to build an
``Assistant`` yourself (``Assistant.from_parts``): a ``ChromaStore``, an embedder
(``OnnxEmbedder``, ``SentenceTransformerEmbedder``, or any ``Embedder``), an ``LLMBackend``,
and the ``Answerer`` protocol with the ``PreparedQuestion`` it answers.
"""

from __future__ import annotations

from index.check import CheckReport
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.models import Chunk, DocumentRecord, FileFailure, Hit, IngestReport
from index.onnx_embedding import OnnxEmbedder
from index.repair import RepairReport
from index.store import ChromaStore
from rag.answering import Answerer, PreparedQuestion
from rag.assistant import Assistant, IndexStatus
from rag.condense import Message
from rag.config import Settings
from rag.errors import (
    ConfigError,
    IndexBusyError,
    IndexDamagedError,
    IndexMismatchError,
    IngestError,
    LLMError,
    RagError,
    StoreError,
)
from rag.extractive import ExtractiveAnswerer
from rag.llm import LLMBackend
from rag.llm_answerer import LLMAnswerer
from rag.models import Answer, Citation
from rag.unit_scores import ExtractiveConfig
from rag.views import DocumentView

__all__ = [
    "Answer",
    "Answerer",
    "Assistant",
    "CheckReport",
    "ChromaStore",
    "Chunk",
    "Citation",
    "ConfigError",
    "DocumentRecord",
    "DocumentView",
    "Embedder",
    "ExtractiveAnswerer",
    "ExtractiveConfig",
    "FileFailure",
    "Hit",
    "IndexBusyError",
    "IndexDamagedError",
    "IndexMismatchError",
    "IndexStatus",
    "IngestError",
    "IngestReport",
    "LLMAnswerer",
    "LLMBackend",
    "LLMError",
    "Message",
    "OnnxEmbedder",
    "PreparedQuestion",
    "RagError",
    "RepairReport",
    "SentenceTransformerEmbedder",
    "Settings",
    "StoreError",
]
