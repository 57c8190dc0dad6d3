"""Documents -> chunks -> embeddings -> Chroma. Knows nothing of questions or LLMs."""

from __future__ import annotations

from index.errors import ConfigError, IndexMismatchError, IngestError, RagError, StoreError
from index.ingest import IngestOptions, consistency_problems, ingest, remove_documents
from index.models import Chunk, DocumentRecord, FileFailure, Hit, IngestReport
from index.store import ChromaStore, IndexFingerprint

__all__ = [
    "ChromaStore",
    "Chunk",
    "ConfigError",
    "DocumentRecord",
    "FileFailure",
    "Hit",
    "IndexFingerprint",
    "IndexMismatchError",
    "IngestError",
    "IngestOptions",
    "IngestReport",
    "RagError",
    "StoreError",
    "consistency_problems",
    "ingest",
    "remove_documents",
]
