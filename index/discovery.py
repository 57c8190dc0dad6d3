"""Find the files to ingest under the paths a user gives (pure apart from listing)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import ConfigError
from index.loaders import is_supported
from index.names import document_id, storable


@dataclass(frozen=True)
class FoundFile:
    """A file to ingest: its absolute path and the name people read (valid Unicode, see ``index.names``)."""

    path: Path
    display: str
    root: Path

    @property
    def source(self) -> str:
        """The document id: the path, or a ``file://`` URI when its name is not valid UTF-8."""
        return document_id(self.path)


@dataclass(frozen=True)
class Discovery:
    files: tuple[FoundFile, ...]
    unsupported: tuple[str, ...]  # document ids (``index.names``)
    roots: tuple[Path, ...]  # the folders walked: --sync looks for vanished files under these


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def _selected(rel: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    if include and not _matches(rel, include):
        return False
    return not (exclude and _matches(rel, exclude))


def discover(
    paths: Sequence[str | os.PathLike[str]],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Discovery:
    """Walk files and folders recursively, skipping hidden entries.

    ``include``/``exclude`` are globs matched against the path relative to the given
    folder and against the bare file name ("*.pdf", "drafts/*"). Files of an
    unsupported type are returned in ``unsupported`` to be listed, never guessed at.
    """
    files: dict[Path, FoundFile] = {}
    unsupported: list[str] = []
    roots: list[Path] = []
    for raw in paths:
        given = Path(raw).expanduser()
        if not given.exists() and not given.is_symlink():
            raise ConfigError(f"path not found: {raw} (check the spelling, or use an absolute path)")
        target = given.absolute()
        if given.is_dir():
            roots.append(target)
            for dirpath, dirnames, filenames in os.walk(target):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    full = Path(dirpath) / name
                    rel = full.relative_to(target).as_posix()
                    if not _selected(rel, include, exclude):
                        continue
                    if not is_supported(full):
                        unsupported.append(document_id(full))
                        continue
                    files.setdefault(full, FoundFile(full, storable(rel), target))
        else:
            if not _selected(target.name, include, exclude):
                continue
            if not is_supported(target):
                unsupported.append(document_id(target))
                continue
            files.setdefault(target, FoundFile(target, storable(target.name), target.parent))
    return Discovery(tuple(files.values()), tuple(unsupported), tuple(roots))
