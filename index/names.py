"""File names as document ids, as stored text, and as text printed for people (pure functions).

A POSIX file name is any bytes. Python turns the bytes that are not UTF-8 into lone
surrogates ("surrogateescape"), which Chroma refuses to store and a UTF-8 terminal
refuses to print; control characters in a name (a newline, ``ESC[31m``) would be
obeyed by a terminal. So:

- ``document_id`` is the path itself when it is valid Unicode (every id so far), and a
  ``file://`` URI with the raw bytes percent-encoded otherwise. An id is an absolute
  path, so the two forms never meet; ``document_path`` turns either back into the path.
- ``storable`` writes undecodable bytes as ``\\xHH`` for names kept as text (``display``).
- ``printable`` escapes control characters, line separators, bidi overrides and
  undecodable bytes: every name printed by the CLI goes through it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote_from_bytes, unquote_to_bytes

_URI = "file://"
_SURROGATE = re.compile("[\udc80-\udcff]")
# C0 and C1 controls, DEL, line/paragraph separators, bidi embeddings/overrides/isolates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\udc80-\udcff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def document_id(path: Path) -> str:
    """The id of the document at ``path`` (absolute): its text, or a ``file://`` URI of its bytes.

    >>> document_id(Path("/docs/a b.md"))
    '/docs/a b.md'
    >>> document_id(Path(os.fsdecode(b"/docs/bad\\xffname.md")))
    'file:///docs/bad%FFname.md'
    """
    text = str(path)
    if _is_unicode(text):
        return text
    return _URI + quote_from_bytes(os.fsencode(path), safe="/")


def document_path(doc_id: str) -> Path:
    """The path a document id names (the inverse of ``document_id``)."""
    if doc_id.startswith(_URI):
        return Path(os.fsdecode(unquote_to_bytes(doc_id[len(_URI) :])))
    return Path(doc_id)


def storable(name: str) -> str:
    """``name`` with undecodable bytes written as ``\\xHH``: text Chroma and JSON accept.

    >>> storable(os.fsdecode(b"bad\\xffname.md"))
    'bad\\\\xffname.md'
    """
    return _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", name)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the undecodable byte itself
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(name: str) -> str:
    """``name`` safe to print: control characters and undecodable bytes shown as escapes.

    >>> printable("notes\\n\\x1b[31mred.md")
    'notes\\\\n\\\\x1b[31mred.md'
    """
    return _UNPRINTABLE.sub(_escape, name)


def printable_id(doc_id: str) -> str:
    """A document id printed as its path, escaped."""
    return printable(str(document_path(doc_id)))
