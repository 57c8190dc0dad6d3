"""Ask questions of your documents and get answers with exact citations.

>>> from rag import Assistant
>>> a = Assistant.open("my-index")   # doctest: +SKIP
"""

from __future__ import annotations

from index.models import Chunk, DocumentRecord, FileFailure, Hit, IngestReport
from rag.assistant import Assistant, IndexStatus
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
from rag.extractive import ExtractiveAnswerer, ExtractiveConfig
from rag.models import Answer, Citation

__all__ = [
    "Answer",
    "Assistant",
    "Chunk",
    "Citation",
    "ConfigError",
    "DocumentRecord",
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
    "LLMError",
    "RagError",
    "Settings",
    "StoreError",
]
