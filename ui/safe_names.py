"""Pure rules for the names the app writes under the uploads folder.

An uploaded file's name and every archive member's path come from whoever uploads, so
before anything is written they are cut down to plain names: no separators, no control
or direction-changing characters, no leading dots (so never ``.`` or ``..``), never empty.
``contained`` is the last word: a path counts as inside the uploads folder only when its
resolved form (links followed, ``..`` removed) is.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

MAX_NAME_BYTES = 200  # ext4 allows 255; room for " (99)" and a temporary prefix
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")
ZIP_TOOL_LEFTOVERS = ("__MACOSX", ".DS_Store")


def clean_component(name: str) -> str:
    """``name`` as one harmless path component, or "" when nothing usable is left.

    >>> clean_component("../a\\x00b/c")
    '_a_b_c'
    """
    chars = ["_" if c in "/\\" or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in name]
    text = "".join(chars).strip().lstrip(". ").strip()
    text = re.sub(r"\.{2,}", ".", text)  # "a..b" is harmless, but no run of dots survives anywhere
    while len(text.encode("utf-8")) > MAX_NAME_BYTES:
        text = text[:-1]
    return text.rstrip(" ")


def clean_filename(name: str, fallback: str = "file") -> str:
    """A file name from ``name``: a cleaned stem (``fallback`` when empty) and its plain suffix.

    >>> clean_filename("...md"), clean_filename("notes.MD"), clean_filename("\\x1b[31mred.txt")
    ('file.md', 'notes.MD', '_[31mred.txt')
    """
    dot = name.rfind(".")
    suffix = name[dot:] if dot >= 0 and _SUFFIX.fullmatch(name[dot:]) else ""
    stem = clean_component(name[:dot] if suffix else name)
    return (stem or fallback) + suffix


def folder_for_archive(archive_name: str) -> str:
    """The folder a zip unpacks into: its name without ``.zip``, cleaned (``archive`` when nothing is left).

    >>> folder_for_archive("...zip"), folder_for_archive("..zip"), folder_for_archive("My docs.zip")
    ('archive', 'archive', 'My docs')
    """
    stem = archive_name[:-4] if archive_name.lower().endswith(".zip") else archive_name
    return clean_component(stem) or "archive"


def member_parts(name: str) -> tuple[str, ...] | str:
    """The cleaned path parts of an archive member, or why it is refused.

    A member that names an absolute path or climbs with ``..`` is refused, not rewritten:
    a real folder zipped up never holds one.

    >>> member_parts("docs/./a.md"), member_parts("../x.md"), member_parts("/etc/x.md")[:8]
    (('docs', 'a.md'), "its path climbs out of the archive ('..')", 'its path')
    """
    raw = name.replace("\\", "/")
    if raw.startswith("/") or _WINDOWS_DRIVE.match(raw):
        return "its path is absolute; members must be relative to the archive"
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        return "its path climbs out of the archive ('..')"
    if not parts:
        return "it has no name"
    folders = tuple(clean_component(p) or "folder" for p in parts[:-1])
    return (*folders, clean_filename(parts[-1]))


def is_zip_tool_leftover(name: str) -> bool:
    """macOS resource forks and Finder files that zip tools add: not documents, skipped silently."""
    parts = name.replace("\\", "/").split("/")
    return any(p in ZIP_TOOL_LEFTOVERS for p in parts) or parts[-1].startswith("._")


def printable(name: str) -> str:
    """``name`` for a report: control and direction-changing characters shown as U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in name)


def numbered(name: str, n: int, is_file: bool) -> str:
    """The ``n``-th alternative to a taken name: ``tapir (2).md`` for a file, ``tapir.md (2)`` for a folder.

    >>> numbered("tapir.md", 2, True), numbered("tapir.md", 2, False), numbered("README", 3, True)
    ('tapir (2).md', 'tapir.md (2)', 'README (3)')
    """
    if n < 2:
        return name
    dot = name.rfind(".")
    if is_file and dot > 0:
        return f"{name[:dot]} ({n}){name[dot:]}"
    return f"{name} ({n})"


def contained(root: Path, path: Path) -> Path | None:
    """``path`` resolved (links followed, ``..`` removed), when that lies strictly inside ``root`` resolved."""
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    return real if real != real_root and real.is_relative_to(real_root) else None
