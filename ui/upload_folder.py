"""The uploads folder: where the app may write, and the record of what it wrote there.

Every write goes through ``UploadFolder``: the destination is chosen from cleaned names
(``ui.safe_names``), checked on its resolved path, written to a temporary file and only
then moved into place, so a failed write leaves nothing behind. Each file the app saves is
listed in a small manifest (``.rag-uploads.json`` in the folder); the app replaces or
deletes only files listed there, never a file it did not write itself.

>>> folder = UploadFolder(Path("my-index-uploads"))               # doctest: +SKIP
>>> with folder.lock:                                              # doctest: +SKIP
...     dest = folder.claim(("notes", "a.md"), taken=set())
...     folder.save(dest, io.BytesIO(b"# A"), limit=1_000_000)
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from ui.safe_names import contained, numbered

MANIFEST = ".rag-uploads.json"
MAX_ALTERNATIVES = 999
BLOCK = 1 << 16


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class TooBig(Exception):
    """A stream went past its byte limit; nothing of it was kept."""


class UploadFolder:
    """One uploads folder and its manifest; ``lock`` serialises writers in this process."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))  # created on the first save
        self.lock = threading.RLock()

    # -- the manifest ---------------------------------------------------------------

    def _manifest(self) -> set[str]:
        path = self.root / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()  # none yet, or unreadable: then the app owns nothing and deletes nothing
        files = data.get("files", []) if isinstance(data, dict) else []
        return {f for f in files if isinstance(f, str)}

    def _write_manifest(self, files: set[str]) -> None:
        tmp = self.root / f"{MANIFEST}.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps({"files": sorted(files)}, indent=0), encoding="utf-8")
        os.replace(tmp, self.root / MANIFEST)

    def _relative(self, path: Path) -> str | None:
        real = contained(self.root, path)
        return real.relative_to(self.root).as_posix() if real is not None else None

    def owns(self, path: Path) -> bool:
        """Whether ``path`` is a regular file the app saved here (judged on its resolved path)."""
        rel = self._relative(path)
        if rel is None or rel == MANIFEST:
            return False
        real = self.root / rel
        return real.is_file() and not real.is_symlink() and rel in self._manifest()

    def remove(self, path: Path) -> bool:
        """Delete ``path`` when the app saved it (and then its emptied folders); False otherwise."""
        with self.lock:
            if not self.owns(path):
                return False
            rel = self._relative(path)
            assert rel is not None
            real = self.root / rel
            real.unlink()
            self._write_manifest(self._manifest() - {rel})
            self.prune(real)
            return True

    def prune(self, path: Path | None) -> None:
        """Remove the folders above ``path`` that are left empty, up to the uploads folder."""
        parent = path.parent if path is not None else self.root
        while parent != self.root and parent.is_relative_to(self.root) and parent.is_dir():
            if any(parent.iterdir()):
                return
            parent.rmdir()
            parent = parent.parent

    # -- choosing a destination ---------------------------------------------------

    def claim(self, parts: Sequence[str], taken: set[Path]) -> Path:
        """Where to save a file whose cleaned relative path is ``parts``.

        A folder is reused when it is a real folder inside; a file is replaced only when
        the app saved it before and not earlier in this batch (``taken``). Otherwise the
        name gets a number: ``tapir (2).md``, ``tapir.md (2)/``.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        current = self.root
        for part in parts[:-1]:
            current = self._folder(current, part)
        dest = self._pick(current, parts[-1], True, lambda p: p not in taken and self._free_file(p))
        taken.add(dest)
        return dest

    def _folder(self, parent: Path, name: str) -> Path:
        def usable(p: Path) -> bool:
            if not os.path.lexists(p):
                return True
            return p.is_dir() and not p.is_symlink() and contained(self.root, p) == p

        folder = self._pick(parent, name, False, usable)
        folder.mkdir(exist_ok=True)
        return folder

    def _free_file(self, path: Path) -> bool:
        if not os.path.lexists(path):
            return contained(self.root, path) is not None
        return self.owns(path)

    def _pick(self, parent: Path, name: str, is_file: bool, usable: Callable[[Path], bool]) -> Path:
        for n in range(1, MAX_ALTERNATIVES + 1):
            candidate = parent / numbered(name, n, is_file)
            if usable(candidate):
                return candidate
        raise OSError(f"{MAX_ALTERNATIVES} files named like {name} already exist in {parent}; rename it")

    # -- writing ------------------------------------------------------------------

    def save(self, dest: Path, source: Readable, limit: int) -> int:
        """Copy ``source`` to ``dest`` (from ``claim``), at most ``limit`` bytes; returns the size.

        Bytes are counted as they are read, so an archive member that expands past
        ``limit`` stops there (``TooBig``). On any error the partial copy is removed.
        """
        real = contained(self.root, dest)
        if real is None or real != dest or real.relative_to(self.root).as_posix() == MANIFEST:
            raise OSError(f"{dest} is not a place inside the uploads folder {self.root}")
        tmp = dest.parent / f".part-{uuid.uuid4().hex}"
        written = 0
        try:
            with tmp.open("xb") as out:
                while block := source.read(min(BLOCK, limit - written + 1)):
                    written += len(block)
                    if written > limit:
                        raise TooBig(f"more than {limit} bytes")
                    out.write(block)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        rel = dest.relative_to(self.root).as_posix()
        self._write_manifest(self._manifest() | {rel})
        return written

