"""The project's exception tree, as users of ``rag`` see it.

    RagError
    ├── ConfigError          a setting is wrong (names it and the fix)
    ├── IndexMismatchError   index built with another model or chunking
    ├── IngestError          one file could not be read
    ├── StoreError           Chroma unreachable or failing
    │   ├── IndexBusyError   another process is writing to the index
    │   └── IndexDamagedError  the index folder is damaged (`rag repair`)
    └── LLMError             the language model failed

The others are defined in ``index.errors`` (the lower layer raises them).
"""

from __future__ import annotations

from index.errors import (
    ConfigError,
    IndexBusyError,
    IndexDamagedError,
    IndexMismatchError,
    IngestError,
    RagError,
    StoreError,
)


class LLMError(RagError):
    """The language model could not answer; the message names the setting to fix."""


__all__ = [
    "ConfigError",
    "IndexBusyError",
    "IndexDamagedError",
    "IndexMismatchError",
    "IngestError",
    "LLMError",
    "RagError",
    "StoreError",
]
