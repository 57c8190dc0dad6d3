"""The exception tree shared by every layer.

    RagError                      anything this project raises on purpose
    ├── ConfigError               a setting is wrong (names the setting and the fix)
    ├── IndexMismatchError        the index was built with another model or chunking
    ├── IngestError               one file could not be read (path + reason)
    ├── StoreError                Chroma is unreachable or refused an operation
    │   ├── IndexBusyError        another process is writing to the index (names it)
    │   └── IndexDamagedError     the index folder is damaged (names the repair)
    └── LLMError                  (in rag.errors) the language model failed

It lives in ``index`` because ``index`` imports nothing above it; ``rag.errors``
re-exports it and adds the errors of the upper layers.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: every error this project raises on purpose."""


class ConfigError(RagError):
    """A setting has a bad value; the message names the setting and how to fix it."""


class IndexMismatchError(RagError):
    """The index on disk was built with a different embedding model or chunking."""


class StoreError(RagError):
    """The vector store cannot be reached or refused an operation."""


class IndexBusyError(StoreError):
    """Another process holds the index's writer lock; the message names it and what to do."""


class IndexDamagedError(StoreError):
    """Files of the index folder are damaged; the message names the folder and the repair command."""


class IngestError(RagError):
    """One file could not be turned into text.

    ``path`` is the file and ``reason`` a short human sentence saying why and,
    where there is one, what to do about it.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
